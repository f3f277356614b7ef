// Schema migrations (docs/migrations.md) and verified backup/restore (docs/backup.md) through the C ABI. Steps and
// records cross as JSON text; this file only translates between that text and the core's types.
#include "capi_internal.hpp"

#include "evcs/backup.hpp"
#include "evcs/migrations.hpp"

#include <optional>

using namespace evcs::capi;
using json = nlohmann::json;

namespace {

// A reference on a C engine handle, released even when the constructor it is part of throws.
class EngineReference {
public:
  explicit EngineReference(evcs_engine &engine) noexcept : engine_(retain_engine(engine)) {}
  ~EngineReference() { release_engine(engine_); }
  EngineReference(const EngineReference &) = delete;
  EngineReference &operator=(const EngineReference &) = delete;

private:
  evcs_engine *engine_;
};

} // namespace

// The runner refers to the engine object itself (not only its shared state), so it holds a
// reference on the C engine handle. The batch callback lives here rather than in the core
// runner's options, so that it can be set and replaced after the runner is opened.
struct evcs_migration_runner {
  // The steps of `directory`, or the catalog's without one.
  evcs_migration_runner(evcs_engine &owner, const std::optional<std::string> &directory,
                        std::string author)
      : engine(owner),
        runner(directory ? evcs::MigrationRunner(owner.engine, *directory,
                                                 options(std::move(author)))
                         : evcs::MigrationRunner::catalog(owner.engine,
                                                          options(std::move(author)))) {}

  evcs::MigrationOptions options(std::string author) {
    evcs::MigrationOptions options;
    options.author = std::move(author);
    options.on_batch = [this](const evcs::BatchProgress &progress) { report(progress); };
    return options;
  }
  void report(const evcs::BatchProgress &progress) const;

  EngineReference engine;
  evcs::MigrationRunner runner;
  evcs_batch_callback on_batch = nullptr;
  void *on_batch_payload = nullptr;
};

namespace {

// A status other than EVCS_OK from a C callback, as the exception the runner unwinds with: the
// callback's own evcs_error_set() description when it gave one.
[[noreturn]] void throw_callback_status(int status, const char *callback) {
  const LastError &error = last_error();
  bool described = error.code == status;
  int code = (status > EVCS_OK || status < EVCS_EMISUSE) ? EVCS_ERROR : status;
  evcs::throw_error(static_cast<evcs::ErrorCode>(code),
                    described ? error.message
                              : std::string(callback) + " stopped the run with status " +
                                    std::to_string(status),
                    described ? error.sqlstate : "", described && error.retryable);
}

json step_json(const evcs::MigrationStep &step) {
  return {{"version", step.version},   {"slug", step.slug},
          {"name", step.name()},       {"up_path", step.up_path},
          {"down_path", step.down_path}, {"checksum", step.checksum}};
}

char *steps_out(const std::vector<evcs::MigrationStep> &steps) {
  json array = json::array();
  for (const auto &step : steps) array.push_back(step_json(step));
  return copy_out(array.dump());
}

json applied_json(const evcs::AppliedMigration &applied) {
  return {{"version", applied.version},
          {"slug", applied.slug},
          {"checksum", applied.checksum},
          {"applied_at", applied.applied_at.micros},
          {"duration_ms", applied.duration_ms},
          {"applied_by", applied.applied_by}};
}

char *manifest_out(const evcs::BackupManifest &manifest) {
  json tables = json::array();
  for (const auto &table : manifest.tables)
    tables.push_back({{"table", table.table}, {"rows", table.rows}, {"md5", table.md5}});
  return copy_out(json{{"archive", manifest.archive},
                       {"server_version_num", manifest.server_version_num},
                       {"tables", tables}}
                      .dump());
}

// Every call with a text result starts the same way: a non-NULL out-parameter, cleared, and a
// runner.
template <typename Out>
evcs::MigrationRunner &prepare(Out **out, evcs_migration_runner *runner) {
  deref(out, "out");
  *out = nullptr;
  return deref(runner, "migration runner").runner;
}

} // namespace

void evcs_migration_runner::report(const evcs::BatchProgress &progress) const {
  if (on_batch == nullptr) return;
  int status = on_batch(on_batch_payload, progress.file.c_str(), progress.batch, progress.rows,
                        progress.total_rows);
  if (status != EVCS_OK) throw_callback_status(status, "the batch progress callback");
}

extern "C" {

int evcs_migration_runner_open(evcs_migration_runner **out, evcs_engine *engine,
                               const char *directory, const char *author) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_engine &owner = deref(engine, "engine");
    *out = new evcs_migration_runner(owner, text_argument(directory, "the migrations directory"),
                                     optional_text(author, "the author name", ""));
  });
}

int evcs_migration_runner_open_catalog(evcs_migration_runner **out, evcs_engine *engine,
                                       const char *author) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_engine &owner = deref(engine, "engine");
    *out = new evcs_migration_runner(owner, std::nullopt,
                                     optional_text(author, "the author name", ""));
  });
}

