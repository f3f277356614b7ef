// Sessions (units of work) and transactions (docs/architecture.md).
//
// Thread contract: a session belongs to one thread (or one task) at a time. Concurrent use is
// detected and raises MisuseError instead of corrupting state.
#pragma once

#include "evcs/error.hpp"
#include "evcs/merge.hpp"
#include "evcs/params.hpp"
#include "evcs/result.hpp"
#include "evcs/versioning.hpp"

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <string>

namespace evcs {

namespace detail {
struct EngineState;
struct SessionState;
} // namespace detail

class Transaction;

using StatusHandler = std::function<void(std::exception_ptr error)>;

class Session {
public:
  Session(std::shared_ptr<detail::EngineState> engine, std::string branch, std::string author);
  // Rolls back anything uncommitted and returns the connection.
  ~Session();
  Session(Session &&) noexcept;
  Session &operator=(Session &&) noexcept;

  // Raw SQL with server-side parameters ($1, $2, ...); begins a transaction if none is active.
  Result execute(const std::string &sql, const Params &params = {});
  template <typename T> std::optional<T> scalar(const std::string &sql, const Params &params = {}) {
    return execute(sql, params).scalar<T>();
  }

  // Runs one parameterless statement outside any transaction block, for statements PostgreSQL
  // refuses inside one (CREATE INDEX CONCURRENTLY, VACUUM); it commits on its own. MisuseError
  // while a transaction is in progress. The session keeps its connection afterwards (until
  // commit, rollback or close), so consecutive calls share one server session.
  Result execute_autocommit(const std::string &sql);

  // Commits the current transaction (if any) and returns the connection to the pool.
  // `message` is recorded in the commit log when the transaction wrote versions.
  void commit(const std::string &message = "");
  void rollback();
  // Autocommit mode (psycopg's `autocommit`, SQLAlchemy's AUTOCOMMIT): outside begin(), each
  // statement is its own transaction, and each repository write commits by itself in one round
  // trip — the write stamps its version and logs its commit (no message) instead of leaving
  // that to commit(). Operations of several statements (create_branch, merge, create_many)
  // still land whole. begin() opens a transaction as usual; commit() and rollback() with none
  // open do nothing. Off by default; MisuseError while a transaction is in progress.
  void set_autocommit(bool on);
  bool autocommit() const noexcept;
  // Rolls back anything uncommitted and returns the connection; the session stays usable.
  void close();

  // An explicit transaction; MisuseError if one is already in progress.
  Transaction begin();
  // A savepoint inside the current transaction (beginning one if needed).
  Transaction begin_nested();

  // Declares a versioned entity type: head table, version table with its constraints and
  // indexes, the <name>_current view, and the triggers that hold its references, unique keys
  // and checks on every branch (IntegrityError at commit for a write that breaks one).
  // Transactional: it lands with the commit.
  void create_entity_type(const std::string &name, const std::vector<ColumnDefinition> &columns,
                          const EntityConstraints &constraints = {});
  // The repository of one entity type, working on this session's branch and transaction.
  Repository repository(const std::string &entity_type);
  // Column changes of an entity type (docs/migrations.md), usable inside a migration: each changes the
  // version table, the <name>_current view, the write function and the catalog together, in
  // the session's transaction, and keeps every version. Take repositories after the change.
  // A new column reads NULL in the versions written before it; `default_value` (a literal of
  // its type) is what entities created afterwards get when they leave it out, and is required
  // for a "not null" column of a type that has versions (they are given it). NotFound for an
  // unknown type or column; InvalidArgument for invalid names and types, a name already in
  // use, or evcs's own columns (head_id, branch, version, valid_from, ...).
  void add_column(const std::string &entity_type, const ColumnDefinition &column,
                  const std::optional<std::string> &default_value = std::nullopt);
  void drop_column(const std::string &entity_type, const std::string &column);
  void rename_column(const std::string &entity_type, const std::string &column,
                     const std::string &new_name);
  // `column` of add_column may be a reference ({"owner_id", "", "person", "set null"}): the
  // column is added, then add_reference makes it one.

