// Versioned schema migrations (docs/migrations.md): numbered SQL steps in a directory, applied in order,
// recorded in the database with their checksum, serialised by an advisory lock.
//
// A directory holds pairs NNNN_slug.up.sql + NNNN_slug.down.sql numbered 0001, 0002, ... with no
// gaps. Each step runs in its own transaction unless its leading comments say otherwise:
//   -- evcs: transactional=false   each statement runs outside a transaction block
//   -- evcs: batch                 the step's single statement is repeated, committing each run,
//                                  until it affects no rows
// The SDK's own catalog is a second, separate set of steps compiled into the engine
// (MigrationRunner::catalog). docs/migrations.md describes the format and the commands.
#pragma once

#include "evcs/params.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace evcs {

class Engine;
class Session;
namespace detail {
struct EngineState;
struct SessionState;
void ensure_catalog(SessionState &session);
} // namespace detail

// One statement of a SQL text and the 1-based line it starts on.
struct SqlStatement {
  std::string text;
  int line = 1;
};

// Splits SQL text at top-level semicolons. Quotes ('...', E'...', "..."), dollar-quoted bodies
// ($$...$$, $tag$...$tag$) and comments (--, nested /* */) are respected; comments and
// whitespace between statements are dropped. An unterminated quote or comment throws
// MigrationError naming `source` and the line where it opened.
std::vector<SqlStatement> split_sql_statements(const std::string &sql,
                                               const std::string &source = "SQL text");

// The 1-based line of the source that character `position` of `statement` is on (1-based,
// counted in characters as the server counts them in an error position).
int line_of_position(const SqlStatement &statement, int position);

// A step found in the migrations directory, or compiled in (the catalog's: their paths are
// "evcs:catalog/NNNN_slug.up.sql", naming the file of the evcs source they were built from).
struct MigrationStep {
  int version = 0;
  std::string slug;
  std::string up_path;
  std::string down_path;
  // SHA-256 of the up step's text, lowercase hex: what the database records and verify()
  // compares.
  std::string checksum;

  // "0003_add_index"
  std::string name() const;
};

// A step recorded as applied in the database.
struct AppliedMigration {
  int version = 0;
  std::string slug;
  std::string checksum;
  Timestamp applied_at;
  std::int64_t duration_ms = 0;
  // current_user, followed by " (author)" when the runner was given one.
  std::string applied_by;
};

// Progress of a batched step, reported after every batch that affected rows.
struct BatchProgress {
  std::string file;
  std::int64_t batch = 0;
  std::int64_t rows = 0;
  std::int64_t total_rows = 0;
};

struct MigrationOptions {
  // Recorded next to current_user in applied_by.
  std::string author;
  // Called after each batch of a batched step (on the calling thread).
  std::function<void(const BatchProgress &)> on_batch;
};

class MigrationRunner {
public:
  // The table that records applied steps (in the first schema of the search_path).
  static constexpr const char *record_table = "evcs_migration";
  // The advisory lock key that serialises runners on one database ('evcsmigr' as a bigint).
  static constexpr std::int64_t lock_key = 7311140392490592114;
  // The catalog's steps are numbered from 0001 like a user's, so they are recorded apart, in
  // their own table, and serialised by their own lock: the key engines before the catalog was
  // recorded took to create it, so those and this runner exclude each other too.
  static constexpr const char *catalog_record_table = "evcs_catalog_migration";
  static constexpr std::int64_t catalog_lock_key = 7310598;
  // What directory() says for the catalog runner, and the prefix of its steps' paths.
  static constexpr const char *catalog_directory = "evcs:catalog";

  // Reads and validates the directory: file names, numbering without gaps or duplicates, an up
  // and a down file for every step, directives. Throws MigrationError naming the offending file.
  // The texts are read once, here: a file edited afterwards is not what this runner runs.
  MigrationRunner(Engine &engine, std::string directory, MigrationOptions options = {});