void evcs_migration_runner_free(evcs_migration_runner *runner) { delete runner; }

int evcs_migration_runner_set_batch_callback(evcs_migration_runner *runner,
                                             evcs_batch_callback callback, void *payload) {
  return guarded([&] {
    evcs_migration_runner &target = deref(runner, "migration runner");
    target.on_batch = callback;
    target.on_batch_payload = callback == nullptr ? nullptr : payload;
  });
}

int evcs_migration_runner_directory(const char **out, const evcs_migration_runner *runner) {
  return guarded([&] {
    deref(out, "out") = deref(runner, "migration runner").runner.directory().c_str();
  });
}

int evcs_migration_runner_steps(char **out_json, evcs_migration_runner *runner) {
  return guarded([&] { *out_json = steps_out(prepare(out_json, runner).steps()); });
}

int evcs_migration_runner_upgrade(char **out_json, evcs_migration_runner *runner,
                                  const char *target) {
  return guarded([&] {
    evcs::MigrationRunner &migrations = prepare(out_json, runner);
    *out_json = steps_out(migrations.upgrade(optional_text(target, "the target", "head")));
  });
}

int evcs_migration_runner_downgrade(char **out_json, evcs_migration_runner *runner,
                                    const char *target) {
  return guarded([&] {
    evcs::MigrationRunner &migrations = prepare(out_json, runner);
    *out_json = steps_out(migrations.downgrade(text_argument(target, "the target")));
  });
}

int evcs_migration_runner_upgrade_sql(char **out_sql, evcs_migration_runner *runner,
                                      const char *target) {
  return guarded([&] {
    evcs::MigrationRunner &migrations = prepare(out_sql, runner);
    *out_sql = copy_out(migrations.upgrade_sql(optional_text(target, "the target", "head")));
  });
}

int evcs_migration_runner_downgrade_sql(char **out_sql, evcs_migration_runner *runner,
                                        const char *target) {
  return guarded([&] {
    evcs::MigrationRunner &migrations = prepare(out_sql, runner);
    *out_sql = copy_out(migrations.downgrade_sql(text_argument(target, "the target")));
  });
}

int evcs_migration_runner_current(int64_t *out, evcs_migration_runner *runner) {
  return guarded([&] {
    deref(out, "out") = 0;
    *out = deref(runner, "migration runner").runner.current().value_or(0);
  });
}

int evcs_migration_runner_history(char **out_json, evcs_migration_runner *runner) {
  return guarded([&] {
    json array = json::array();
    for (const auto &applied : prepare(out_json, runner).history())
      array.push_back(applied_json(applied));
    *out_json = copy_out(array.dump());
  });
}

int evcs_migration_runner_pending(char **out_json, evcs_migration_runner *runner) {
  return guarded([&] { *out_json = steps_out(prepare(out_json, runner).pending()); });
}

int evcs_migration_runner_verify(evcs_migration_runner *runner) {
  return guarded([&] { deref(runner, "migration runner").runner.verify(); });
}

int evcs_migration_runner_stamp(evcs_migration_runner *runner, const char *target) {
  return guarded([&] {
    evcs::MigrationRunner &migrations = deref(runner, "migration runner").runner;
    migrations.stamp(text_argument(target, "the target"));
  });
}

int evcs_migration_new_step(char **out_path, const char *directory, const char *message) {
  return guarded([&] {
    deref(out_path, "out");
    *out_path = nullptr;
    std::string path = evcs::MigrationRunner::new_step(
        text_argument(directory, "the migrations directory"), text_argument(message, "the message"));
    *out_path = copy_out(path);
  });
}

int evcs_database_backup(char **out_manifest_json, const char *url, const char *archive) {
  return guarded([&] {
    deref(out_manifest_json, "out");
    *out_manifest_json = nullptr;
    std::string source = text_argument(url, "the database URL");
    *out_manifest_json =
        manifest_out(evcs::backup_database(source, text_argument(archive, "the archive path")));
  });
}

int evcs_database_restore(char **out_manifest_json, const char *archive, const char *target_url) {
  return guarded([&] {
    deref(out_manifest_json, "out");
    *out_manifest_json = nullptr;
    std::string from = text_argument(archive, "the archive path");
    *out_manifest_json =
        manifest_out(evcs::restore_database(from, text_argument(target_url, "the target URL")));
  });
}

int evcs_database_verify_restore(char **out_manifest_json, const char *archive,
                                 const char *target_url) {
  return guarded([&] {
    deref(out_manifest_json, "out");
    *out_manifest_json = nullptr;
    std::string from = text_argument(archive, "the archive path");
    *out_manifest_json =
        manifest_out(evcs::verify_restore(from, text_argument(target_url, "the target URL")));
  });
}

} // extern "C"