  // Relation changes of an existing entity type (docs/relations.md), usable inside a migration:
  // each changes the catalog, the storage constraints and the triggers of the types concerned
  // in the session's transaction. A rule added must hold for the data already there: a
  // reference for every live entity of every branch (and every version's value must name an
  // entity of the type referred to), a unique key among the live entities of every branch, a
  // check for every version, history included; otherwise IntegrityError names an entity that
  // breaks it and nothing changes. NotFound for an unknown type, column, key or check;
  // InvalidArgument for a column that is not uuid, an on_delete other than "restrict",
  // "cascade" or "set null" ("set null" on a not null column), a rule declared already.
  void add_reference(const std::string &entity_type, const std::string &column,
                     const std::string &references, const std::string &on_delete = "restrict");
  // The column stays, holding its values, and no longer refers to anything.
  void drop_reference(const std::string &entity_type, const std::string &column);
  // Changes what a delete of the entity referred to does to the entities referring to it.
  void alter_reference(const std::string &entity_type, const std::string &column,
                       const std::string &on_delete);
  void add_unique_key(const std::string &entity_type, const std::vector<std::string> &columns);
  // Drops the key of exactly these columns, in this order.
  void drop_unique_key(const std::string &entity_type, const std::vector<std::string> &columns);
  // A check is a named SQL boolean expression over the columns, e.g. ("positive_qty",
  // "qty > 0"); to change one, drop it and add it again.
  void add_check(const std::string &entity_type, const std::string &name,
                 const std::string &expression);
  void drop_check(const std::string &entity_type, const std::string &name);

  // Branches (docs/versioning.md). A new branch copies nothing: reads fall through to its parent, as of
  // the fork point (mode "snapshot", the commit that creates it) or as of the same instant
  // (mode "live"). Locked and archived branches reject writes with BranchLocked.
  // `as_of` forks a snapshot branch from the parent's state at that past instant instead
  // (InvalidArgument for a live branch or an instant in the future).
  void create_branch(const std::string &name, const std::string &from_branch = "main",
                     const std::string &mode = "snapshot",
                     std::optional<std::int64_t> as_of = std::nullopt);
  std::vector<BranchInfo> branches();
  void lock_branch(const std::string &name);
  void unlock_branch(const std::string &name);
  void archive_branch(const std::string &name);

  // Every entity that differs between two branches (at `as_of`, default now), from the
  // source's point of view: added, deleted or modified, with per-field {old: target, new: source}.
  std::vector<EntityDiff> diff(const std::string &source, const std::string &target = "main",
                               std::optional<std::int64_t> as_of = std::nullopt);
  // The entities that differ between two states of one branch's history (or of any two
  // commits): `from` and `to` are commits (id, prefix, tag or branch head) or instants of
  // `branch` (default: the session's).
  std::vector<EntityDiff> diff_history(const HistoryPoint &from, const HistoryPoint &to,
                                       const std::optional<std::string> &branch = std::nullopt);
  // A three-way merge of the source's head into `into` (default: the source's parent; any
  // branch works: a parent into its branch, between siblings). The base is the merge base of
  // the two heads in the commit graph, per entity its state there; theirs is the source at its
  // head, ours the target now. strategy "fail" raises MergeConflict (detail: the conflicts
  // without a resolution) and writes nothing; "theirs"/"ours" settle the rest toward that side.
  // One transaction, which merge() commits (all of it lands or none); its commit has the
  // target's head and the source's head as parents. The session must hold no uncommitted
  // versioned writes.
  MergeResult merge(const std::string &source, const MergeOptions &options);
  MergeResult merge(const std::string &source, const std::optional<std::string> &into = std::nullopt,
                    const std::string &strategy = "fail", const std::string &message = "");
  // What merge would write and the conflicts, writing nothing.
  MergeResult merge_preview(const std::string &source, const MergeOptions &options);
  MergeResult merge_preview(const std::string &source,
                            const std::optional<std::string> &into = std::nullopt,
                            const std::string &strategy = "fail");
  // A staged merge (as Dolt's conflicts table and merge --continue/--abort): merge_start
  // records the merge into its target (one per target branch), pinned to the source's head,
  // and writes no version; merge_resolve adds resolutions (each must match a conflict found
  // at the start) and returns those conflicts with how each is settled, without planning the
  // merge again; merge_status plans it again against the target now; merge_continue commits it (with
  // MergeConflict while conflicts are unsettled); merge_abort forgets it. `target` default:
  // the session's branch.
  MergeResult merge_start(const std::string &source, const MergeOptions &options = {});
  MergeResult merge_status(const std::optional<std::string> &target = std::nullopt);
  MergeResult merge_resolve(const std::vector<ConflictResolution> &resolutions,
                            const std::optional<std::string> &target = std::nullopt);
  MergeResult merge_continue(const std::optional<std::string> &target = std::nullopt,
                             const std::string &message = "");
  void merge_abort(const std::optional<std::string> &target = std::nullopt);