  // The SDK's own catalog (the entity type registry, branches, commits, the EVCS DDL functions):
  // the steps of migrations/ in the evcs source, compiled into this engine, recorded in
  // evcs_catalog_migration. Every engine applies the pending ones on first use of a database,
  // so this runner is for looking (current() is the catalog's version, history(), verify()) and
  // for deliberate changes (downgrade, stamp). An upgrade of a database whose catalog an
  // earlier evcs installed without records first records the steps found in place (duration 0,
  // applied_by "user (recognised: created by an earlier evcs)"), then applies the rest.
  static MigrationRunner catalog(Engine &engine, MigrationOptions options = {});

  const std::string &directory() const noexcept { return directory_; }
  // Every step in the directory, in order.
  const std::vector<MigrationStep> &steps() const noexcept { return steps_; }

  // Applies the steps after the current one up to `target` ("head", a version such as "3" or
  // "0003", or "+N"); returns the steps applied (none when already there).
  std::vector<MigrationStep> upgrade(const std::string &target = "head");
  // Reverts applied steps down to `target` ("base", a version, or "-N"), newest first; returns
  // the steps reverted.
  std::vector<MigrationStep> downgrade(const std::string &target);
  // Offline mode: exactly the SQL upgrade/downgrade would run from the database's current
  // version (read, never changed), bookkeeping statements included, ";"-terminated.
  std::string upgrade_sql(const std::string &target = "head");
  std::string downgrade_sql(const std::string &target);

  // The newest applied version, or nullopt at base (nothing applied, or no record table yet).
  std::optional<int> current();
  // Applied steps, oldest first.
  std::vector<AppliedMigration> history();
  // Steps not applied yet, in order.
  std::vector<MigrationStep> pending();
  // Checks every applied step against its file: MigrationError naming the file whose checksum
  // changed or that disappeared. Applied migrations are never edited.
  void verify();
  // Records `target` ("head", "base", a version) as the current version without running any
  // step: rows above it are removed, missing rows up to it are added (duration 0).
  void stamp(const std::string &target);

  // Writes the next-numbered empty pair for `message` into `directory` (created if missing) and
  // returns the path of the up file. The slug is the message, lowercased, runs of other
  // characters replaced by "_".
  static std::string new_step(const std::string &directory, const std::string &message);

private:
  friend void detail::ensure_catalog(detail::SessionState &session);
  struct Plan;
  struct StepText {
    std::string up;
    std::string down;
  };

  // The catalog's runner on an engine's shared state (what ensure_catalog has).
  MigrationRunner(std::shared_ptr<detail::EngineState> engine, MigrationOptions options);
  // Steps 1..n the catalog has in place without records (an earlier evcs created it).
  int catalog_steps_in_place(Session &session) const;
  void add_step(int version, std::string slug, std::string up_path, std::string down_path,
                StepText text);
  Plan plan_upgrade(const std::string &target);
  Plan plan_downgrade(const std::string &target);
  std::vector<MigrationStep> run(const Plan &plan);
  std::vector<AppliedMigration> read_applied();
  // After the catalog went down or was stamped, the engine checks it again at its next use.
  void forget_catalog_state();
  void verify_against(const std::vector<AppliedMigration> &applied) const;
  const MigrationStep &step(int version) const;
  // "head", "base" or an existing version ("3", "0003", "0003_slug") as a number.
  int absolute_version(const std::string &target) const;
  // The same, or "+N"/"-N" from `current`, checked against the direction of travel.
  int resolve_version(const std::string &target, int current, bool upward) const;

  std::shared_ptr<detail::EngineState> engine_;
  std::string directory_;
  MigrationOptions options_;
  std::vector<MigrationStep> steps_;
  std::vector<StepText> texts_;
  const char *record_table_ = record_table;
  std::int64_t lock_key_ = lock_key;
  bool catalog_ = false;
  // When set, every transaction a run opens waits at most this long for a lock (SET LOCAL
  // lock_timeout, e.g. "3s"): a step that times out is rolled back instead of waiting.
  std::string lock_timeout_;
};

} // namespace evcs
