// Private glue of the pybind11 module evcs._native: it translates between Python objects and
// the C ABI (through the RAII layer evcs/capi.hpp) and adds no behaviour of its own.
//
// GIL rules: arguments are converted while holding the GIL; the GIL is released around every C
// call that can touch the database or wait for a lock the engine's threads may hold while they
// call back into Python (log lines, async completions).
#pragma once

#include "evcs/capi.hpp"

#include <optional>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace evcs::python {

namespace py = pybind11;

// ---- errors (errors.cpp) ---------------------------------------------------------------------

// Builds the evcs.Error subclass instance for a failed C call through the factory the pure-Python
// package registered at import (evcs/errors.py owns the code -> class table).
py::object make_exception(const abi::Error &error);
void register_errors(py::module_ &module);
// Whether Python can still be entered from a foreign thread (not during interpreter shutdown).
bool python_is_running() noexcept;

// ---- parameters (params.cpp) -----------------------------------------------------------------

// The UTF-8 form of a Python str; text without one (lone surrogates) is InvalidArgument, as
// invalid UTF-8 is in the C layer.
std::string utf8(const py::str &text, const char *what);

// Converts a Python sequence into server-side parameters for $1..$n; a null handle for None.
abi::Params to_params(py::handle values);

// ---- results (result.cpp) --------------------------------------------------------------------

// (columns: list[str], rows: list[tuple], rowcount: int), every cell converted by column type.
py::tuple convert_result(const evcs_result *result);
// The first column of the first row, or None.
py::object convert_scalar(const evcs_result *result);
// JSON text as Python values (json.loads).
py::object parse_json(const py::str &text);
// A field value of a repository record, as JSON gave it, turned into what a result cell of the
// EVCS_TYPE_* `value_type` gives: numeric, uuid, date, timestamp and bytea fields arrive as
// text, and so do a double's NaN and infinities; every other value is returned as it is.
py::object decode_field(int value_type, py::handle value);

// Pauses Python's cyclic garbage collector while a read builds thousands of new records: they
// all stay reachable, and every collection their allocations would trigger on the way traverses
// them again for nothing (a fifth of a 10,000-version read). Restores the collector's state.
class CollectorPause {
public:
  CollectorPause() : was_enabled_(PyGC_Disable() == 1) {}
  ~CollectorPause() {
    if (was_enabled_) PyGC_Enable();
  }
  CollectorPause(const CollectorPause &) = delete;
  CollectorPause &operator=(const CollectorPause &) = delete;

private:
  bool was_enabled_;
};

// Version records (the dicts a page's JSON parses to, less the "changed" and "previous" only
// histories have) made straight from rows [first, first + count) of a found page's result
// (evcs_repository_find_rows' layout) of a type with `field_count` fields, the fields typed as
// convert_result types cells.
py::list version_records(const evcs_result *rows, std::int64_t first, std::int64_t count,
                         std::size_t field_count);
// The first `count` rows' columns named in `wanted` as (name, kind, values, valid) tuples of
// numpy arrays, made from the result's typed batches (evcs_result_batches): kinds "int64",
// "bool" (0 / 1) and "timestamp" (UTC microseconds) as int64 arrays, "float64", and "object"
// arrays of what convert_result makes of them (a wanted column flagged
// true keeps its text, as version records keep the version's own columns); `valid` is a bool
// array, false for NULL. Nothing wanted: every column, in order. numpy is imported when called.
py::list typed_columns(const evcs_result *rows, std::int64_t count,
                       const std::vector<std::pair<std::string, bool>> &wanted);

// ---- engine, sessions, async (engine.cpp, session.cpp, async.cpp) -----------------------------

// What a Python engine and every session opened from it share: the C engine and the payload
// of its log callback, which must outlive every session that can still log.
struct EngineCore {
  ~EngineCore();
  abi::Engine handle;
  std::unique_ptr<py::object> log_sink;
};

class NativeSession {
public:
  NativeSession(std::shared_ptr<EngineCore> engine, abi::Session handle)
      : engine_(std::move(engine)), handle_(std::move(handle)) {}
  ~NativeSession();
  evcs_session *get() const noexcept { return handle_.get(); }

private:
  std::shared_ptr<EngineCore> engine_;
  abi::Session handle_;
};

class NativeTransaction {
public:
  NativeTransaction(py::object session, abi::Transaction handle)
      : session_(std::move(session)), handle_(std::move(handle)) {}
  ~NativeTransaction();
  evcs_transaction *get() const noexcept { return handle_.get(); }

private:
  py::object session_; // the NativeSession this transaction belongs to, kept alive
  abi::Transaction handle_;
};

// The C handle of an evcs._native.Engine; MisuseError once the engine is closed.
evcs_engine *engine_handle(py::handle native_engine);

void register_engine(py::module_ &module);
void register_session(py::module_ &module);
void register_async(py::module_ &module);
// Adds the versioning, branch and merge methods to Session (registered first) and the
// Repository class (versioning.cpp).
void register_versioning(py::module_ &module);
// The MigrationRunner class and the backup/restore functions (migrations.cpp).
void register_migrations(py::module_ &module);
// The relation changes of an existing entity type on Session (entity_ddl.cpp).
void register_entity_ddl(py::module_ &module);
// Migration autogenerate (autogenerate.cpp).
void register_autogenerate(py::module_ &module);

// Frees a C handle with the GIL released: freeing may roll back over the network or wait for
// an engine thread that is itself waiting for the GIL.
template <typename Handle> void release_without_gil(Handle &handle) {
  if (!handle) return;
  if (PyGILState_Check()) {
    py::gil_scoped_release released;
    handle.reset();
  } else {
    handle.reset();
  }
}

// Runs a C call with the GIL released and throws its failure (read on this same thread).
template <typename Call> void call_without_gil(Call call) {
  int status;
  {
    py::gil_scoped_release released;
    status = call();
  }
  abi::check(status);
}

// Runs a C call producing allocated text through `char **out`, with the GIL released, and
// returns the text.
template <typename Call> py::str text_without_gil(Call call) {
  char *raw = nullptr;
  int status;
  {
    py::gil_scoped_release released;
    status = call(&raw);
  }
  abi::Allocated owned(raw);
  abi::check(status);
  if (raw == nullptr) throw abi::Error(EVCS_ERROR, "internal error: no text was returned");
  return py::str(raw);
}

inline const char *c_str(const std::optional<std::string> &text) {
  return text ? text->c_str() : nullptr;
}

inline std::optional<std::string> optional_utf8(const std::optional<py::str> &text,
                                                const char *what) {
  if (!text) return std::nullopt;
  return utf8(*text, what);
}

} // namespace evcs::python
