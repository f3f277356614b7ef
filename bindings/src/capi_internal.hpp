// Private glue of the C ABI: the opaque handle types and the one exception firewall every entry
// point goes through.
#pragma once

#include "evcs/columns.hpp"
#include "evcs/embedded.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/evcs.h"
#include "evcs/params.hpp"
#include "evcs/result.hpp"
#include "evcs/session.hpp"
#include "evcs/versioning.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
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
  // Sessions share the engine's state, but a migration runner refers to `engine` itself: it
  // holds a reference, and the handle is deleted when the caller's and the last runner's are
  // released (evcs_engine_free, evcs::capi::release_engine).
  std::atomic<int> references{1};
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

struct evcs_batch {
  evcs::ColumnBatch batch;
};

// The iterator keeps its batch: the pointers evcs_batches_next hands out live until the next.
struct evcs_batches {
  explicit evcs_batches(evcs::ColumnBatches all) : batches(std::move(all)) {}
  evcs::ColumnBatches batches;
  evcs_batch current;
};

// Holds the core repository, which shares the session's state: freeing the session first is safe.
struct evcs_repository {
  explicit evcs_repository(evcs::Repository opened) : repository(std::move(opened)) {}
  evcs::Repository repository;
};

// A find's rows (evcs::FoundPage) with each result wrapped once, so the pointers handed out live
// as long as the handle.
struct evcs_found {
  struct Relation {
    std::string name;
    std::string entity_type;
    bool to_one;
    evcs_result rows;
    std::vector<std::int64_t> offsets;
    std::vector<std::int64_t> indexes;
  };
  explicit evcs_found(evcs::FoundPage page);
  // InvalidArgument past the last relation.
  const Relation &relation(std::size_t index) const;
  evcs_result rows;
  std::int64_t size;
  std::optional<std::string> cursor;
  std::vector<Relation> relations;
};

struct evcs_history {
  explicit evcs_history(evcs::HistoryRows taken)
      : history(std::move(taken)), rows(std::move(history.rows)) {}
  evcs::HistoryRows history;
  evcs_result rows;
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

// Parses a JSON text argument; malformed JSON (or invalid UTF-8) is InvalidArgument naming it.
inline nlohmann::json json_argument(const char *text, const char *what) {
  if (text == nullptr) throw MisuseError(std::string(what) + " is NULL");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error &error) {
    throw InvalidArgument(std::string(what) + " is not valid JSON: " + error.what());
  }
}

// The optional int64 behind a pointer argument (NULL: none).
inline std::optional<std::int64_t> optional_int(const int64_t *value) {
  return value == nullptr ? std::nullopt : std::optional<std::int64_t>(*value);
}

inline evcs_engine *retain_engine(evcs_engine &engine) noexcept {
  engine.references.fetch_add(1, std::memory_order_relaxed);
  return &engine;
}

inline void release_engine(evcs_engine *engine) noexcept {
  if (engine != nullptr && engine->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete engine;
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
