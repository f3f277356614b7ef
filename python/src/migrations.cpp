// Schema migrations and backup/restore. Steps, records and manifests cross the C ABI as JSON text
// and are handed to the pure-Python package as text (evcs/migrations.py and evcs/backup.py
// convert them); this file moves the text, releases the GIL, and carries batch progress (and any
// exception raised while reporting it) back from the C callback.
#include "native.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <utility>

namespace evcs::python {

namespace {

class NativeMigrationRunner {
public:
  // The steps of `directory`; None: the evcs catalog's.
  NativeMigrationRunner(py::object engine, const std::optional<py::str> &directory,
                        const std::optional<py::str> &author)
      // A session of the engine keeps what the engine's log callback points at alive, as long
      // as this runner may run statements (the C runner itself keeps the C engine alive).
      : engine_anchor_(engine.attr("session")("main", py::none())) {
    std::optional<std::string> path = optional_utf8(directory, "the migrations directory");
    std::optional<std::string> by = optional_utf8(author, "the author name");
    evcs_engine *owner = engine_handle(engine);
    evcs_migration_runner *opened = nullptr;
    int status;
    {
      py::gil_scoped_release released;
      status = path ? evcs_migration_runner_open(&opened, owner, path->c_str(), c_str(by))
                    : evcs_migration_runner_open_catalog(&opened, owner, c_str(by));
    }
    abi::check(status);
    handle_.reset(opened);
    abi::check(evcs_migration_runner_set_batch_callback(handle_.get(), &report_batch, this));
  }
  ~NativeMigrationRunner() { release_without_gil(handle_); }
  NativeMigrationRunner(const NativeMigrationRunner &) = delete;
  NativeMigrationRunner &operator=(const NativeMigrationRunner &) = delete;

  std::string directory() const {
    const char *directory = nullptr;
    abi::check(evcs_migration_runner_directory(&directory, open_handle()));
    return directory;
  }

  // `on_batch(file, batch, rows, total_rows)`, or None.
  void set_on_batch(py::object callback) { on_batch_ = std::move(callback); }

  py::str steps() { return listing(evcs_migration_runner_steps); }
  py::str history() { return listing(evcs_migration_runner_history); }
  py::str pending() { return listing(evcs_migration_runner_pending); }

  py::str upgrade(const py::str &target) {
    return reporting(evcs_migration_runner_upgrade, utf8(target, "the target"));
  }
  py::str downgrade(const py::str &target) {
    return reporting(evcs_migration_runner_downgrade, utf8(target, "the target"));
  }
  py::str upgrade_sql(const py::str &target) {
    return with_target(evcs_migration_runner_upgrade_sql, utf8(target, "the target"));
  }
  py::str downgrade_sql(const py::str &target) {
    return with_target(evcs_migration_runner_downgrade_sql, utf8(target, "the target"));
  }

  std::optional<std::int64_t> current() {
    std::int64_t version = 0;
    evcs_migration_runner *runner = open_handle();
    call_without_gil([&] { return evcs_migration_runner_current(&version, runner); });
    if (version == 0) return std::nullopt;
    return version;
  }

  void verify() {
    evcs_migration_runner *runner = open_handle();
    call_without_gil([&] { return evcs_migration_runner_verify(runner); });
  }

  void stamp(const py::str &target) {
    std::string to = utf8(target, "the target");
    evcs_migration_runner *runner = open_handle();
    call_without_gil([&] { return evcs_migration_runner_stamp(runner, to.c_str()); });
  }

  void close() {
    release_without_gil(handle_);
    engine_anchor_ = py::none();
  }
  bool closed() const noexcept { return !handle_; }

private:
  using Runner = std::unique_ptr<evcs_migration_runner,
                                 abi::Freer<&evcs_migration_runner_free>>;

  // The C batch callback: runs on the thread that called upgrade/downgrade, which released the
  // GIL. Ctrl-C (a pending signal) and an exception from the Python callback stop the run.
  static int report_batch(void *payload, const char *file, int64_t batch, int64_t rows,
                          int64_t total_rows) {
    auto *self = static_cast<NativeMigrationRunner *>(payload);
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!self->on_batch_.is_none()) self->on_batch_(py::str(file), batch, rows, total_rows);
      return EVCS_OK;
    } catch (py::error_already_set &raised) {
      std::string message = raised.what();
      self->raised_ = std::move(raised);
      return evcs_error_set(EVCS_ERROR, nullptr, message.c_str());
    } catch (const std::exception &error) {
      return evcs_error_set(EVCS_ERROR, nullptr, error.what());
    }
  }

