// A session's state, shared with its transactions and with async operations in flight.
#pragma once

#include "db/engine_state.hpp"
#include "evcs/result.hpp"
#include "evcs/session.hpp"
#include "pg/pg_connection.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace evcs::detail {

// What a staged merge's start read of the entities it merges, kept for its continue
// (src/merge.cpp).
struct MergePlanMemo;

// The advisory lock ('evcsstmp') a commit that writes versions holds from taking its stamp until
// it is visible. An as-of read waits for it, so that no commit stamped at or before the instant
// read can become visible afterwards: reads of the past are repeatable (docs/versioning.md).
constexpr const char *lock_commit_stamp = "SELECT pg_advisory_xact_lock(7311140392591977840)";
// JIT off for the rest of the transaction (a pipeline's statements share one even in autocommit
// mode), and back as it was; the value before is kept in a setting of the transaction, and a
// rolled-back savepoint that took it leaves the setting as it is.
constexpr const char *jit_off_for_the_statement =
    "SELECT set_config('evcs.jit_before', current_setting('jit'), true), "
    "set_config('jit', 'off', true)";
constexpr const char *jit_as_before =
    "SELECT set_config('jit', coalesce(nullif(current_setting('evcs.jit_before', true), ''), "
    "current_setting('jit')), true)";
constexpr const char *await_commits_in_flight =
    "SELECT pg_advisory_unlock_shared(7311140392591977840) "
    "FROM (SELECT pg_advisory_lock_shared(7311140392591977840)) AS in_flight";

struct SessionState : std::enable_shared_from_this<SessionState> {
  // A transaction block the user opened: the explicit BEGIN (kind explicit) or a SAVEPOINT.
  struct Frame {
    std::uint64_t id;
    bool nested;
    std::string savepoint;
    // Whether its BEGIN/SAVEPOINT has reached the server (it is sent with the next statement).
    bool sent = false;
  };

  SessionState(std::shared_ptr<EngineState> engine, std::string branch, std::string author);

  // Marks the session in use for the duration of one operation; an operation of a repository
  // names its entity type, which errors then mention (fail_statement).
  class UseGuard {
  public:
    explicit UseGuard(SessionState &session);
    UseGuard(SessionState &session, const std::string &entity_type);
    ~UseGuard();
    UseGuard(const UseGuard &) = delete;
    UseGuard &operator=(const UseGuard &) = delete;
    // Hands the "in use" mark to an async operation, which clears it when it completes.
    void keep_until_completion() noexcept { owned_ = false; }

  private:
    SessionState &session_;
    bool owned_ = true;
  };

  // --- operations as plan (the SQL to send) + finish (the state change once it ran) ---
  // Statements that must precede the next user statement (BEGIN, SAVEPOINTs).
  Utilities take_prelude();
  // Statements that end the transaction (stamping the versions it wrote, and recording
  // `message`, before COMMIT); none if nothing reached the server.
  Batch plan_end(bool commit, const std::string &message = "") const;
  void finish_end(bool commit, const Result &result);
  // Statements that end frame `index` and every frame above it; none if none reached the server.
  Batch plan_frame_end(std::size_t index, bool commit) const;
  void finish_frame_end(std::size_t index);

  std::size_t frame_index(std::uint64_t frame_id) const;
  // Statements for the engine's own use, inside the session's transaction (beginning it).
  Result run(const std::string &sql, const Params &params);
  // A read as of `as_of` (now when unset): for a past instant, commits in flight are awaited
  // first, in the same round trip.
  Result run_as_of(const std::string &sql, const Params &params,
                   const std::optional<std::int64_t> &as_of);
  // run_as_of for a statement that probes an index once per row of thousands (a merge plan, a
  // diff): the server's JIT would spend longer compiling it than running it (a 10,000-entity
  // merge plan: about a second of compilation for 0.1 s of work), so it is off for that
  // statement; inside the caller's transaction it is back before the next statement.
  Result run_set_based(const std::string &sql, const Params &params,
                       const std::optional<std::int64_t> &as_of = std::nullopt);
  // What run_as_of and run_set_based share.
  Result run_statement(const std::string &sql, const Params &params,
                       const std::optional<std::int64_t> &as_of, bool without_jit);
  void run_script(const std::string &sql);
  // COPY … FROM STDIN of `data` (rows in COPY's text format), inside the session's transaction.
  std::int64_t copy_in(const std::string &copy_sql, const std::string &data);
  // Reads the latest committed stamp into the engine's settled_stamp (rate-limited).
  void learn_settled_stamp();
  void ensure_connection();
  void release_connection() noexcept;
  // After a failure: a lost connection is dropped and the transaction state cleared.
  void absorb_failure(std::exception_ptr error) noexcept;
  // Absorbs the exception being handled and throws it on. A repository's statements name the
  // columns of the definition it was opened with: one the table no longer has (or no table)
  // means the definition changed since, which the error then says.
  [[noreturn]] void fail_statement();
  // Stamps what the transaction wrote and commits it (nothing to send if nothing was sent).
  void commit(const std::string &message);
  // For an operation that commits by itself (a merge, a revert, create_many outside begin()):
  // MisuseError when the session's open transaction holds versions or changes made with raw SQL
  // (raw_changes_pending), which the operation would otherwise commit, or roll back when it
  // fails, behind the caller's back. `operation` completes "… before <operation>";
  // `hint` (if any) is appended.
  void require_nothing_uncommitted(const std::string &operation, const std::string &hint = "");
  // Notes what a statement the caller sent did to the open transaction (raw_changes_pending).
  void note_raw_statement(const Result &result);

