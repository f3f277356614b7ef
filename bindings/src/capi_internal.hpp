// Private glue of the C ABI: the opaque handle types and the one exception firewall every entry
// point goes through.
#pragma once

#include "evcs/embedded.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/evcs.h"
#include "evcs/params.hpp"
#include "evcs/result.hpp"
#include "evcs/session.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

struct evcs_options {
  evcs::EngineOptions engine;
  evcs::EmbeddedOptions embedded;
  std::map<std::string, std::string> given;
};

struct evcs_engine {
  explicit evcs_engine(evcs::EngineOptions options) : engine(std::move(options)) {}
  evcs::Engine engine;
  std::string masked_url;
};

struct evcs_session {
  explicit evcs_session(evcs::Session opened) : session(std::move(opened)) {}
  evcs::Session session;
};

struct evcs_transaction {
  explicit evcs_transaction(evcs::Transaction begun) : transaction(std::move(begun)) {}
  evcs::Transaction transaction;
};

struct evcs_params {
  evcs::Params params;
};

struct evcs_result {
  explicit evcs_result(evcs::Result taken);
  evcs::Result result;
  std::vector<std::string> column_names;
};

struct evcs_embedded {
  std::shared_ptr<evcs::EmbeddedServer> server;
};

namespace evcs::capi {

// The thread's last failure, as evcs_error_last_*() report it.
struct LastError {
  int code = EVCS_OK;
  std::string message;
  std::string sqlstate;
  std::string detail = "null";
  bool retryable = false;
};
LastError &last_error();
void clear_last_error() noexcept;
int record_error(int code, std::string message, std::string sqlstate = {},
                 std::string detail = "null", bool retryable = false) noexcept;
// Records whatever `error` holds and returns its status code.
int record_exception(std::exception_ptr error) noexcept;

template <typename T> T &deref(T *handle, const char *what) {
  if (handle == nullptr) throw MisuseError(std::string(what) + " is NULL (closed or never opened)");
  return *handle;
}

inline std::string text_argument(const char *value, const char *what) {
  if (value == nullptr) throw MisuseError(std::string(what) + " is NULL");
  std::string text(value);
  require_utf8(text, what);
  return text;
}

inline std::string optional_text(const char *value, const char *what, const char *fallback) {
  return value == nullptr ? std::string(fallback) : text_argument(value, what);
}

inline const evcs::Params &params_or_empty(const evcs_params *params) {
  static const evcs::Params none;
  return params == nullptr ? none : params->params;
}

// A malloc'ed copy the caller frees with evcs_free.
char *copy_out(const std::string &text);

// The exception firewall: runs `body`, returning its status (or EVCS_OK for void bodies), and
// turns every exception into a status plus the thread's last error.
template <typename Body> int guarded(Body &&body) noexcept {
  clear_last_error();
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      return EVCS_OK;
    } else {
      return body();
    }
  } catch (...) {
    return record_exception(std::current_exception());
  }
}

} // namespace evcs::capi
