// The one place that talks to libpq: a server connection with its prepared-statement cache, a
// blocking path for synchronous callers and a non-blocking path driven by Boost.Asio.
//
// libpqxx 6.4 keeps its PGconn private, and the async path needs the raw connection (non-blocking
// sends, the socket for the reactor), so this adapter owns a libpq connection directly; keeping
// it behind this interface leaves a move to libpqxx 7 or to libpq pipeline mode local.
#pragma once

#include "evcs/params.hpp"
#include "evcs/result.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace boost::asio {
class io_context;
}

namespace evcs::detail {

// Where echo lines go (set by the engine).
using StatementLogger = std::function<void(const std::string &line)>;

struct ConnectionSettings {
  std::string url;
  std::string application_name = "evcs";
  std::size_t statement_cache_size = 100;
};

class PgConnection {
public:
  using Clock = std::chrono::steady_clock;
  using ResultHandler = std::function<void(std::exception_ptr, Result)>;

  // Connects (blocking); throws ConnectionLost if the server cannot be reached.
  PgConnection(const ConnectionSettings &settings, StatementLogger logger);
  ~PgConnection();
  PgConnection(const PgConnection &) = delete;
  PgConnection &operator=(const PgConnection &) = delete;

  // Runs `sql` with `params`, through the prepared-statement cache. Blocking.
  Result execute(const std::string &sql, const Params &params);
  // Runs one or more ;-separated utility statements without parameters. Blocking.
  Result execute_simple(const std::string &sql);

  // The same, non-blocking: completes on `io`'s thread. `sql` empty for execute_async means
  // "only the simple statements". At most one async operation runs at a time per connection.
  void execute_async(boost::asio::io_context &io, std::string simple_prefix, std::string sql,
                     Params params, ResultHandler handler);

  // Whether the server connection is still usable; does a round trip only when the socket
  // shows activity while idle or the connection has been idle for longer than a second.
  bool ping();
  bool is_broken() const;
  // No transaction open on the server (the state a pooled connection must be in).
  bool is_idle() const;
  int backend_pid() const;
  Clock::time_point created_at() const noexcept { return created_at_; }
  Clock::time_point last_used() const noexcept { return last_used_; }
  // Statements evicted from the cache, to be deallocated with the next simple statement.
  std::string take_pending_deallocations();

private:
  struct AsyncOperation;
  struct PreparedStatement {
    std::string name;
    std::list<std::string>::iterator lru_position;
  };

  // The name of the prepared statement for (sql, parameter types), preparing it if needed;
  // empty when the cache is disabled.
  const std::string *cached_statement(const std::string &key) const;
  std::string remember_statement(const std::string &key);
  void forget_statement(const std::string &key);
  std::string cache_key(const std::string &sql, const Params &params) const;

  // Turns a finished libpq result into a Result or throws the mapped error.
  Result take_result(PGresult *result, const std::string &sql, bool commit_in_flight);
  [[noreturn]] void throw_connection_lost(const std::string &during, bool in_doubt);
  void log_statement(const std::string &sql, std::size_t parameter_count,
                     Clock::time_point started) const;
  void start_async_step(std::shared_ptr<AsyncOperation> operation);
  void continue_async(std::shared_ptr<AsyncOperation> operation);

  PGconn *conn_ = nullptr;
  std::size_t statement_cache_size_;
  StatementLogger logger_;
  Clock::time_point created_at_;
  Clock::time_point last_used_;
  std::unordered_map<std::string, PreparedStatement> statements_;
  std::list<std::string> lru_;
  std::vector<std::string> pending_deallocations_;
  std::size_t next_statement_number_ = 0;
  struct SocketWatcher;
  std::unique_ptr<SocketWatcher> watcher_;
};

std::string mask_password(const std::string &url);
// Throws InvalidArgument if libpq cannot parse `url`.
void validate_url(const std::string &url);

} // namespace evcs::detail
