#include "pg_connection.hpp"

#include "evcs/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <libpq-fe.h>

#include <poll.h>
#include <unistd.h>

#include <cstdio>

namespace evcs::detail {

namespace {

// Parameter type OIDs (pg_type.dat). Numbers, booleans, text and JSON go as "unknown" (0), so the
// server types them from context exactly as it types literals (an int64 argument can call a
// function taking int4); bytes and timestamps carry their type because their wire form is not
// a literal of every type they may be compared with.
Oid oid_of(Params::Kind kind) {
  switch (kind) {
  case Params::Kind::bytes: return 17;
  case Params::Kind::timestamp: return 1184;
  default: return 0;
  }
}

// libpq's parallel parameter arrays for one call.
struct WireParams {
  explicit WireParams(const Params &params) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto &value = params.values()[i];
      Params::Kind kind = params.kinds()[i];
      values.push_back(value ? value->data() : nullptr);
      lengths.push_back(value ? static_cast<int>(value->size()) : 0);
      formats.push_back(kind == Params::Kind::bytes ? 1 : 0);
      types.push_back(oid_of(kind));
    }
  }
  int count() const { return static_cast<int>(values.size()); }
  std::vector<const char *> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<Oid> types;
};

std::string server_message(const PGresult *result) {
  auto field = [result](int code) {
    const char *value = PQresultErrorField(result, code);
    return std::string(value == nullptr ? "" : value);
  };
  std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) {
    message = PQresultErrorMessage(result);
    while (!message.empty() && message.back() == '\n') message.pop_back();
  }
  std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
  std::string hint = field(PG_DIAG_MESSAGE_HINT);
  if (!detail.empty()) message += " (" + detail + ")";
  if (!hint.empty()) message += " Hint: " + hint;
  return message;
}

bool lost_connection_state(const std::string &sqlstate) {
  return sqlstate.compare(0, 2, "08") == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

} // namespace

struct PgConnection::SocketWatcher {
  SocketWatcher(boost::asio::io_context &io, int fd) : io(&io), descriptor(io, ::dup(fd)) {}
  boost::asio::io_context *io;
  boost::asio::posix::stream_descriptor descriptor;
};

struct PgConnection::AsyncOperation {
  enum class StepKind { simple, prepare, execute_prepared, execute_unnamed };
  struct Step {
    StepKind kind;
    std::string text;
    std::string statement_name;
  };
  std::vector<Step> steps;
  std::size_t index = 0;
  Params params;
  std::string logged_sql;
  bool commit_in_flight = false;
  std::string cache_key_on_failure;
  ResultHandler handler;
  PGresult *step_error = nullptr;
  PGresult *step_result = nullptr;
  Clock::time_point started;
};

std::string mask_password(const std::string &url) {
  PQconninfoOption *options = PQconninfoParse(url.c_str(), nullptr);
  if (options == nullptr) return "(unparsable URL)";
  std::string described;
  for (PQconninfoOption *option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || *option->val == '\0') continue;
    std::string keyword = option->keyword;
    described += (described.empty() ? "" : " ") + keyword + "=" +
                 (keyword == "password" ? std::string("***") : std::string(option->val));
  }
  PQconninfoFree(options);
  return described;
}

void validate_url(const std::string &url) {
  char *error = nullptr;
  PQconninfoOption *options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? trimmed(error) : "out of memory";
    if (error != nullptr) PQfreemem(error);
    throw InvalidArgument("malformed database URL: " + reason +
                          " (expected e.g. postgresql://user@host:5432/dbname)");
  }
  PQconninfoFree(options);
}

