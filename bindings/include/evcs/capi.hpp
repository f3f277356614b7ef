// capi.hpp — a small header-only C++ RAII layer over the C ABI (evcs.h), for C++ code that must
// depend on the stable ABI only (the pybind11 module, C ABI tests). It owns handles with
// unique_ptr and turns a failed status into an exception carrying the thread's last error.
//
// It deliberately adds no behaviour: every call maps to exactly one evcs_* function.
#pragma once

#include "evcs/evcs.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace evcs::abi {

// A failed C call: the status code plus what evcs_error_last_*() reported for it.
class Error : public std::runtime_error {
public:
  Error(int code, const std::string &message, std::string sqlstate = {},
        std::string detail_json = "null", bool retryable = false)
      : std::runtime_error(message), code_(code), sqlstate_(std::move(sqlstate)),
        detail_json_(std::move(detail_json)), retryable_(retryable) {}

  // The calling thread's last error, attributed to `status` (the code it returned).
  static Error last(int status) {
    int code = evcs_error_last_code();
    return Error(code != EVCS_OK ? code : status, evcs_error_last_message(),
                 evcs_error_last_sqlstate(), evcs_error_last_detail(),
                 evcs_error_last_retryable() != 0);
  }

  int code() const noexcept { return code_; }
  // The stable short name of the code ("not_found", "pool_timeout", ...).
  const char *code_name() const noexcept { return evcs_error_code_name(code_); }
  // "" when the failure did not come from the server.
  const std::string &sqlstate() const noexcept { return sqlstate_; }
  // JSON text; "null" when there is none.
  const std::string &detail_json() const noexcept { return detail_json_; }
  bool retryable() const noexcept { return retryable_; }

private:
  int code_;
  std::string sqlstate_;
  std::string detail_json_;
  bool retryable_;
};

// Throws the last error when `status` is a failure. EVCS_ITEROVER is not a failure: it is
// returned so iteration loops can test for it.
inline int check(int status) {
  if (status < EVCS_OK && status != EVCS_ITEROVER) throw Error::last(status);
  return status;
}

// A unique_ptr deleter calling the C free function of a handle type.
template <auto Free> struct Freer {
  template <typename T> void operator()(T *handle) const noexcept { Free(handle); }
};

using Options = std::unique_ptr<evcs_options, Freer<&evcs_options_free>>;
using Engine = std::unique_ptr<evcs_engine, Freer<&evcs_engine_free>>;
using Session = std::unique_ptr<evcs_session, Freer<&evcs_session_free>>;
using Transaction = std::unique_ptr<evcs_transaction, Freer<&evcs_transaction_free>>;
using Params = std::unique_ptr<evcs_params, Freer<&evcs_params_free>>;
using Result = std::unique_ptr<evcs_result, Freer<&evcs_result_free>>;
using Embedded = std::unique_ptr<evcs_embedded, Freer<&evcs_embedded_free>>;
using Future = std::unique_ptr<evcs_future, Freer<&evcs_future_free>>;
using Repository = std::unique_ptr<evcs_repository, Freer<&evcs_repository_free>>;
using Found = std::unique_ptr<evcs_found, Freer<&evcs_found_free>>;
using Batches = std::unique_ptr<evcs_batches, Freer<&evcs_batches_free>>;
using History = std::unique_ptr<evcs_history, Freer<&evcs_history_free>>;
// Memory the library allocated for the caller (strings, bytes).
using Allocated = std::unique_ptr<void, Freer<&evcs_free>>;

// Runs a C constructor `open(&raw, args...)` and takes ownership of what it produced.
template <typename Handle, typename Open, typename... Args>
Handle make(Open open, Args &&...args) {
  typename Handle::pointer raw = nullptr;
  check(open(&raw, std::forward<Args>(args)...));
  return Handle(raw);
}

inline Options make_options() { return make<Options>(evcs_options_new); }
inline Params make_params() { return make<Params>(evcs_params_new); }

} // namespace evcs::abi