  py::str listing(int (*c_call)(char **, evcs_migration_runner *)) {
    evcs_migration_runner *runner = open_handle();
    return text_without_gil([&](char **out) { return c_call(out, runner); });
  }

  py::str with_target(int (*c_call)(char **, evcs_migration_runner *, const char *),
                      const std::string &target) {
    evcs_migration_runner *runner = open_handle();
    return text_without_gil([&](char **out) { return c_call(out, runner, target.c_str()); });
  }

  // upgrade/downgrade: the exception a batch callback raised wins over the status it caused.
  py::str reporting(int (*c_call)(char **, evcs_migration_runner *, const char *),
                    const std::string &target) {
    raised_.reset();
    try {
      return with_target(c_call, target);
    } catch (const abi::Error &) {
      if (!raised_) throw;
      py::error_already_set raised = std::move(*raised_);
      raised_.reset();
      throw raised;
    }
  }

  evcs_migration_runner *open_handle() const {
    if (!handle_) throw abi::Error(EVCS_EMISUSE, "this migration runner is closed");
    return handle_.get();
  }

  py::object engine_anchor_;
  Runner handle_;
  py::object on_batch_ = py::none();
  std::optional<py::error_already_set> raised_;
};

py::str new_step(const py::str &directory, const py::str &message) {
  std::string path = utf8(directory, "the migrations directory");
  std::string text = utf8(message, "the message");
  return text_without_gil(
      [&](char **out) { return evcs_migration_new_step(out, path.c_str(), text.c_str()); });
}

// backup, restore and verify_restore: two text arguments in, the manifest JSON out.
using ManifestCall = int (*)(char **, const char *, const char *);

py::str manifest(ManifestCall c_call, const py::str &first, const char *first_what,
                 const py::str &second, const char *second_what) {
  std::string one = utf8(first, first_what);
  std::string two = utf8(second, second_what);
  return text_without_gil([&](char **out) { return c_call(out, one.c_str(), two.c_str()); });
}

} // namespace

void register_migrations(py::module_ &module) {
  py::class_<NativeMigrationRunner>(module, "MigrationRunner")
      .def(py::init<py::object, const std::optional<py::str> &, const std::optional<py::str> &>(),
           py::arg("engine"), py::arg("directory"), py::arg("author"))
      .def_property_readonly("directory", &NativeMigrationRunner::directory)
      .def_property_readonly("closed", &NativeMigrationRunner::closed)
      .def("set_on_batch", &NativeMigrationRunner::set_on_batch, py::arg("callback"))
      .def("steps", &NativeMigrationRunner::steps)
      .def("upgrade", &NativeMigrationRunner::upgrade, py::arg("target"))
      .def("downgrade", &NativeMigrationRunner::downgrade, py::arg("target"))
      .def("upgrade_sql", &NativeMigrationRunner::upgrade_sql, py::arg("target"))
      .def("downgrade_sql", &NativeMigrationRunner::downgrade_sql, py::arg("target"))
      .def("current", &NativeMigrationRunner::current)
      .def("history", &NativeMigrationRunner::history)
      .def("pending", &NativeMigrationRunner::pending)
      .def("verify", &NativeMigrationRunner::verify)
      .def("stamp", &NativeMigrationRunner::stamp, py::arg("target"))
      .def("close", &NativeMigrationRunner::close);
  module.def("new_migration_step", &new_step, py::arg("directory"), py::arg("message"));
  module.def(
      "backup",
      [](const py::str &url, const py::str &archive) {
        return manifest(evcs_database_backup, url, "the database URL", archive,
                        "the archive path");
      },
      py::arg("url"), py::arg("archive"));
  module.def(
      "restore",
      [](const py::str &archive, const py::str &target_url) {
        return manifest(evcs_database_restore, archive, "the archive path", target_url,
                        "the target URL");
      },
      py::arg("archive"), py::arg("target_url"));
  module.def(
      "verify_restore",
      [](const py::str &archive, const py::str &target_url) {
        return manifest(evcs_database_verify_restore, archive, "the archive path", target_url,
                        "the target URL");
      },
      py::arg("archive"), py::arg("target_url"));
}

} // namespace evcs::python
