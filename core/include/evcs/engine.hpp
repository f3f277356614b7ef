// The engine: a thread-safe connection pool and the factory of sessions (docs/architecture.md).
#pragma once

#include "evcs/params.hpp"
#include "evcs/pool.hpp"
#include "evcs/result.hpp"

#include <functional>
#include <future>
#include <optional>
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

  // One statement in autocommit mode, outside any session: a pooled connection is checked out,
  // the statement runs in its own implicit transaction (one round trip, no BEGIN/COMMIT) and the
  // connection goes back. For one-off reads and self-contained writes — what asyncpg's
  // pool.fetch() does; a unit of work of several statements belongs in a Session.
  Result execute(const std::string &sql, const Params &params = {});
  template <typename T> std::optional<T> scalar(const std::string &sql, const Params &params = {}) {
    return execute(sql, params).scalar<T>();
  }
  // The same, asynchronously: the checkout waits on the I/O thread, never on the caller's, and
  // `handler` runs there. Any number may be in flight; they share the pool.
  void async_execute(const std::string &sql, const Params &params, ResultHandler handler);
  std::future<Result> execute_async(const std::string &sql, const Params &params = {});

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