  // For an operation that writes its versions already stamped instead of pending (a bulk
  // create, a merge): the stamp of the transaction's commit, taken under the locks evcs_finalize
  // takes (held until commit_stamped's COMMIT), so stamps still follow commit order.
  struct CommitStamp {
    std::string text;
    std::int64_t micros;
  };
  CommitStamp take_commit_stamp();
  // Records the commit in the log with `changes` versions written (a merge: with the source's
  // head as its second parent), and commits. Returns the commit's id.
  std::string commit_stamped(const CommitStamp &stamp, const std::string &log_branch,
                             const std::string &message, std::int64_t changes,
                             const std::string &merged_from = "",
                             const std::string &merge_parent = "");
  // Closes the transaction without a round trip (rolled back or never started).
  void forget_transaction() noexcept;
  // Rolls back and returns the connection, swallowing errors (destructors, close).
  void close_quietly() noexcept;

  // Runs `operation` on the I/O thread with the connection checked out; async.
  void async_with_connection(std::function<void(std::exception_ptr)> operation);
  // Sends `sql` (if any) on the I/O thread, then runs `finish` and reports to `handler`.
  void async_end(Batch statements, std::function<void(const Result &)> finish,
                 StatusHandler handler);
  // Takes `acquired` as the session's connection / gives it up (to return or discard it).
  void hold(std::unique_ptr<PgConnection> acquired) noexcept;
  std::unique_ptr<PgConnection> let_go() noexcept;
  // Clears the "in use" mark of a finished async operation (closing an orphaned session).
  void complete_async() noexcept;

  std::shared_ptr<EngineState> engine;
  std::string branch;
  std::string author;
  std::unique_ptr<PgConnection> connection;
  // Read by Session's getters from the caller's thread while the I/O thread may be running an
  // async operation of the session: atomics, written only where `connection` and the
  // transaction change hands.
  std::atomic<bool> transaction_open{false};
  std::atomic<int> held_backend_pid{0};
  bool transaction_sent = false;
  // A statement of run_set_based switched JIT off in the open transaction: the next statement
  // sent in it switches it back first.
  bool jit_restore_pending = false;
  std::vector<Frame> frames;
  // Entity types this transaction wrote versions of: their stamps are set at commit.
  std::set<std::string> written_types;
  // Catalog rows (branches) written with the pending stamp that the commit must set.
  bool catalog_stamp_pending = false;
  // The caller's own SQL changed something in the open transaction (a statement other than
  // SELECT, SHOW or SET; a SELECT of a function that writes is not seen).
  bool raw_changes_pending = false;
  // The branches this transaction merges from and into, recorded in the commit log.
  std::string merge_source;
  std::string merge_target;
  // Autocommit mode (Session::set_autocommit): outside begin(), each statement is its own
  // transaction and each repository write commits (stamped by itself).
  bool autocommit = false;
  // An operation of several statements holds a transaction in autocommit mode (OperationScope).
  bool operation_transaction = false;
  bool statements_autocommit() const {
    return autocommit && frames.empty() && !operation_transaction;
  }
  std::uint64_t next_frame_id = 1;
  std::uint64_t next_savepoint = 1;
  std::atomic<bool> in_use{false};
  // The entity type of the repository operation in progress (its name lives in the type's
  // definition, which the repository holds), or null.
  const std::string *entity_type_in_use = nullptr;
  // The Session handle was destroyed while an async operation ran: close at its completion.
  std::atomic<bool> orphaned{false};
  // The staged merge this session started: merge_continue and merge_status reuse its reads
  // while the target has no new commit.
  std::shared_ptr<MergePlanMemo> staged_plan;
};

// An operation of several statements that must land together (creating a branch, a merge, a
// bulk create): in autocommit mode it runs in a transaction of its own, which commit() commits
// and the destructor rolls back if it was not committed; otherwise it joins the session's
// transaction and commit() does nothing.
class OperationScope {
public:
  explicit OperationScope(SessionState &session)
      : session_(session), owned_(session.statements_autocommit()) {
    if (owned_) session_.operation_transaction = true;
  }
  ~OperationScope() {
    if (!owned_) return;
    if (session_.transaction_open) session_.close_quietly();
    session_.operation_transaction = false;
  }
  OperationScope(const OperationScope &) = delete;
  OperationScope &operator=(const OperationScope &) = delete;
  void commit() {
    if (owned_) session_.commit("");
  }

private:
  SessionState &session_;
  bool owned_;
};

} // namespace evcs::detail
