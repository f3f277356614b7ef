#include "native.hpp"

#include <atomic>

namespace evcs::python {

namespace {

// Set once by evcs/errors.py; a raw pointer on purpose: it is never destroyed, so no Python
// object is released after the interpreter has shut down.
py::object *error_factory = nullptr;

// Set by an atexit handler, which the interpreter runs first thing when it shuts down: from
// then on, threads of the engine (log lines) must not enter Python. The public API has no
// "finalizing" test before Python 3.13, and the private one is gone in 3.13.
std::atomic<bool> interpreter_exiting{false};

} // namespace

bool python_is_running() noexcept { return Py_IsInitialized() && !interpreter_exiting.load(); }

py::object make_exception(const abi::Error &error) {
  if (error_factory == nullptr)
    throw std::logic_error("evcs._native is used without the evcs package: import evcs");
  py::object sqlstate = error.sqlstate().empty() ? py::object(py::none())
                                                 : py::object(py::str(error.sqlstate()));
  return (*error_factory)(error.code(), error.code_name(), py::str(error.what()), sqlstate,
                          py::str(error.detail_json()), error.retryable());
}

void register_errors(py::module_ &module) {
  py::module_::import("atexit").attr("register")(
      py::cpp_function([] { interpreter_exiting.store(true); }));
  module.def(
      "set_error_factory",
      [](py::object factory) {
        if (error_factory == nullptr) error_factory = new py::object();
        *error_factory = std::move(factory);
      },
      py::arg("factory"),
      "Registers factory(status, code, message, sqlstate, detail_json, retryable) -> exception.");

  const std::pair<const char *, int> statuses[] = {
      {"ERROR", EVCS_ERROR},
      {"ENOTFOUND", EVCS_ENOTFOUND},
      {"ECONFLICT", EVCS_ECONFLICT},
      {"EMERGECONFLICT", EVCS_EMERGECONFLICT},
      {"ECONCURRENT", EVCS_ECONCURRENT},
      {"ELOCKED", EVCS_ELOCKED},
      {"EINTEGRITY", EVCS_EINTEGRITY},
      {"EINVALID", EVCS_EINVALID},
      {"ETIMEOUT", EVCS_ETIMEOUT},
      {"ECONNLOST", EVCS_ECONNLOST},
      {"ESERIALIZATION", EVCS_ESERIALIZATION},
      {"EMIGRATION", EVCS_EMIGRATION},
      {"EMISUSE", EVCS_EMISUSE},
  };
  for (const auto &[name, status] : statuses) module.attr(name) = status;

  py::register_exception_translator([](std::exception_ptr thrown) {
    if (!thrown) return;
    try {
      std::rethrow_exception(thrown);
    } catch (const abi::Error &error) {
      try {
        py::object exception = make_exception(error);
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception.ptr())), exception.ptr());
      } catch (py::error_already_set &factory_failure) {
        factory_failure.restore();
      }
    }
  });
}

} // namespace evcs::python
