// The SDK's own catalog (docs/architecture.md, docs/migrations.md): the steps of migrations/, compiled in, applied by the
// migration runner and recorded in evcs_catalog_migration, apart from a user's own steps.
#include "catalog/entity_type.hpp"
#include "catalog_steps.hpp"
#include "db/engine_state.hpp"
#include "db/session_state.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/migrations.hpp"
#include "evcs/session.hpp"

namespace evcs {

MigrationRunner MigrationRunner::catalog(Engine &engine, MigrationOptions options) {
  return MigrationRunner(engine.state(), std::move(options));
}

MigrationRunner::MigrationRunner(std::shared_ptr<detail::EngineState> engine,
                                 MigrationOptions options)
    : engine_(std::move(engine)), directory_(catalog_directory), options_(std::move(options)),
      record_table_(catalog_record_table), lock_key_(catalog_lock_key), catalog_(true) {
  // CMake compiled the steps in number order from 0001 without gaps.
  for (const auto &compiled : detail::catalog_steps) {
    std::string name = compiled.name;
    std::size_t separator = name.find('_');
    std::string path = directory_ + "/" + name;
    add_step(std::stoi(name.substr(0, separator)), name.substr(separator + 1), path + ".up.sql",
             path + ".down.sql", {compiled.up, compiled.down});
  }
}

int MigrationRunner::catalog_steps_in_place(Session &session) const {
  // Engines before the catalog was recorded ran 0001-0002, later 0001-0003, as one script,
  // without records; every later step is recorded, so these three are all there is to
  // recognise. Each is known by the objects it added last.
  return static_cast<int>(
      session
          .scalar<std::int64_t>(
              "SELECT CASE WHEN to_regclass('evcs_branch_base') IS NULL OR "
              "to_regprocedure('evcs_finalize(text[], text, text, text, text)') IS NULL THEN 0 "
              "WHEN to_regprocedure('evcs_drop_entity_type(text)') IS NULL THEN 1 "
              "WHEN to_regprocedure('evcs_stamp_single_write(text, text)') IS NULL THEN 2 "
              "ELSE 3 END")
          .value_or(0));
}

} // namespace evcs

namespace evcs::detail {

namespace {

// How long the catalog's upgrade waits for a lock while the caller's own transaction is open.
const char *const caller_transaction_lock_timeout = "3s";

} // namespace

void ensure_catalog(SessionState &session) {
  if (session.engine->catalog_ready) return;
  // The upgrade runs on connections of its own, so the caller's transaction never carries the
  // catalog's DDL. That caller is blocked here until the upgrade ends: if its open transaction
  // holds a lock a step needs, neither can go on, and the server cannot see the cycle (the
  // caller waits in the client). Its waits for locks are then bounded, and a step that runs out
  // of time is rolled back and reported. A caller with no transaction open holds no locks, and
  // other transactions end on their own: then the upgrade waits as any DDL does.
  MigrationRunner catalog(session.engine, {});
  auto applied = catalog.read_applied();
  // A newer engine may have gone further: its steps are the ones this engine's catalog has, and
  // more.
  if (applied.empty() || applied.back().version < static_cast<int>(catalog.steps().size())) {
    if (session.transaction_sent) catalog.lock_timeout_ = caller_transaction_lock_timeout;
    try {
      catalog.upgrade();
    } catch (const MigrationError &error) {
      if (error.sqlstate() != "55P03") throw;
      throw MigrationError(
          std::string("the evcs catalog of this database must be upgraded to this engine's "
                      "version before this operation, and the upgrade waited more than ") +
              caller_transaction_lock_timeout +
              " for a lock held by an open transaction, probably this session's own: commit or "
              "roll back, then retry; or upgrade the catalog before starting the transaction "
              "(`evcs migrate upgrade --catalog`). " + error.what(),
          error.sqlstate());
    }
  }
  session.engine->catalog_ready = true;
}

} // namespace evcs::detail
