// Column and relation changes of an entity type through the C ABI; the core does the work.
#include "capi_internal.hpp"

using namespace evcs::capi;

namespace {

// A unique key's columns from a JSON array of names, read by the parser of constraints.
std::vector<std::string> key_columns(const char *columns_json) {
  nlohmann::json columns = json_argument(columns_json, "the key's columns JSON");
  if (!columns.is_array())
    throw evcs::InvalidArgument("the key's columns must be a JSON array of column names, not " +
                                columns.dump(), "EVI01");
  return evcs::EntityConstraints::from_json({{"unique", nlohmann::json::array({columns})}})
      .unique.front();
}

} // namespace

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

int evcs_session_add_reference(evcs_session *session, const char *entity_type, const char *column,
                               const char *references, const char *on_delete) {
  return guarded([&] {
    deref(session, "session")
        .session.add_reference(text_argument(entity_type, "the entity type name"),
                               text_argument(column, "the column name"),
                               text_argument(references, "the entity type referred to"),
                               optional_text(on_delete, "on_delete", "restrict"));
  });
}

int evcs_session_drop_reference(evcs_session *session, const char *entity_type,
                                const char *column) {
  return guarded([&] {
    deref(session, "session")
        .session.drop_reference(text_argument(entity_type, "the entity type name"),
                                text_argument(column, "the column name"));
  });
}

int evcs_session_alter_reference(evcs_session *session, const char *entity_type,
                                 const char *column, const char *on_delete) {
  return guarded([&] {
    deref(session, "session")
        .session.alter_reference(text_argument(entity_type, "the entity type name"),
                                 text_argument(column, "the column name"),
                                 text_argument(on_delete, "on_delete"));
  });
}

int evcs_session_add_unique_key(evcs_session *session, const char *entity_type,
                                const char *columns_json) {
  return guarded([&] {
    deref(session, "session")
        .session.add_unique_key(text_argument(entity_type, "the entity type name"),
                                key_columns(columns_json));
  });
}

int evcs_session_drop_unique_key(evcs_session *session, const char *entity_type,
                                 const char *columns_json) {
  return guarded([&] {
    deref(session, "session")
        .session.drop_unique_key(text_argument(entity_type, "the entity type name"),
                                 key_columns(columns_json));
  });
}

int evcs_session_add_check(evcs_session *session, const char *entity_type, const char *name,
                           const char *expression) {
  return guarded([&] {
    deref(session, "session")
        .session.add_check(text_argument(entity_type, "the entity type name"),
                           text_argument(name, "the check name"),
                           text_argument(expression, "the check expression"));
  });
}

int evcs_session_drop_check(evcs_session *session, const char *entity_type, const char *name) {
  return guarded([&] {
    deref(session, "session")
        .session.drop_check(text_argument(entity_type, "the entity type name"),
                            text_argument(name, "the check name"));
  });
}

} // extern "C"
