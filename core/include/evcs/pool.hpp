// Pool settings (docs/architecture.md). The pool itself is internal to the engine.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace evcs {

struct EngineOptions {
  // A libpq URL or key=value DSN; empty = DATABASE_URL, else the embedded default server.
  std::string url;
  std::size_t pool_size = 10;
  std::size_t max_overflow = 20;
  double pool_timeout = 30.0;
  // Connections older than this many seconds are replaced at checkout.
  std::optional<double> pool_recycle;
  bool pool_pre_ping = true;
  bool echo = false;
  std::size_t statement_cache_size = 100;
  std::string application_name = "evcs";

  // Sets one option from its text form, as the C ABI and the bindings pass them. Throws
  // InvalidArgument for an unknown key or a malformed value, naming both.
  void set(const std::string &key, const std::string &value);
  // The option names `set` understands.
  static const char *const *known_keys() noexcept;
};

struct PoolStatus {
  std::size_t size = 0;        // connections open (idle + checked out)
  std::size_t checked_out = 0; // connections in use by sessions
  std::size_t overflow = 0;    // open connections beyond pool_size
};

} // namespace evcs
