// The relation changes of an existing entity type (add_reference, add_unique_key, add_check, ...)
// on Session: each is one C call with text arguments, run with the GIL released.
#include "native.hpp"

#include <tuple>

namespace evcs::python {

namespace {

template <typename> using PythonText = const py::str &;
template <typename> using OwnedText = std::string;

// Session.<name>(*texts) calling `function(session, texts...)`; `names` are the arguments'
// names, which the errors of invalid text name too.
template <typename... Texts, typename... Names>
void def_text_call(py::class_<NativeSession> &session, const char *name,
                   int (*function)(evcs_session *, Texts...), Names... names) {
  static_assert(sizeof...(Texts) == sizeof...(Names), "one name per argument");
  session.def(
      name,
      [function, names...](NativeSession &s, PythonText<Texts>... texts) {
        std::tuple<OwnedText<Texts>...> owned{utf8(texts, names)...};
        call_without_gil([&] {
          return std::apply(
              [&](const auto &...text) { return function(s.get(), text.c_str()...); }, owned);
        });
      },
      py::arg(names)...);
}

} // namespace

void register_entity_ddl(py::module_ &module) {
  auto session = py::reinterpret_borrow<py::class_<NativeSession>>(module.attr("Session"));
  def_text_call(session, "add_reference", &evcs_session_add_reference, "entity_type", "column",
                "references", "on_delete");
  def_text_call(session, "drop_reference", &evcs_session_drop_reference, "entity_type", "column");
  def_text_call(session, "alter_reference", &evcs_session_alter_reference, "entity_type",
                "column", "on_delete");
  def_text_call(session, "add_unique_key", &evcs_session_add_unique_key, "entity_type",
                "columns_json");
  def_text_call(session, "drop_unique_key", &evcs_session_drop_unique_key, "entity_type",
                "columns_json");
  def_text_call(session, "add_check", &evcs_session_add_check, "entity_type", "name",
                "expression");
  def_text_call(session, "drop_check", &evcs_session_drop_check, "entity_type", "name");
}

} // namespace evcs::python
