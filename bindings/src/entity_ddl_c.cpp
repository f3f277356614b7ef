// Column changes of an entity type through the C ABI (SPEC §6); the core does the work.
#include "capi_internal.hpp"

using namespace evcs::capi;

extern "C" {

int evcs_session_add_column(evcs_session *session, const char *entity_type, const char *column,
                            const char *type, const char *default_value) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    std::optional<std::string> default_text;
    if (default_value != nullptr) default_text = text_argument(default_value, "the default value");
    target.session.add_column(text_argument(entity_type, "the entity type name"),
                              {text_argument(column, "the column name"),
                               text_argument(type, "the column type")},
                              default_text);
  });
}

int evcs_session_drop_column(evcs_session *session, const char *entity_type, const char *column) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    target.session.drop_column(text_argument(entity_type, "the entity type name"),
                               text_argument(column, "the column name"));
  });
}

int evcs_session_rename_column(evcs_session *session, const char *entity_type, const char *column,
                               const char *new_name) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    target.session.rename_column(text_argument(entity_type, "the entity type name"),
                                 text_argument(column, "the column name"),
                                 text_argument(new_name, "the new column name"));
  });
}

} // extern "C"
