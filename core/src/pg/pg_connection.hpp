// The one place that talks to libpq: a server connection with its prepared-statement cache, a
// blocking path for synchronous callers and a non-blocking path driven by Boost.Asio.
//
// libpqxx 6.4 keeps its PGconn private, and the async path needs the raw connection (non-blocking
// sends, the socket for the reactor), so this adapter owns a libpq connection directly; keeping
// it behind this interface leaves a move to libpqxx 7 local.
//
// Every execution is one libpq pipeline: the utility statements that must precede the user's
// statement (BEGIN, SAVEPOINT, DEALLOCATE), its PREPARE when it is new, and the statement itself
// travel together and cost a single round trip.
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

// Parameterless statements sent ahead of (or instead of) a user statement.
using Utilities = std::vector<std::string>;

// What one round trip sends: utilities, an optional parameterised statement, more utilities.
struct Batch {
  Utilities before;
  std::string sql;
  Params params;
  Utilities after;
  bool empty() const { return before.empty() && sql.empty() && after.empty(); }
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

  // Runs `before`, then `sql` with `params` through the prepared-statement cache, then `after`,
  // in one round trip; returns the result of the last statement. If one fails, the rest is
  // skipped. Blocking. A COMMIT that dies with the connection is reported in doubt.
  Result execute(const Utilities &before, const std::string &sql, const Params &params,
                 const Utilities &after = {});
  Result execute(const Batch &batch) {
    return execute(batch.before, batch.sql, batch.params, batch.after);
  }
  // The same, non-blocking: completes on `io`'s thread. One operation at a time per connection.
  void execute_async(boost::asio::io_context &io, Utilities before, std::string sql,
                     Params params, Utilities after, ResultHandler handler);

  // Runs a script of several statements (simple protocol, no parameters). Blocking.
  void execute_script(const std::string &sql);

  // Runs `before` (one round trip if any), then `copy_sql`, a COPY ... FROM STDIN, streaming
  // `data` in COPY text format; returns the number of rows the server copied. Blocking. COPY
  // cannot travel in a pipeline, so it is its own round trip.
  std::int64_t copy_in(const Utilities &before, const std::string &copy_sql,
                       const std::string &data);

  // Whether the server connection is still usable; does a round trip only when the socket
  // shows activity while idle or the connection has been idle for longer than a second.
  bool ping();
  bool is_broken() const;
  // No transaction open on the server (the state a pooled connection must be in).
  bool is_idle() const;
  int backend_pid() const;
  Clock::time_point created_at() const noexcept { return created_at_; }

private:
  struct Step;
  struct Pipeline;
  struct SocketWatcher;
  struct PreparedStatement {
    std::string name;
    std::list<std::string>::iterator lru_position;
  };

  std::shared_ptr<Pipeline> plan(const Utilities &before, const std::string &sql,
                                 Params params, const Utilities &after);
  std::string remember_statement(const std::string &key);
  void forget_statement(const std::string &key);
  // Sends every step and the sync; false if libpq refused (a broken connection).
  bool send(Pipeline &pipeline);
  // Feeds one libpq result to the pipeline; true once its sync point arrived.
  bool absorb(Pipeline &pipeline, PGresult *result);
  // Ends the pipeline and turns its outcome into a Result or the mapped exception.
  Result conclude(Pipeline &pipeline);
  void continue_async(std::shared_ptr<Pipeline> pipeline);
  // Leaves non-blocking mode and hands the outcome (a result or the exception it throws) to
  // the pipeline's handler.
  void finish_async(Pipeline &pipeline, const std::function<Result()> &outcome);
  // Throws the mapped exception for a failed libpq result (and frees it).
  [[noreturn]] void raise(PGresult *error, bool commit_in_flight);
  [[noreturn]] void throw_connection_lost(const std::string &during, bool in_doubt);
  void log_statement(const Pipeline &pipeline) const;
  // Runs connection set-up statements (simple protocol, several at once).
  void run_setup(const std::string &sql);

  PGconn *conn_ = nullptr;
  std::size_t statement_cache_size_;
  StatementLogger logger_;
  Clock::time_point created_at_;
  Clock::time_point last_used_;
  std::unordered_map<std::string, PreparedStatement> statements_;
  std::list<std::string> lru_;
  std::vector<std::string> pending_deallocations_;
  std::size_t next_statement_number_ = 0;
  std::unique_ptr<SocketWatcher> watcher_;
};

std::string mask_password(const std::string &url);
// Throws InvalidArgument if libpq cannot parse `url`.
void validate_url(const std::string &url);

} // namespace evcs::detail
