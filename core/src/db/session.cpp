#include "evcs/session.hpp"

#include "db/completion.hpp"
#include "db/io_service.hpp"
#include "db/session_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

namespace evcs {

namespace detail {

SessionState::SessionState(std::shared_ptr<EngineState> engine_state, std::string branch_name,
                           std::string author_name)
    : engine(std::move(engine_state)), branch(std::move(branch_name)),
      author(std::move(author_name)) {}

SessionState::UseGuard::UseGuard(SessionState &session) : session_(session) {
  if (session.in_use.exchange(true))
    throw MisuseError("this session is already in use by another thread or task (another "
                      "operation is in progress). A session belongs to one thread or task at a "
                      "time: open one session per thread/task.");
}

SessionState::UseGuard::UseGuard(SessionState &session, const std::string &entity_type)
    : UseGuard(session) {
  session.entity_type_in_use = &entity_type;
}

SessionState::UseGuard::~UseGuard() {
  session_.entity_type_in_use = nullptr;
  if (owned_) session_.in_use = false;
}

Utilities SessionState::take_prelude() {
  Utilities statements;
  if (statements_autocommit()) return statements;
  transaction_open = true;
  if (!transaction_sent) {
    statements.push_back("BEGIN");
    transaction_sent = true;
  }
  for (Frame &frame : frames) {
    if (frame.sent) continue;
    if (frame.nested) statements.push_back("SAVEPOINT " + frame.savepoint);
    frame.sent = true;
  }
  if (jit_restore_pending) {
    statements.push_back(jit_as_before);
    jit_restore_pending = false;
  }
  return statements;
}

Batch SessionState::plan_end(bool commit, const std::string &message) const {
  Batch batch;
  if (!connection || !transaction_sent) return batch;
  if (!commit) {
    batch.after = {"ROLLBACK"};
    return batch;
  }
  batch.after = {"COMMIT"};
  if (written_types.empty() && !catalog_stamp_pending) return batch;
  batch.before = {lock_commit_stamp};
  nlohmann::json types = nlohmann::json::array();
  for (const auto &type : written_types) types.push_back(type);
  batch.sql = "SELECT evcs_finalize(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)), $2, "
              "$3, $4, $5)";
  batch.params.add_json(types.dump()).add(merge_target.empty() ? branch : merge_target);
  if (author.empty()) batch.params.add_null();
  else batch.params.add(author);
  if (message.empty()) batch.params.add_null();
  else batch.params.add(message);
  if (merge_source.empty()) batch.params.add_null();
  else batch.params.add(merge_source);
  return batch;
}

void SessionState::finish_end(bool commit, const Result &result) {
  forget_transaction();
  release_connection();
  // PostgreSQL answers COMMIT of a failed transaction with a ROLLBACK tag, not an error.
  if (commit && result.command_tag() == "ROLLBACK")
    throw_server_error("25P02", "COMMIT rolled the transaction back because an earlier "
                                "statement in it failed");
}

Batch SessionState::plan_frame_end(std::size_t index, bool commit) const {
  const Frame &frame = frames[index];
  if (!frame.nested) return plan_end(commit);
  Batch batch;
  if (!frame.sent) return batch;
  if (commit) batch.after = {"RELEASE SAVEPOINT " + frame.savepoint};
  else batch.after = {"ROLLBACK TO SAVEPOINT " + frame.savepoint,
                      "RELEASE SAVEPOINT " + frame.savepoint};
  return batch;
}

void SessionState::finish_frame_end(std::size_t index) { frames.resize(index); }

std::size_t SessionState::frame_index(std::uint64_t frame_id) const {
  for (std::size_t index = 0; index < frames.size(); ++index)
    if (frames[index].id == frame_id) return index;
  throw MisuseError("this transaction is no longer active (it was already committed or rolled "
                    "back, or an enclosing transaction ended)");
}

Result SessionState::run(const std::string &sql, const Params &params) {
  return run_as_of(sql, params, std::nullopt);
}

std::int64_t SessionState::copy_in(const std::string &copy_sql, const std::string &data) {
  try {
    ensure_connection();
    return connection->copy_in(take_prelude(), copy_sql, data);
  } catch (...) {
    fail_statement();
  }
}

Result SessionState::run_as_of(const std::string &sql, const Params &params,
                               const std::optional<std::int64_t> &as_of) {
  return run_statement(sql, params, as_of, false);
}

Result SessionState::run_set_based(const std::string &sql, const Params &params,
                                   const std::optional<std::int64_t> &as_of) {
  return run_statement(sql, params, as_of, true);
}

Result SessionState::run_statement(const std::string &sql, const Params &params,
                                   const std::optional<std::int64_t> &as_of, bool without_jit) {
  const bool settled = !as_of || *as_of <= engine->settled_stamp.load();
  Result result;
  try {
    ensure_connection();
    Utilities before = take_prelude();
    if (!settled) before.push_back(await_commits_in_flight);
    if (without_jit) before.push_back(jit_off_for_the_statement);
    result = connection->execute(before, sql, params);
    if (without_jit && !statements_autocommit()) jit_restore_pending = true;
  } catch (...) {
    fail_statement();
  }
  if (!settled) learn_settled_stamp();
  return result;
}

void SessionState::fail_statement() {
  absorb_failure(std::current_exception());
  try {
    throw;
  } catch (const InvalidArgument &error) {
    const bool definition_gone = error.sqlstate() == "42703" || error.sqlstate() == "42P01";
    if (entity_type_in_use == nullptr || !definition_gone) throw;
    throw InvalidArgument(std::string(error.what()) + ": the definition of entity type '" +
                              *entity_type_in_use +
                              "' changed since this repository was opened; open it again "
                              "(repository(\"" + *entity_type_in_use + "\"))",
                          error.sqlstate(), error.detail_json());
  }
}

void SessionState::learn_settled_stamp() {
  // At most once a second per engine: an instant later than every commit (a read of "just
  // now") stays unsettled however often the stamp is read.
  using namespace std::chrono;
  const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
  std::int64_t read_at = engine->settled_stamp_read_at.load();
  if (now - read_at < duration_cast<nanoseconds>(seconds(1)).count() ||
      !engine->settled_stamp_read_at.compare_exchange_strong(read_at, now))
    return;
  Result last = run("SELECT last_stamp FROM evcs_clock WHERE id = 1 AND last_stamp > '-infinity'",
                    Params());
  if (last.rows() == 0) return;
  std::int64_t stamp = last.get_timestamp(0, 0);
  std::int64_t known = engine->settled_stamp.load();
  while (known < stamp && !engine->settled_stamp.compare_exchange_weak(known, stamp)) {
  }
}

void SessionState::run_script(const std::string &sql) {
  try {
    ensure_connection();
    Utilities prelude = take_prelude();
    if (!prelude.empty()) connection->execute(prelude, "", Params());
    connection->execute_script(sql);
  } catch (...) {
    absorb_failure(std::current_exception());
    throw;
  }
}

void SessionState::hold(std::unique_ptr<PgConnection> acquired) noexcept {
  connection = std::move(acquired);
  held_backend_pid = connection ? connection->backend_pid() : 0;
}

std::unique_ptr<PgConnection> SessionState::let_go() noexcept {
  held_backend_pid = 0;
  return std::move(connection);
}

void SessionState::ensure_connection() {
  if (!connection) hold(engine->pool->acquire());
}

void SessionState::release_connection() noexcept {
  if (connection) engine->pool->release(let_go());
}

void SessionState::require_nothing_uncommitted(const std::string &operation,
                                               const std::string &hint) {
  std::string held;
  if (!written_types.empty() || catalog_stamp_pending || !merge_source.empty())
    held = "versions";
  else if (raw_changes_pending)
    held = "changes made with raw SQL";
  if (!held.empty())
    throw MisuseError("this session holds uncommitted " + held + ": commit or roll them back "
                      "before " + operation + hint);
}

void SessionState::commit(const std::string &message) {
  try {
    Batch statements = plan_end(true, message);
    Result result = statements.empty() ? Result() : connection->execute(statements);
    finish_end(true, result);
  } catch (...) {
    absorb_failure(std::current_exception());
    throw;
  }
}

SessionState::CommitStamp SessionState::take_commit_stamp() {
  try {
    ensure_connection();
    Utilities before = take_prelude();
    before.push_back(lock_commit_stamp);
    Result stamp = connection->execute(before,
                                       "SELECT greatest(clock_timestamp(), last_stamp + interval "
                                       "'1 microsecond') FROM evcs_clock WHERE id = 1 FOR UPDATE",
                                       Params());
    return {stamp.get_text(0, 0), stamp.get_timestamp(0, 0)};
  } catch (...) {
    absorb_failure(std::current_exception());
    throw;
  }
}

std::string SessionState::commit_stamped(const CommitStamp &stamp, const std::string &log_branch,
                                         const std::string &message, std::int64_t changes,
                                         const std::string &merged_from,
                                         const std::string &merge_parent) {
  auto text_or_null = [](const std::string &text) {
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
  };
  Params params = Params::of(stamp.text, log_branch);
  params.add(text_or_null(author)).add(text_or_null(message)).add(changes);
  params.add(text_or_null(merged_from)).add(text_or_null(merge_parent));
  try {
    // The log's trigger gives the commit its id and first parent (docs/versioning.md).
    Result logged = connection->execute(
        {}, "WITH clock AS (UPDATE evcs_clock SET last_stamp = $1::timestamptz WHERE id = 1) "
            "INSERT INTO evcs_commit (stamp, branch, author, message, changes, merged_from, "
            "parents) VALUES ($1::timestamptz, $2, $3, $4, $5::int, $6, "
            "array_remove(ARRAY[$7::text], NULL)) RETURNING commit_id",
        params);
    std::string commit_id = logged.get_text(0, 0);
    finish_end(true, connection->execute({}, "", Params(), {"COMMIT"}));
    return commit_id;
  } catch (...) {
    absorb_failure(std::current_exception());
    throw;
  }
}

void SessionState::note_raw_statement(const Result &result) {
  if (!transaction_open) return;
  std::string tag = result.command_tag();
  std::string verb = tag.substr(0, tag.find(' '));
  if (verb != "SELECT" && verb != "SHOW" && verb != "SET") raw_changes_pending = true;
}

void SessionState::forget_transaction() noexcept {
  transaction_open = false;
  raw_changes_pending = false;
  transaction_sent = false;
  frames.clear();
  written_types.clear();
  catalog_stamp_pending = false;
  merge_source.clear();
  merge_target.clear();
  jit_restore_pending = false;
}

void SessionState::absorb_failure(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const ConnectionLost &) {
    forget_transaction();
    engine->pool->discard(let_go());
  } catch (...) {
  }
}

void SessionState::close_quietly() noexcept {
  try {
    Batch statements = plan_end(false);
    if (!statements.empty()) connection->execute(statements);
  } catch (...) {
    engine->pool->discard(let_go());
  }
  forget_transaction();
  release_connection();
}

void SessionState::complete_async() noexcept {
  in_use = false;
  if (orphaned && !in_use.exchange(true)) {
    close_quietly();
    in_use = false;
  }
}

void SessionState::async_with_connection(std::function<void(std::exception_ptr)> operation) {
  auto self = shared_from_this();
  boost::asio::post(io_context(), [self, operation = std::move(operation)]() mutable {
    if (self->connection) {
      operation(nullptr);
      return;
    }
    self->engine->pool->async_acquire(
        io_context(), [self, operation](std::exception_ptr error, Pool::ConnectionPtr acquired) {
          if (!error) self->hold(std::move(acquired));
          operation(error);
        });
  });
}

void SessionState::async_end(Batch statements, std::function<void(const Result &)> finish,
                             StatusHandler handler) {
  auto self = shared_from_this();
  auto complete = [self, finish, handler](std::exception_ptr error, Result result) mutable {
    if (!error) {
      try {
        finish(result);
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (error) self->absorb_failure(error);
    self->complete_async();
    invoke_handler(handler, error);
  };
  boost::asio::post(io_context(), [self, statements = std::move(statements), complete]() mutable {
    if (statements.empty() || !self->connection) {
      complete(nullptr, Result());
      return;
    }
    self->connection->execute_async(io_context(), std::move(statements.before),
                                    std::move(statements.sql), std::move(statements.params),
                                    std::move(statements.after), complete);
  });
}

} // namespace detail

using detail::SessionState;
using detail::Batch;

Session::Session(std::shared_ptr<detail::EngineState> engine, std::string branch, std::string author)
    : state_(std::make_shared<SessionState>(std::move(engine), std::move(branch),
                                            std::move(author))) {
  require_utf8(state_->branch, "the branch name");
  require_utf8(state_->author, "the author name");
}

Session::~Session() {
  if (!state_) return;
  state_->orphaned = true;
  if (!state_->in_use.exchange(true)) {
    state_->close_quietly();
    state_->in_use = false;
  }
}

Session::Session(Session &&) noexcept = default;
Session &Session::operator=(Session &&other) noexcept {
  if (this != &other) {
    Session discarded(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

Result Session::execute(const std::string &sql, const Params &params) {
  require_utf8(sql, "the SQL text");
  SessionState::UseGuard guard(*state_);
  Result result = state_->run(sql, params);
  state_->note_raw_statement(result);
  return result;
}

Result Session::execute_autocommit(const std::string &sql) {
  require_utf8(sql, "the SQL text");
  SessionState::UseGuard guard(*state_);
  if (state_->transaction_open)
    throw MisuseError("execute_autocommit runs a statement outside any transaction, but a "
                      "transaction is in progress on this session: commit or roll it back first");
  try {
    state_->ensure_connection();
    // Sent as a lone utility (no BEGIN, not prepared): the server runs it in its own implicit
    // transaction, which is what non-transactional statements require.
    return state_->connection->execute({sql}, "", Params());
  } catch (...) {
    state_->absorb_failure(std::current_exception());
    throw;
  }
}

void Session::commit(const std::string &message) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*state_);
  state_->commit(message);
}

void Session::set_autocommit(bool on) {
  SessionState::UseGuard guard(*state_);
  if (state_->transaction_open)
    throw MisuseError("autocommit can only change between transactions, and one is in progress "
                      "on this session: commit or roll it back first");
  state_->autocommit = on;
}

bool Session::autocommit() const noexcept { return state_->autocommit; }

void Session::rollback() {
  SessionState::UseGuard guard(*state_);
  state_->close_quietly();
}

void Session::close() { rollback(); }

Transaction Session::begin() {
  SessionState::UseGuard guard(*state_);
  if (state_->transaction_open)
    throw MisuseError("a transaction is already in progress on this session (begun by begin() or "
                      "implicitly by an earlier statement): commit or roll it back first, or use "
                      "begin_nested() for a savepoint");
  state_->transaction_open = true;
  std::uint64_t id = state_->next_frame_id++;
  state_->frames.push_back({id, false, "", false});
  return Transaction(state_, id, false);
}

Transaction Session::begin_nested() {
  SessionState::UseGuard guard(*state_);
  state_->transaction_open = true;
  std::uint64_t id = state_->next_frame_id++;
  state_->frames.push_back({id, true, "evcs_sp" + std::to_string(state_->next_savepoint++), false});
  return Transaction(state_, id, true);
}

void Session::run_in_transaction(const std::function<void(Session &)> &fn, int attempts) {
  if (attempts < 1) throw InvalidArgument("run_in_transaction needs attempts >= 1");
  if (state_->transaction_open)
    throw MisuseError("run_in_transaction needs a session with no transaction in progress, so "
                      "that it can re-run the whole transaction: commit or roll back first");
  auto roll_back_after_failure = [this] {
    try {
      rollback();
    } catch (...) {
    }
  };
  for (int attempt = 1;; ++attempt) {
    try {
      // In autocommit mode fn's statements would each commit: the attempt needs one transaction.
      std::optional<Transaction> attempt_transaction;
      if (state_->autocommit) attempt_transaction.emplace(begin());
      fn(*this);
      if (attempt_transaction) attempt_transaction->commit();
      else commit();
      return;
    } catch (const Error &error) {
      roll_back_after_failure();
      if (!error.retryable() || attempt >= attempts) throw;
    } catch (...) {
      roll_back_after_failure();
      throw;
    }
  }
}

void Session::async_execute(const std::string &sql, const Params &params, ResultHandler handler) {
  require_utf8(sql, "the SQL text");
  SessionState::UseGuard guard(*state_);
  auto self = state_;
  self->async_with_connection([self, sql, params, handler](std::exception_ptr error) mutable {
    auto complete = [self, handler](std::exception_ptr failure, Result result) mutable {
      if (failure) self->absorb_failure(failure);
      else self->note_raw_statement(result);
      self->complete_async();
      detail::invoke_handler(handler, failure, std::move(result));
    };
    if (error) {
      complete(error, Result());
      return;
    }
    self->connection->execute_async(detail::io_context(), self->take_prelude(), sql,
                                    std::move(params), {}, complete);
  });
  guard.keep_until_completion();
}

void Session::async_commit(const std::string &message, StatusHandler handler) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*state_);
  auto self = state_;
  self->async_end(self->plan_end(true, message),
                  [self](const Result &result) { self->finish_end(true, result); },
                  std::move(handler));
  guard.keep_until_completion();
}

void Session::async_rollback(StatusHandler handler) {
  SessionState::UseGuard guard(*state_);
  auto self = state_;
  self->async_end(self->plan_end(false),
                  [self](const Result &result) { self->finish_end(false, result); },
                  std::move(handler));
  guard.keep_until_completion();
}

void Session::async_close(StatusHandler handler) { async_rollback(std::move(handler)); }

std::future<Result> Session::execute_async(const std::string &sql, const Params &params) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  async_execute(sql, params, detail::fulfil<Result>(promise));
  return future;
}

