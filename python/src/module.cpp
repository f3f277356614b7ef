// evcs._native: the pybind11 module behind the pure-Python package `evcs`. It consumes only the
// C ABI (evcs.h, through evcs/capi.hpp).
#include "native.hpp"

PYBIND11_MODULE(_native, module) {
  module.doc() = "Low-level bindings of the evcs C ABI; use the `evcs` package instead.";
  evcs::python::register_errors(module);
  evcs::python::register_engine(module);
  evcs::python::register_session(module);
  evcs::python::register_versioning(module);
  evcs::python::register_entity_ddl(module);
  evcs::python::register_async(module);
  evcs::python::register_migrations(module);
  evcs::python::register_autogenerate(module);
}
