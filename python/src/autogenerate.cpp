// Migration autogenerate: the C call runs with the GIL released and its result is handed to the
// pure-Python package as JSON text (evcs/autogenerate.py gives it its shape).
#include "native.hpp"

namespace evcs::python {

void register_autogenerate(py::module_ &module) {
  module.def(
      "migration_autogenerate",
      [](py::handle engine, const py::str &message, const py::str &schema_path,
         const py::str &directory) {
        evcs_engine *owner = engine_handle(engine);
        std::string text = utf8(message, "the message");
        std::string schema = utf8(schema_path, "the schema file path");
        std::string target = utf8(directory, "the migrations directory");
        return text_without_gil([&](char **out) {
          return evcs_migration_autogenerate(out, owner, text.c_str(), schema.c_str(),
                                             target.c_str());
        });
      },
      py::arg("engine"), py::arg("message"), py::arg("schema_path"), py::arg("directory"));
  module.def(
      "migration_autogenerate_text",
      [](py::handle engine, const py::str &message, const py::str &schema_json,
         const py::str &directory) {
        evcs_engine *owner = engine_handle(engine);
        std::string text = utf8(message, "the message");
        std::string schema = utf8(schema_json, "the schema document");
        std::string target = utf8(directory, "the migrations directory");
        return text_without_gil([&](char **out) {
          return evcs_migration_autogenerate_text(out, owner, text.c_str(), schema.c_str(),
                                                  target.c_str());
        });
      },
      py::arg("engine"), py::arg("message"), py::arg("schema_json"), py::arg("directory"));
}

} // namespace evcs::python
