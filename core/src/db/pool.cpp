#include "db/pool.hpp"

#include "evcs/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace evcs::detail {

struct Pool::Waiter {
  bool served = false;
  ConnectionPtr connection;
  std::condition_variable ready;
  boost::asio::io_context *io = nullptr;
  AcquireHandler handler;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

Pool::Pool(const EngineOptions &options, ConnectionSettings settings, StatementLogger logger)
    : options_(options), settings_(std::move(settings)), logger_(std::move(logger)) {}

Pool::~Pool() = default;

void Pool::throw_timeout() const {
  char timeout[32];
  std::snprintf(timeout, sizeof timeout, "%g", options_.pool_timeout);
  throw PoolTimeout("connection pool exhausted: all pool_size=" +
                    std::to_string(options_.pool_size) + " + max_overflow=" +
                    std::to_string(options_.max_overflow) +
                    " connections are checked out and none was returned within pool_timeout=" +
                    timeout +
                    " s. Usual cause: sessions that are not closed (close them, or use the "
                    "scoped forms that always do); otherwise raise pool_size/max_overflow or "
                    "lower the concurrency. See docs/errors.md#pool_timeout");
}

Pool::Grant Pool::try_grant_locked() {
  Grant grant;
  if (!waiters_.empty()) return grant;
  if (!idle_.empty()) {
    grant.connection = std::move(idle_.back());
    idle_.pop_back();
    grant.granted = true;
  } else if (open_ < options_.pool_size + options_.max_overflow) {
    ++open_;
    grant.granted = true;
  }
  if (grant.granted) ++checked_out_;
  return grant;
}

Pool::ConnectionPtr Pool::open_connection() {
  try {
    return std::make_unique<PgConnection>(settings_, logger_);
  } catch (...) {
    give_back_slot();
    throw;
  }
}

Pool::ConnectionPtr Pool::make_ready(ConnectionPtr connection) {
  if (connection) {
    bool expired = options_.pool_recycle &&
                   std::chrono::duration<double>(PgConnection::Clock::now() -
                                                 connection->created_at())
                           .count() > *options_.pool_recycle;
    bool dead = !expired && options_.pool_pre_ping && !connection->ping();
    if (!expired && !dead) return connection;
    connection.reset();
  }
  return open_connection();
}

void Pool::give_back_slot() {
  std::lock_guard<std::mutex> lock(mutex_);
  ConnectionPtr none;
  if (serve_waiter_locked(none)) return;
  --open_;
  --checked_out_;
}

bool Pool::serve_waiter_locked(ConnectionPtr &connection) {
  while (!waiters_.empty()) {
    std::shared_ptr<Waiter> waiter = waiters_.front();
    waiters_.pop_front();
    if (waiter->served) continue;
    waiter->served = true;
    if (waiter->io == nullptr) {
      waiter->connection = std::move(connection);
      waiter->ready.notify_one();
    } else {
      boost::asio::post(*waiter->io, [this, waiter, granted = std::move(connection)]() mutable {
        waiter->timer->cancel();
        std::exception_ptr error;
        ConnectionPtr ready;
        try {
          ready = make_ready(std::move(granted));
        } catch (...) {
          error = std::current_exception();
        }
        waiter->handler(error, std::move(ready));
      });
    }
    return true;
  }
  return false;
}

Pool::ConnectionPtr Pool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  Grant grant = try_grant_locked();
  if (grant.granted) {
    lock.unlock();
    return make_ready(std::move(grant.connection));
  }
  auto waiter = std::make_shared<Waiter>();
  waiters_.push_back(waiter);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(options_.pool_timeout));
  if (!waiter->ready.wait_until(lock, deadline, [&] { return waiter->served; })) {
    waiter->served = true;
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
    lock.unlock();
    throw_timeout();
  }
  lock.unlock();
  return make_ready(std::move(waiter->connection));
}

void Pool::async_acquire(boost::asio::io_context &io, AcquireHandler handler) {
  std::unique_lock<std::mutex> lock(mutex_);
  Grant grant = try_grant_locked();
  if (grant.granted) {
    lock.unlock();
    std::exception_ptr error;
    ConnectionPtr ready;
    try {
      ready = make_ready(std::move(grant.connection));
    } catch (...) {
      error = std::current_exception();
    }
    handler(error, std::move(ready));
    return;
  }
  auto waiter = std::make_shared<Waiter>();
  waiter->io = &io;
  waiter->handler = std::move(handler);
  waiter->timer = std::make_unique<boost::asio::steady_timer>(
      io, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(options_.pool_timeout)));
  waiters_.push_back(waiter);
  lock.unlock();
  waiter->timer->async_wait([this, waiter](const boost::system::error_code &) {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (waiter->served) return;
      waiter->served = true;
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
    }
    try {
      throw_timeout();
    } catch (...) {
      waiter->handler(std::current_exception(), nullptr);
    }
  });
}

void Pool::release(ConnectionPtr connection) {
  if (!connection) return;
  bool reusable = !connection->is_broken() && connection->is_idle();
  settle(std::move(connection), reusable);
}

void Pool::discard(ConnectionPtr connection) {
  if (connection) settle(std::move(connection), false);
}

void Pool::settle(ConnectionPtr connection, bool reusable) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!reusable) connection.reset();
  if (serve_waiter_locked(connection)) return;
  --checked_out_;
  if (!connection || open_ > options_.pool_size) {
    --open_;
    lock.unlock();
    connection.reset();
    return;
  }
  idle_.push_back(std::move(connection));
}

PoolStatus Pool::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStatus status;
  status.size = open_;
  status.checked_out = checked_out_;
  status.overflow = open_ > options_.pool_size ? open_ - options_.pool_size : 0;
  return status;
}

void Pool::dispose() {
  std::vector<ConnectionPtr> closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing.swap(idle_);
    open_ -= closing.size();
  }
}

} // namespace evcs::detail