std::future<void> Session::commit_async(const std::string &message) {
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  async_commit(message, detail::fulfil_void(promise));
  return future;
}

std::future<void> Session::rollback_async() {
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  async_rollback(detail::fulfil_void(promise));
  return future;
}

bool Session::in_transaction() const { return state_->transaction_open; }
const std::string &Session::branch() const { return state_->branch; }
const std::string &Session::author() const { return state_->author; }
int Session::backend_pid() const { return state_->held_backend_pid; }

// ---- Transaction ------------------------------------------------------------------------------

Transaction::Transaction(std::shared_ptr<SessionState> session, std::uint64_t frame_id, bool nested)
    : session_(std::move(session)), frame_id_(frame_id), nested_(nested) {}

Transaction::Transaction(Transaction &&other) noexcept
    : session_(std::move(other.session_)), frame_id_(other.frame_id_), nested_(other.nested_) {}

Transaction::~Transaction() {
  if (!session_ || !is_active()) return;
  try {
    rollback();
  } catch (...) {
  }
}

bool Transaction::is_active() const {
  if (!session_) return false;
  for (const auto &frame : session_->frames)
    if (frame.id == frame_id_) return true;
  return false;
}

namespace {
void end_frame(SessionState &session, std::uint64_t frame_id, bool commit) {
  SessionState::UseGuard guard(session);
  try {
    std::size_t index = session.frame_index(frame_id);
    Batch statements = session.plan_frame_end(index, commit);
    Result result = statements.empty() ? Result() : session.connection->execute(statements);
    if (session.frames[index].nested) session.finish_frame_end(index);
    else session.finish_end(commit, result);
  } catch (...) {
    session.absorb_failure(std::current_exception());
    throw;
  }
}

void async_end_frame(const std::shared_ptr<SessionState> &session, std::uint64_t frame_id,
                     bool commit, StatusHandler handler) {
  SessionState::UseGuard guard(*session);
  std::size_t index = session->frame_index(frame_id);
  bool nested = session->frames[index].nested;
  session->async_end(session->plan_frame_end(index, commit),
                     [session, index, nested, commit](const Result &result) {
                       if (nested) session->finish_frame_end(index);
                       else session->finish_end(commit, result);
                     },
                     std::move(handler));
  guard.keep_until_completion();
}
} // namespace

void Transaction::commit() {
  if (!session_) throw MisuseError("this transaction handle was moved from");
  end_frame(*session_, frame_id_, true);
}

void Transaction::rollback() {
  if (!session_) throw MisuseError("this transaction handle was moved from");
  end_frame(*session_, frame_id_, false);
}

void Transaction::async_commit(StatusHandler handler) {
  if (!session_) throw MisuseError("this transaction handle was moved from");
  async_end_frame(session_, frame_id_, true, std::move(handler));
}

void Transaction::async_rollback(StatusHandler handler) {
  if (!session_) throw MisuseError("this transaction handle was moved from");
  async_end_frame(session_, frame_id_, false, std::move(handler));
}

} // namespace evcs
