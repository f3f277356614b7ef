// Engine (connection pool) and the embedded server.
#include "native.hpp"

#include <pybind11/stl.h>

#include <utility>
#include <vector>

namespace evcs::python {

namespace {

using OptionList = std::vector<std::pair<std::string, std::string>>;

abi::Options make_options(const OptionList &settings) {
  abi::Options options = abi::make_options();
  for (const auto &[key, value] : settings)
    abi::check(evcs_options_set(options.get(), key.c_str(), value.c_str()));
  return options;
}

// The C log callback: may run on any engine thread, so it enters Python explicitly.
void forward_log_line(void *payload, const char *line) {
  if (!python_is_running()) return;
  py::gil_scoped_acquire gil;
  try {
    (*static_cast<py::object *>(payload))(py::str(line));
  } catch (py::error_already_set &failure) {
    failure.discard_as_unraisable("evcs engine log callback");
  } catch (...) {
  }
}

class NativeEngine {
public:
  explicit NativeEngine(const OptionList &settings) : core_(std::make_shared<EngineCore>()) {
    abi::Options options = make_options(settings);
    evcs_engine *opened = nullptr;
    int status;
    { // opening may start the embedded server and connect
      py::gil_scoped_release released;
      status = evcs_engine_open(&opened, options.get());
    }
    abi::check(status);
    core_->handle.reset(opened);
  }

  std::string url() const {
    const char *url = nullptr;
    abi::check(evcs_engine_url(&url, open_core().handle.get()));
    return url;
  }

  py::tuple pool_status() const {
    std::int64_t size = 0, checked_out = 0, overflow = 0;
    const evcs_engine *engine = open_core().handle.get();
    int status;
    { // the pool lock may be held by an I/O thread that waits for the GIL in a completion
      py::gil_scoped_release released;
      status = evcs_engine_pool_status(&size, &checked_out, &overflow, engine);
    }
    abi::check(status);
    return py::make_tuple(size, checked_out, overflow);
  }

  void dispose() {
    evcs_engine *engine = open_core().handle.get();
    int status;
    {
      py::gil_scoped_release released;
      status = evcs_engine_dispose(engine);
    }
    abi::check(status);
  }

  // Closes idle connections now; the C engine itself lives on while sessions opened from it do.
  void close() {
    if (!core_) return;
    dispose();
    core_.reset();
  }

  bool closed() const noexcept { return !core_; }

  void set_log_sink(py::object sink) {
    EngineCore &core = open_core();
    auto replacement = sink.is_none() ? nullptr : std::make_unique<py::object>(std::move(sink));
    int status;
    { // the engine holds its logger lock while a log line is being delivered (with the GIL)
      py::gil_scoped_release released;
      status = evcs_engine_set_log_callback(core.handle.get(),
                                            replacement ? &forward_log_line : nullptr,
                                            replacement.get());
    }
    abi::check(status);
    core.log_sink = std::move(replacement);
  }

  evcs_engine *handle() const { return open_core().handle.get(); }

  // An autocommit statement (evcs_engine_execute) with the GIL released.
  abi::Result execute(const py::str &sql, py::handle values) const {
    std::string statement = utf8(sql, "the SQL text");
    abi::Params params = to_params(values);
    evcs_engine *engine = handle();
    evcs_result *raw = nullptr;
    int status;
    {
      py::gil_scoped_release released;
      status = evcs_engine_execute(&raw, engine, statement.c_str(), params.get());
    }
    abi::check(status);
    return abi::Result(raw);
  }

  std::unique_ptr<NativeSession> open_session(const std::string &branch,
                                              const std::optional<std::string> &author) {
    EngineCore &core = open_core();
    evcs_session *opened = nullptr;
    int status;
    {
      py::gil_scoped_release released;
      status = evcs_session_open(&opened, core.handle.get(), branch.c_str(),
                                 author ? author->c_str() : nullptr);
    }
    abi::check(status);
    return std::make_unique<NativeSession>(core_, abi::Session(opened));
  }

private:
  EngineCore &open_core() const {
    if (!core_) throw abi::Error(EVCS_EMISUSE, "this engine is closed: create a new Engine");
    return *core_;
  }

  std::shared_ptr<EngineCore> core_;
};

class NativeEmbedded {
public:
  explicit NativeEmbedded(const OptionList &settings) {
    abi::Options options = make_options(settings);
    evcs_embedded *started = nullptr;
    int status;
    { // initdb and server start take a while
      py::gil_scoped_release released;
      status = evcs_embedded_start(&started, options.get());
    }
    abi::check(status);
    handle_.reset(started);
  }
  ~NativeEmbedded() { release_without_gil(handle_); }

  std::string url() const { return text(evcs_embedded_url); }
  std::string data_dir() const { return text(evcs_embedded_data_dir); }
  bool persist() const {
    int persist = 0;
    abi::check(evcs_embedded_persist(&persist, open_handle()));
    return persist != 0;
  }
  void close() { release_without_gil(handle_); }
  bool closed() const noexcept { return !handle_; }

private:
  template <typename Getter> std::string text(Getter getter) const {
    const char *value = nullptr;
    abi::check(getter(&value, open_handle()));
    return value;
  }
  const evcs_embedded *open_handle() const {
    if (!handle_) throw abi::Error(EVCS_EMISUSE, "this embedded server handle is closed");
    return handle_.get();
  }

  abi::Embedded handle_;
};

} // namespace

evcs_engine *engine_handle(py::handle native_engine) {
  return native_engine.cast<NativeEngine &>().handle();
}

EngineCore::~EngineCore() {
  release_without_gil(handle);
  log_sink.reset();
}

void register_engine(py::module_ &module) {
  module.def("version", &evcs_version, "The runtime version of the evcs library.");

  py::class_<NativeEngine>(module, "Engine")
      .def(py::init<const OptionList &>(), py::arg("options"))
      .def_property_readonly("url", &NativeEngine::url)
      .def_property_readonly("closed", &NativeEngine::closed)
      .def("pool_status", &NativeEngine::pool_status)
      .def("dispose", &NativeEngine::dispose)
      .def(
          "execute",
          [](const NativeEngine &engine, const py::str &sql, py::handle params) {
            return convert_result(engine.execute(sql, params).get());
          },
          py::arg("sql"), py::arg("params"))
      .def(
          "scalar",
          [](const NativeEngine &engine, const py::str &sql, py::handle params) {
            return convert_scalar(engine.execute(sql, params).get());
          },
          py::arg("sql"), py::arg("params"))
      .def("close", &NativeEngine::close)
      .def("set_log_sink", &NativeEngine::set_log_sink, py::arg("sink"))
      .def("session", &NativeEngine::open_session, py::arg("branch"), py::arg("author"));

  py::class_<NativeEmbedded>(module, "Embedded")
      .def(py::init<const OptionList &>(), py::arg("options"))
      .def_property_readonly("url", &NativeEmbedded::url)
      .def_property_readonly("data_dir", &NativeEmbedded::data_dir)
      .def_property_readonly("persist", &NativeEmbedded::persist)
      .def_property_readonly("closed", &NativeEmbedded::closed)
      .def("close", &NativeEmbedded::close);
}

} // namespace evcs::python
