#include "pg/pg_connection.hpp"

#include "evcs/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <libpq-fe.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

// 08P01 (protocol violation, e.g. a wrong number of parameters) leaves the connection usable.
bool lost_connection_state(const std::string &sqlstate) {
  return (sqlstate.compare(0, 2, "08") == 0 && sqlstate != "08P01") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
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

struct PgConnection::Step {
  enum class Kind { utility, prepare, execute_prepared, execute_unnamed };
  Kind kind;
  std::string sql;
  std::string statement_name;
};

struct PgConnection::Pipeline {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  ~Pipeline() {
    PQclear(result);
    PQclear(error);
  }

  std::vector<Step> steps;
  Params params;
  // The cache entry this pipeline created; forgotten if its PREPARE fails.
  std::string new_statement_key;
  std::size_t prepare_step = none;
  // Statements deallocated by the first steps; queued again if those steps did not run.
  std::vector<std::string> deallocated;
  bool commit_in_flight = false;
  std::string logged_sql;
  Clock::time_point started;
  ResultHandler handler;

  // One step goes as a plain extended-protocol query; more go as a libpq pipeline.
  bool batched() const { return steps.size() > 1; }
  std::size_t step_index = 0;
  std::size_t empty_results = 0;
  PGresult *result = nullptr;
  PGresult *error = nullptr;
  std::size_t failed_step = none;
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
  // Server notices go to the echo log, not to stderr behind the application's back.
  PQsetNoticeProcessor(
      conn_,
      [](void *self, const char *message) {
        const auto &logger = static_cast<PgConnection *>(self)->logger_;
        if (logger) logger(trimmed(message));
      },
      this);
  // Timestamps cross every surface as UTC microseconds; a fixed zone and style make the
  // server's text form parseable without guessing.
  run_setup("SET TIME ZONE 'UTC'; SET datestyle TO 'ISO, YMD'");
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

std::shared_ptr<PgConnection::Pipeline> PgConnection::plan(const Utilities &before,
                                                           const std::string &sql, Params params,
                                                           const Utilities &after) {
  using Kind = Step::Kind;
  auto pipeline = std::make_shared<Pipeline>();
  pipeline->started = Clock::now();
  std::vector<Step> statement_steps;
  if (!sql.empty()) {
    pipeline->logged_sql = sql;
    if (statement_cache_size_ == 0) {
      statement_steps.push_back({Kind::execute_unnamed, sql, {}});
    } else {
      std::string key = params.signature() + '\x1f' + sql;
      auto cached = statements_.find(key);
      if (cached != statements_.end()) {
        lru_.splice(lru_.begin(), lru_, cached->second.lru_position);
        statement_steps.push_back({Kind::execute_prepared, sql, cached->second.name});
      } else {
        std::string name = remember_statement(key);
        pipeline->new_statement_key = key;
        statement_steps.push_back({Kind::prepare, sql, name});
        statement_steps.push_back({Kind::execute_prepared, sql, name});
      }
    }
  }
  // Deallocations first: the statement this pipeline prepares may have evicted one.
  pipeline->deallocated.swap(pending_deallocations_);
  for (const auto &name : pipeline->deallocated)
    pipeline->steps.push_back({Kind::utility, "DEALLOCATE " + name, {}});
  auto add_utilities = [&](const Utilities &utilities) {
    for (const auto &utility : utilities) {
      pipeline->steps.push_back({Kind::utility, utility, {}});
      if (utility.compare(0, 6, "COMMIT") == 0) pipeline->commit_in_flight = true;
      if (sql.empty())
        pipeline->logged_sql += (pipeline->logged_sql.empty() ? "" : "; ") + utility;
    }
  };
  add_utilities(before);
  if (!pipeline->new_statement_key.empty()) pipeline->prepare_step = pipeline->steps.size();
  pipeline->steps.insert(pipeline->steps.end(), statement_steps.begin(), statement_steps.end());
  add_utilities(after);
  pipeline->params = std::move(params);
  return pipeline;
}

bool PgConnection::send(Pipeline &pipeline) {
  using Kind = Step::Kind;
  if (pipeline.batched() && PQenterPipelineMode(conn_) == 0) return false;
  WireParams wire(pipeline.params);
  for (const Step &step : pipeline.steps) {
    int sent = 0;
    switch (step.kind) {
    case Kind::utility:
      sent = PQsendQueryParams(conn_, step.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
      break;
    case Kind::prepare:
      sent = PQsendPrepare(conn_, step.statement_name.c_str(), step.sql.c_str(), wire.count(),
                           wire.types.data());
      break;
    case Kind::execute_prepared:
      sent = PQsendQueryPrepared(conn_, step.statement_name.c_str(), wire.count(),
                                 wire.values.data(), wire.lengths.data(), wire.formats.data(), 0);
      break;
    case Kind::execute_unnamed:
      sent = PQsendQueryParams(conn_, step.sql.c_str(), wire.count(), wire.types.data(),
                               wire.values.data(), wire.lengths.data(), wire.formats.data(), 0);
      break;
    }
    if (sent == 0) return false;
  }
  return !pipeline.batched() || PQpipelineSync(conn_) != 0;
}

bool PgConnection::absorb(Pipeline &pipeline, PGresult *result) {
  if (result == nullptr) {
    if (!pipeline.batched()) return true;
    ++pipeline.step_index;
    if (++pipeline.empty_results > pipeline.steps.size() + 1 || is_broken())
      throw_connection_lost("waiting for " + pipeline.logged_sql, pipeline.commit_in_flight);
    return false;
  }
  switch (PQresultStatus(result)) {
  case PGRES_PIPELINE_SYNC:
    PQclear(result);
    return true;
  case PGRES_PIPELINE_ABORTED:
    PQclear(result);
    return false;
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
  case PGRES_EMPTY_QUERY:
    if (pipeline.step_index + 1 == pipeline.steps.size()) {
      PQclear(pipeline.result);
      pipeline.result = result;
    } else {
      PQclear(result);
    }
    return false;
  default:
    if (pipeline.error == nullptr) {
      pipeline.error = result;
      pipeline.failed_step = pipeline.step_index;
    } else {
      PQclear(result);
    }
    return false;
  }
}

Result PgConnection::conclude(Pipeline &pipeline) {
  if (pipeline.batched()) PQexitPipelineMode(conn_);
  last_used_ = Clock::now();
  log_statement(pipeline);
  if (pipeline.error == nullptr) {
    PGresult *result = pipeline.result;
    pipeline.result = nullptr;
    return result == nullptr ? Result() : Result(result);
  }
  if (pipeline.failed_step == pipeline.prepare_step) forget_statement(pipeline.new_statement_key);
  for (std::size_t index = pipeline.failed_step; index < pipeline.deallocated.size(); ++index)
    pending_deallocations_.push_back(pipeline.deallocated[index]);
  PGresult *error = pipeline.error;
  pipeline.error = nullptr;
  raise(error, pipeline.commit_in_flight);
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

void PgConnection::raise(PGresult *error, bool commit_in_flight) {
  const char *sqlstate_field = PQresultErrorField(error, PG_DIAG_SQLSTATE);
  std::string sqlstate = sqlstate_field == nullptr ? "" : sqlstate_field;
  std::string message = server_message(error);
  const char *position_field = PQresultErrorField(error, PG_DIAG_STATEMENT_POSITION);
  int position = position_field == nullptr ? 0 : std::atoi(position_field);
  PQclear(error);
  if (is_broken() || lost_connection_state(sqlstate))
    throw_connection_lost(message, commit_in_flight);
  try {
    throw_server_error(sqlstate, message);
  } catch (Error &server_error) {
    server_error.set_statement_position(position);
    throw;
  }
}

void PgConnection::log_statement(const Pipeline &pipeline) const {
  if (!logger_) return;
  double millis =
      std::chrono::duration<double, std::milli>(Clock::now() - pipeline.started).count();
  char timing[64];
  std::snprintf(timing, sizeof timing, "[%zu params, %.3f ms]", pipeline.params.size(), millis);
  logger_(pipeline.logged_sql + " " + timing);
}

void PgConnection::run_setup(const std::string &sql) { execute_script(sql); }

void PgConnection::execute_script(const std::string &sql) {
  PGresult *result = PQexec(conn_, sql.c_str());
  last_used_ = Clock::now();
  if (result == nullptr) throw_connection_lost("running a script", false);
  ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
    raise(result, false);
  PQclear(result);
}

std::int64_t PgConnection::copy_in(const Utilities &before, const std::string &copy_sql,
                                  const std::string &data) {
  if (!before.empty()) execute(before, "", Params());
  Clock::time_point started = Clock::now();
  PGresult *start = PQexec(conn_, copy_sql.c_str());
  if (start == nullptr) throw_connection_lost("starting " + copy_sql, false);
  if (PQresultStatus(start) != PGRES_COPY_IN) raise(start, false);
  PQclear(start);
  // Chunks bound the memory libpq copies into its output buffer at once.
  constexpr std::size_t chunk_size = 1 << 20;
  for (std::size_t offset = 0; offset < data.size(); offset += chunk_size) {
    std::size_t length = std::min(chunk_size, data.size() - offset);
    if (PQputCopyData(conn_, data.data() + offset, static_cast<int>(length)) != 1)
      throw_connection_lost("sending the data of " + copy_sql, false);
  }
  if (PQputCopyEnd(conn_, nullptr) != 1)
    throw_connection_lost("ending the data of " + copy_sql, false);
  PGresult *outcome = PQgetResult(conn_);
  if (outcome == nullptr) throw_connection_lost("waiting for " + copy_sql, false);
  while (PGresult *extra = PQgetResult(conn_)) PQclear(extra);
  last_used_ = Clock::now();
  if (logger_) {
    double millis = std::chrono::duration<double, std::milli>(last_used_ - started).count();
    char timing[64];
    std::snprintf(timing, sizeof timing, " [%zu bytes, %.3f ms]", data.size(), millis);
    logger_(copy_sql + timing);
  }
  if (PQresultStatus(outcome) != PGRES_COMMAND_OK) raise(outcome, false);
  std::int64_t rows = std::atoll(PQcmdTuples(outcome));
  PQclear(outcome);
  return rows;
}

Result PgConnection::execute(const Utilities &before, const std::string &sql,
                             const Params &params, const Utilities &after) {
  auto pipeline = plan(before, sql, params, after);
  if (!send(*pipeline))
    throw_connection_lost("sending " + pipeline->logged_sql, pipeline->commit_in_flight);
  while (!absorb(*pipeline, PQgetResult(conn_))) {
  }
  return conclude(*pipeline);
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

void PgConnection::execute_async(boost::asio::io_context &io, Utilities before, std::string sql,
                                 Params params, Utilities after, ResultHandler handler) {
  auto pipeline = plan(before, sql, std::move(params), after);
  pipeline->handler = std::move(handler);
  if (!watcher_ || watcher_->io != &io)
    watcher_ = std::make_unique<SocketWatcher>(io, PQsocket(conn_));
  PQsetnonblocking(conn_, 1);
  if (!send(*pipeline)) {
    finish_async(*pipeline, [&]() -> Result {
      throw_connection_lost("sending " + pipeline->logged_sql, pipeline->commit_in_flight);
    });
    return;
  }
  continue_async(std::move(pipeline));
}

void PgConnection::finish_async(Pipeline &pipeline, const std::function<Result()> &outcome) {
  std::exception_ptr error;
  Result result;
  try {
    result = outcome();
  } catch (...) {
    error = std::current_exception();
  }
  if (conn_ != nullptr) PQsetnonblocking(conn_, 0);
  auto handler = std::move(pipeline.handler);
  handler(error, std::move(result));
}

void PgConnection::continue_async(std::shared_ptr<Pipeline> pipeline) {
  int flushed = PQflush(conn_);
  if (flushed == -1) {
    finish_async(*pipeline, [&]() -> Result {
      throw_connection_lost("sending " + pipeline->logged_sql, pipeline->commit_in_flight);
    });
    return;
  }
  auto wait_type = flushed == 1 ? boost::asio::posix::stream_descriptor::wait_write
                                : boost::asio::posix::stream_descriptor::wait_read;
  watcher_->descriptor.async_wait(wait_type, [this, pipeline](const boost::system::error_code &) {
    try {
      if (PQconsumeInput(conn_) == 0)
        throw_connection_lost("waiting for " + pipeline->logged_sql, pipeline->commit_in_flight);
      while (PQisBusy(conn_) == 0) {
        if (absorb(*pipeline, PQgetResult(conn_))) {
          finish_async(*pipeline, [&] { return conclude(*pipeline); });
          return;
        }
      }
    } catch (...) {
      auto error = std::current_exception();
      finish_async(*pipeline, [&]() -> Result { std::rethrow_exception(error); });
      return;
    }
    continue_async(pipeline);
  });
}

} // namespace evcs::detail