  // Commits (docs/versioning.md). `ref`: a commit id, a unique prefix of at least four hex
  // digits, a tag or a branch (its head). NotFound for none.
  CommitInfo commit_info(const std::string &ref);
  // The merge base of two commits (refs), or nothing when they share no commit.
  std::optional<CommitInfo> merge_base(const std::string &first, const std::string &second);
  // Names a commit (default: the head of the session's branch); InvalidArgument if the tag exists.
  TagInfo tag(const std::string &name, const std::string &commit = "",
              const std::string &message = "");
  std::vector<TagInfo> tags();
  void delete_tag(const std::string &name);
  // A new commit on `options.into` (default: the session's branch) applying the inverse of
  // one commit, field by field (of a merge: relative to its first parent); changes made since
  // to the same fields are conflicts, settled as a merge's.
  MergeResult revert_commit(const std::string &commit, const MergeOptions &options = {});
  // A new commit on `options.into` (default: the session's branch) applying one commit's
  // changes, field by field, conflicts as a merge's.
  MergeResult cherry_pick(const std::string &commit, const MergeOptions &options = {});

  // The commit log, newest first: who changed what, when (docs/versioning.md).
  std::vector<CommitInfo> commit_log(const CommitLogOptions &options = {});

  // Runs fn in a transaction and commits, retrying the whole of it on serialization failures,
  // deadlocks and connections lost before the outcome was in doubt; `attempts` in all.
  void run_in_transaction(const std::function<void(Session &)> &fn, int attempts = 3);

  // Async forms: the handler runs on the engine's I/O thread. While one is pending the session
  // is in use (MisuseError for any other call).
  void async_execute(const std::string &sql, const Params &params, ResultHandler handler);
  void async_commit(const std::string &message, StatusHandler handler);
  void async_rollback(StatusHandler handler);
  void async_close(StatusHandler handler);
  std::future<Result> execute_async(const std::string &sql, const Params &params = {});
  std::future<void> commit_async(const std::string &message = "");
  std::future<void> rollback_async();

  bool in_transaction() const;
  const std::string &branch() const;
  const std::string &author() const;
  // The backend pid of the checked-out connection, 0 when none.
  int backend_pid() const;

  const std::shared_ptr<detail::SessionState> &state() const noexcept { return state_; }

private:
  std::shared_ptr<detail::SessionState> state_;
};

class Transaction {
public:
  Transaction(std::shared_ptr<detail::SessionState> session, std::uint64_t frame_id, bool nested);
  // Rolls back if still active (never throws).
  ~Transaction();
  Transaction(Transaction &&) noexcept;
  Transaction &operator=(Transaction &&) = delete;

  void commit();
  void rollback();
  void async_commit(StatusHandler handler);
  void async_rollback(StatusHandler handler);
  bool is_active() const;
  bool is_nested() const noexcept { return nested_; }

private:
  std::shared_ptr<detail::SessionState> session_;
  std::uint64_t frame_id_;
  bool nested_;
};

} // namespace evcs