PgConnection::PgConnection(const ConnectionSettings &settings, StatementLogger logger)
    : statement_cache_size_(settings.statement_cache_size), logger_(std::move(logger)),
      created_at_(Clock::now()), last_used_(created_at_) {
  // Keywords before dbname are defaults: anything the URL itself sets wins.
  const char *keywords[] = {"application_name", "connect_timeout", "client_encoding", "dbname",
                            nullptr};
  const char *values[] = {settings.application_name.c_str(), "10", "UTF8", settings.url.c_str(),
                          nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string reason = conn_ != nullptr ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectionLost("cannot connect to PostgreSQL (" + mask_password(settings.url) +
                             "): " + reason +
                             ". Check that the server is running and that the URL "
                             "(or DATABASE_URL) is right.",
                         "08001");
  }
  // Timestamps cross every surface as UTC microseconds; a fixed zone and style make the
  // server's text form parseable without guessing.
  execute_simple("SET TIME ZONE 'UTC'; SET datestyle TO 'ISO, YMD'");
}

PgConnection::~PgConnection() {
  watcher_.reset();
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::is_broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::is_idle() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

int PgConnection::backend_pid() const { return conn_ == nullptr ? 0 : PQbackendPID(conn_); }

std::string PgConnection::cache_key(const std::string &sql, const Params &params) const {
  return params.signature() + '\x1f' + sql;
}

const std::string *PgConnection::cached_statement(const std::string &key) const {
  auto found = statements_.find(key);
  return found == statements_.end() ? nullptr : &found->second.name;
}

std::string PgConnection::remember_statement(const std::string &key) {
  if (statements_.size() >= statement_cache_size_ && !lru_.empty()) {
    auto evicted = statements_.find(lru_.back());
    pending_deallocations_.push_back(evicted->second.name);
    statements_.erase(evicted);
    lru_.pop_back();
  }
  lru_.push_front(key);
  std::string name = "evcs_s" + std::to_string(++next_statement_number_);
  statements_.emplace(key, PreparedStatement{name, lru_.begin()});
  return name;
}

void PgConnection::forget_statement(const std::string &key) {
  auto found = statements_.find(key);
  if (found == statements_.end()) return;
  lru_.erase(found->second.lru_position);
  statements_.erase(found);
}

std::string PgConnection::take_pending_deallocations() {
  std::string sql;
  for (const auto &name : pending_deallocations_) sql += "DEALLOCATE " + name + ";";
  pending_deallocations_.clear();
  return sql;
}

void PgConnection::throw_connection_lost(const std::string &during, bool in_doubt) {
  std::string reason = conn_ != nullptr ? trimmed(PQerrorMessage(conn_)) : "";
  if (reason.empty()) reason = during;
  if (in_doubt)
    throw ConnectionLost("the connection to PostgreSQL was lost while COMMIT was in flight: the "
                         "transaction may or may not have committed; check before retrying (" +
                             reason + ")",
                         "08007", true);
  throw ConnectionLost("the connection to PostgreSQL was lost (" + reason +
                           "); the transaction was rolled back by the server. Run it again, "
                           "e.g. with run_in_transaction.",
                       "08006", false);
}

Result PgConnection::take_result(PGresult *result, const std::string &sql, bool commit_in_flight) {
  if (result == nullptr) throw_connection_lost("no result for: " + sql, commit_in_flight);
  ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
    return Result(result);
  const char *sqlstate_field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string sqlstate = sqlstate_field == nullptr ? "" : sqlstate_field;
  std::string message = server_message(result);
  PQclear(result);
  if (is_broken() || lost_connection_state(sqlstate))
    throw_connection_lost(message, commit_in_flight);
  throw_server_error(sqlstate, message);
}

void PgConnection::log_statement(const std::string &sql, std::size_t parameter_count,
                                 Clock::time_point started) const {
  if (!logger_) return;
  double millis = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  char timing[64];
  std::snprintf(timing, sizeof timing, "[%zu params, %.3f ms]", parameter_count, millis);
  logger_(sql + " " + timing);
}

Result PgConnection::execute_simple(const std::string &sql) {
  Clock::time_point started = Clock::now();
  bool is_commit = sql.compare(0, 6, "COMMIT") == 0;
  Result result = take_result(PQexec(conn_, sql.c_str()), sql, is_commit);
  last_used_ = Clock::now();
  log_statement(sql, 0, started);
  return result;
}

Result PgConnection::execute(const std::string &sql, const Params &params) {
  Clock::time_point started = Clock::now();
  WireParams wire(params);
  PGresult *result;
  if (statement_cache_size_ == 0) {
    result = PQexecParams(conn_, sql.c_str(), wire.count(), wire.types.data(), wire.values.data(),
                          wire.lengths.data(), wire.formats.data(), 0);
  } else {
    std::string key = cache_key(sql, params);
    const std::string *cached = cached_statement(key);
    std::string name;
    if (cached != nullptr) {
      name = *cached;
      auto &entry = statements_.at(key);
      lru_.splice(lru_.begin(), lru_, entry.lru_position);
    } else {
      name = remember_statement(key);
      PGresult *prepared =
          PQprepare(conn_, name.c_str(), sql.c_str(), wire.count(), wire.types.data());
      try {
        take_result(prepared, sql, false);
      } catch (...) {
        forget_statement(key);
        throw;
      }
      std::string deallocations = take_pending_deallocations();
      if (!deallocations.empty()) take_result(PQexec(conn_, deallocations.c_str()), sql, false);
    }
    result = PQexecPrepared(conn_, name.c_str(), wire.count(), wire.values.data(),
                            wire.lengths.data(), wire.formats.data(), 0);
  }
  Result taken = take_result(result, sql, false);
  last_used_ = Clock::now();
  log_statement(sql, params.size(), started);
  return taken;
}

bool PgConnection::ping() {
  if (is_broken() || PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;
  pollfd socket_state{PQsocket(conn_), POLLIN, 0};
  bool activity_while_idle = ::poll(&socket_state, 1, 0) != 0;
  bool idle_long = Clock::now() - last_used_ > std::chrono::seconds(1);
  if (!activity_while_idle && !idle_long) return true;
  PGresult *result = PQexec(conn_, "");
  bool alive = result != nullptr && PQresultStatus(result) == PGRES_EMPTY_QUERY;
  PQclear(result);
  last_used_ = Clock::now();
  return alive && !is_broken();
}

void PgConnection::execute_async(boost::asio::io_context &io, std::string simple_prefix,
                                 std::string sql, Params params, ResultHandler handler) {
  using Kind = AsyncOperation::StepKind;
  auto operation = std::make_shared<AsyncOperation>();
  operation->handler = std::move(handler);
  operation->started = Clock::now();
  operation->commit_in_flight = simple_prefix.compare(0, 6, "COMMIT") == 0;
  operation->logged_sql = sql.empty() ? simple_prefix : sql;
  std::string prefix = take_pending_deallocations() + simple_prefix;
  if (!prefix.empty()) operation->steps.push_back({Kind::simple, prefix, {}});
  if (!sql.empty()) {
    if (statement_cache_size_ == 0) {
      operation->steps.push_back({Kind::execute_unnamed, sql, {}});
    } else {
      std::string key = cache_key(sql, params);
      const std::string *cached = cached_statement(key);
      if (cached != nullptr) {
        lru_.splice(lru_.begin(), lru_, statements_.at(key).lru_position);
        operation->steps.push_back({Kind::execute_prepared, sql, *cached});
      } else {
        std::string name = remember_statement(key);
        operation->cache_key_on_failure = key;
        operation->steps.push_back({Kind::prepare, sql, name});
        operation->steps.push_back({Kind::execute_prepared, sql, name});
      }
    }
  }
  operation->params = std::move(params);
  if (!watcher_ || watcher_->io != &io) watcher_ = std::make_unique<SocketWatcher>(io, PQsocket(conn_));
  start_async_step(std::move(operation));
}

void PgConnection::start_async_step(std::shared_ptr<AsyncOperation> operation) {
  using Kind = AsyncOperation::StepKind;
  auto finish = [this, operation](std::exception_ptr error, Result result) {
    PQsetnonblocking(conn_, 0);
    last_used_ = Clock::now();
    log_statement(operation->logged_sql, operation->params.size(), operation->started);
    auto handler = std::move(operation->handler);
    handler(error, std::move(result));
  };
  if (operation->index == operation->steps.size()) {
    PGresult *result = operation->step_result;
    operation->step_result = nullptr;
    finish(nullptr, result != nullptr ? Result(result) : Result());
    return;
  }
  const auto &step = operation->steps[operation->index];
  WireParams wire(operation->params);
  PQsetnonblocking(conn_, 1);
  int sent = 0;
  switch (step.kind) {
  case Kind::simple: sent = PQsendQuery(conn_, step.text.c_str()); break;
  case Kind::prepare:
    sent = PQsendPrepare(conn_, step.statement_name.c_str(), step.text.c_str(), wire.count(),
                         wire.types.data());
    break;
  case Kind::execute_prepared:
    sent = PQsendQueryPrepared(conn_, step.statement_name.c_str(), wire.count(),
                               wire.values.data(), wire.lengths.data(), wire.formats.data(), 0);
    break;
  case Kind::execute_unnamed:
    sent = PQsendQueryParams(conn_, step.text.c_str(), wire.count(), wire.types.data(),
                             wire.values.data(), wire.lengths.data(), wire.formats.data(), 0);
    break;
  }
  if (sent == 0 || PQflush(conn_) == -1) {
    try {
      throw_connection_lost("sending " + step.text, false);
    } catch (...) {
      finish(std::current_exception(), Result());
    }
    return;
  }
  continue_async(std::move(operation));
}

void PgConnection::continue_async(std::shared_ptr<AsyncOperation> operation) {
  bool output_pending = PQflush(conn_) == 1;
  auto wait_type = output_pending ? boost::asio::posix::stream_descriptor::wait_write
                                  : boost::asio::posix::stream_descriptor::wait_read;
  watcher_->descriptor.async_wait(wait_type, [this, operation](const boost::system::error_code &) {
    auto fail = [this, operation](std::exception_ptr error) {
      if (operation->step_error != nullptr) PQclear(operation->step_error);
      if (operation->step_result != nullptr) PQclear(operation->step_result);
      operation->step_error = operation->step_result = nullptr;
      if (!operation->cache_key_on_failure.empty()) forget_statement(operation->cache_key_on_failure);
      PQsetnonblocking(conn_, 0);
      last_used_ = Clock::now();
      auto handler = std::move(operation->handler);
      handler(error, Result());
    };
    if (PQconsumeInput(conn_) == 0) {
      try {
        throw_connection_lost("waiting for " + operation->logged_sql, operation->commit_in_flight);
      } catch (...) {
        fail(std::current_exception());
      }
      return;
    }
    while (PQisBusy(conn_) == 0) {
      PGresult *result = PQgetResult(conn_);
      if (result == nullptr) {
        if (operation->step_error != nullptr) {
          PGresult *error = operation->step_error;
          operation->step_error = nullptr;
          try {
            take_result(error, operation->logged_sql, operation->commit_in_flight);
          } catch (...) {
            fail(std::current_exception());
          }
          return;
        }
        if (operation->steps[operation->index].kind == AsyncOperation::StepKind::prepare)
          operation->cache_key_on_failure.clear();
        ++operation->index;
        if (operation->index < operation->steps.size() && operation->step_result != nullptr) {
          PQclear(operation->step_result);
          operation->step_result = nullptr;
        }
        start_async_step(operation);
        return;
      }
      ExecStatusType status = PQresultStatus(result);
      bool failed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
                    status != PGRES_EMPTY_QUERY;
      PGresult *&slot = failed ? operation->step_error : operation->step_result;
      if (failed && slot != nullptr) {
        PQclear(result);
        continue;
      }
      if (slot != nullptr) PQclear(slot);
      slot = result;
    }
    continue_async(operation);
  });
}

} // namespace evcs::detail
