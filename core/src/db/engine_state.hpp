// What an engine shares with its sessions; kept alive by them (shared_ptr), so a session
// outliving its Engine handle stays valid.
#pragma once

#include "catalog/entity_type.hpp"
#include "db/pool.hpp"
#include "evcs/embedded.hpp"
#include "evcs/pool.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace evcs::detail {

struct EngineState {
  EngineOptions options;
  std::string url;
  // Held so the embedded server outlives every engine that uses it.
  std::shared_ptr<EmbeddedServer> embedded;
  std::mutex logger_mutex;
  std::function<void(const std::string &)> logger;
  std::unique_ptr<Pool> pool;
  EntityTypeRegistry entity_types;
  // Set once the evcs catalog is known to exist in the engine's database.
  std::atomic<bool> catalog_ready{false};
  // The latest commit stamp known to be committed (evcs_clock.last_stamp as last read). Commits
  // take stamps in commit order under the clock row lock, so every commit not yet visible has
  // a later stamp: an as-of read of an instant up to this one needs no wait (docs/versioning.md).
  std::atomic<std::int64_t> settled_stamp{INT64_MIN};
  // When settled_stamp was last read from the server (steady clock, nanoseconds).
  std::atomic<std::int64_t> settled_stamp_read_at{0};

  void log(const std::string &line);
};

} // namespace evcs::detail
