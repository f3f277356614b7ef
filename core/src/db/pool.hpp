// The connection pool: at most pool_size kept connections plus max_overflow temporary ones,
// with blocking and async checkout, pre-ping, recycling, and a fair FIFO of waiters.
#pragma once

#include "evcs/pool.hpp"
#include "pg/pg_connection.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace evcs::detail {

class Pool {
public:
  using ConnectionPtr = std::unique_ptr<PgConnection>;
  using AcquireHandler = std::function<void(std::exception_ptr, ConnectionPtr)>;

  Pool(const EngineOptions &options, ConnectionSettings settings, StatementLogger logger);
  ~Pool();

  // Blocks up to pool_timeout; throws PoolTimeout, or ConnectionLost if a new connection fails.
  ConnectionPtr acquire();
  // Completes on `io`'s thread; must be called from it.
  void async_acquire(boost::asio::io_context &io, AcquireHandler handler);
  // Returns a connection: kept if healthy, idle and within pool_size, closed otherwise.
  void release(ConnectionPtr connection);
  // Closes a connection that must not be reused (lost, or in an unknown state).
  void discard(ConnectionPtr connection);
  PoolStatus status() const;
  void dispose();

private:
  struct Waiter;
  // Either an idle connection, or (null) permission to open a new one.
  struct Grant {
    ConnectionPtr connection;
    bool granted = false;
  };
  Grant try_grant_locked();
  // Pings / recycles a granted connection, or opens one; releases the slot on failure.
  ConnectionPtr make_ready(ConnectionPtr connection);
  ConnectionPtr open_connection();
  void give_back_slot();
  // Serves the first waiter with `connection` (or a slot when null); false if nobody waits.
  bool serve_waiter_locked(ConnectionPtr &connection);
  [[noreturn]] void throw_timeout() const;
  void settle(ConnectionPtr connection, bool reusable);

  EngineOptions options_;
  ConnectionSettings settings_;
  StatementLogger logger_;
  mutable std::mutex mutex_;
  std::vector<ConnectionPtr> idle_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::size_t open_ = 0;
  std::size_t checked_out_ = 0;
};

} // namespace evcs::detail
