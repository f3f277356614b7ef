// The engine: a thread-safe connection pool and the factory of sessions (SPEC §2).
#pragma once

#include "evcs/pool.hpp"

#include <functional>
#include <memory>
#include <string>

namespace evcs {

class Session;
namespace detail {
struct EngineState;
}

class Engine {
public:
  // Opens the pool (lazily: connections are made at first checkout). With no url and no
  // DATABASE_URL, starts (or joins) the embedded default server.
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(Engine &&) noexcept;
  Engine &operator=(Engine &&) noexcept;

  // A new session; its connection is checked out at its first statement.
  Session session(const std::string &branch = "main", const std::string &author = "");

  // The URL in use, with any password masked.
  std::string url() const;
  PoolStatus pool_status() const;
  // Closes every idle connection; checked-out ones are closed when returned.
  void dispose();
  // Where echo lines go; default stderr. Called from any thread.
  void set_logger(std::function<void(const std::string &line)> logger);

  const std::shared_ptr<detail::EngineState> &state() const noexcept { return state_; }

private:
  std::shared_ptr<detail::EngineState> state_;
};

} // namespace evcs
