// Migration autogenerate: the C call runs with the GIL released and its result is handed to the
// pure-Python package as JSON text (evcs/autogenerate.py gives it its shape).
#include "native.hpp"

namespace evcs::python {

namespace {

// evcs._native.<name>(engine, message, <schema>, directory) calling the C function `generate`.
void def_autogenerate(py::module_ &module, const char *name,
                      int (*generate)(char **, evcs_engine *, const char *, const char *,
                                      const char *),
                      const char *schema_argument, const char *schema_what) {
  module.def(
      name,
      [generate, schema_what](py::handle engine, const py::str &message, const py::str &schema,
                              const py::str &directory) {
        evcs_engine *owner = engine_handle(engine);
        std::string text = utf8(message, "the message");
        std::string declared = utf8(schema, schema_what);
        std::string target = utf8(directory, "the migrations directory");
        return text_without_gil([&](char **out) {
          return generate(out, owner, text.c_str(), declared.c_str(), target.c_str());
        });
      },
      py::arg("engine"), py::arg("message"), py::arg(schema_argument), py::arg("directory"));
}

} // namespace

void register_autogenerate(py::module_ &module) {
  def_autogenerate(module, "migration_autogenerate", &evcs_migration_autogenerate, "schema_path",
                   "the schema file path");
  def_autogenerate(module, "migration_autogenerate_text", &evcs_migration_autogenerate_text,
                   "schema_json", "the schema document");
}

} // namespace evcs::python
