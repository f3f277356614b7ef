// `evcs migrate ...`: the migration commands of docs/migrations.md over evcs::MigrationRunner.
#include "commands.hpp"

#include "evcs/autogenerate.hpp"
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"

#include <cstdio>
#include <map>
#include <optional>

namespace evcs::cli {

namespace {

const char *const migrate_usage =
    "usage: evcs migrate COMMAND [ARGS] [--dir DIR | --catalog] [--sql] [--author NAME]\n"
    "                    [--schema FILE]\n"
    "\n"
    "Versioned schema migrations: numbered NNNN_slug.up.sql / NNNN_slug.down.sql steps in DIR\n"
    "(default: ./migrations), recorded in the table evcs_migration. With --catalog, the same\n"
    "commands act on evcs's own catalog: the steps compiled into evcs, recorded in the table\n"
    "evcs_catalog_migration, which every engine brings to its newest step on first use.\n"
    "\n"
    "commands:\n"
    "  upgrade [TARGET]    apply steps up to TARGET: head (default), a version (3, 0003), +N\n"
    "  downgrade TARGET    revert steps down to TARGET: base, a version, -N\n"
    "  current             print the current version (or base)\n"
    "  history             list the applied steps: version, applied at, duration, applied by\n"
    "  pending             list the steps not applied yet\n"
    "  verify              check that applied steps' files are unchanged (checksums)\n"
    "  stamp TARGET        record TARGET as current without running any step\n"
    "  new MESSAGE         write the next-numbered empty up/down pair\n"
    "  autogenerate MESSAGE --schema FILE\n"
    "                      compare the declared schema FILE (JSON) with the database and write\n"
    "                      the next-numbered up/down pair that applies the difference, for review\n"
    "\n"
    "options:\n"
    "  --dir DIR           the migrations directory (default: migrations)\n"
    "  --catalog           upgrade, downgrade, current, history, pending, verify, stamp: evcs's\n"
    "                      own catalog instead of DIR\n"
    "  --sql               upgrade/downgrade: print the SQL instead of running it (offline)\n"
    "  --author NAME       recorded next to the database user in the history\n"
    "  --schema FILE       autogenerate: the declared schema (docs/migrations.md, Autogenerate)\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 1 failure, 2 usage error, 3 database or migration error\n";

int usage_error(const std::string &message) {
  std::fprintf(stderr, "evcs migrate: %s\n\n%s", message.c_str(), migrate_usage);
  return exit_usage;
}

std::string version_name(const MigrationRunner &runner, std::optional<int> version) {
  if (!version) return "base";
  std::string name = runner.steps()[static_cast<std::size_t>(*version - 1)].name();
  if (*version == static_cast<int>(runner.steps().size())) name += " (head)";
  return name;
}

void report_batch(const BatchProgress &progress) {
  std::fprintf(stderr, "  %s: batch %lld, %lld rows (%lld in all)\n", progress.file.c_str(),
               static_cast<long long>(progress.batch), static_cast<long long>(progress.rows),
               static_cast<long long>(progress.total_rows));
}

} // namespace

int run_migrate(const std::vector<std::string> &arguments) {
  if (arguments.empty()) return usage_error("a command is required");
  if (arguments[0] == "--help" || arguments[0] == "-h") {
    std::fputs(migrate_usage, stdout);
    return exit_ok;
  }
  std::string command = arguments[0];
  std::string directory = "migrations";
  MigrationOptions options;
  bool offline = false;
  bool catalog = false;
  bool directory_given = false;
  std::string schema_file;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < arguments.size(); ++i) {
    const std::string &argument = arguments[i];
    if (argument == "--help" || argument == "-h") {
      std::fputs(migrate_usage, stdout);
      return exit_ok;
    }
    if (argument == "--sql") {
      offline = true;
    } else if (argument == "--catalog") {
      catalog = true;
    } else if (argument == "--dir" || argument == "--author" || argument == "--schema") {
      if (i + 1 >= arguments.size()) return usage_error(argument + " needs a value");
      directory_given = directory_given || argument == "--dir";
      (argument == "--dir" ? directory : argument == "--author" ? options.author : schema_file) =
          arguments[++i];
    } else if (argument.size() > 2 && argument.compare(0, 2, "--") == 0) {
      return usage_error("unknown option " + argument);
    } else {
      positional.push_back(argument);
    }
  }
  struct Shape {
    std::size_t min_arguments, max_arguments;
    bool takes_sql;
  };
  static const std::map<std::string, Shape> shapes = {
      {"upgrade", {0, 1, true}}, {"downgrade", {1, 1, true}}, {"current", {0, 0, false}},
      {"history", {0, 0, false}}, {"pending", {0, 0, false}},  {"verify", {0, 0, false}},
      {"stamp", {1, 1, false}},   {"new", {1, 1, false}},     {"autogenerate", {1, 1, false}}};
  auto shape = shapes.find(command);
  if (shape == shapes.end()) return usage_error("unknown command '" + command + "'");
  if (positional.size() < shape->second.min_arguments ||
      positional.size() > shape->second.max_arguments)
    return usage_error("wrong number of arguments for " + command);
  if (offline && !shape->second.takes_sql)
    return usage_error("--sql applies to upgrade and downgrade only");

  if (command == "autogenerate" && schema_file.empty())
    return usage_error("autogenerate needs --schema FILE: the declared schema to compare with");
  if (command != "autogenerate" && !schema_file.empty())
    return usage_error("--schema applies to autogenerate only");
  if (catalog && directory_given)
    return usage_error("--catalog and --dir exclude each other: the catalog's steps are compiled "
                       "into evcs");
  if (catalog && (command == "new" || command == "autogenerate"))
    return usage_error("--catalog does not apply to " + command +
                       ": the catalog's steps are part of evcs");

  if (command == "new") {
    std::string up = MigrationRunner::new_step(directory, positional[0]);
    std::printf("created %s\ncreated %s.down.sql\n", up.c_str(),
                up.substr(0, up.size() - std::string(".up.sql").size()).c_str());
    return exit_ok;
  }

  options.on_batch = report_batch;
  Engine engine;
  if (command == "autogenerate") {
    auto result = autogenerate(engine, positional[0], schema_file, directory);
    if (!result.has_changes()) {
      std::printf("no changes: the database matches %s; nothing written\n", schema_file.c_str());
      return exit_ok;
    }
    for (const auto &change : result.changes) std::printf("  %s\n", change.c_str());
    for (const auto &warning : result.warnings)
      std::fprintf(stderr, "warning: %s\n", warning.c_str());
    std::printf("created %s\ncreated %s\nreview them, then run `evcs migrate upgrade`\n",
                result.up_path.c_str(), result.down_path.c_str());
    return exit_ok;
  }
  MigrationRunner runner = catalog ? MigrationRunner::catalog(engine, options)
                                   : MigrationRunner(engine, directory, options);
  if (command == "upgrade" || command == "downgrade") {
    bool up = command == "upgrade";
    std::string target = positional.empty() ? "head" : positional[0];
    if (offline) {
      std::fputs((up ? runner.upgrade_sql(target) : runner.downgrade_sql(target)).c_str(), stdout);
      return exit_ok;
    }
    auto steps = up ? runner.upgrade(target) : runner.downgrade(target);
    for (const auto &step : steps)
      std::printf("%s %s\n", up ? "applied" : "reverted", step.name().c_str());
    if (steps.empty())
      std::printf("nothing to %s: at %s\n", command.c_str(),
                  version_name(runner, runner.current()).c_str());
  } else if (command == "current") {
    std::printf("%s\n", version_name(runner, runner.current()).c_str());
  } else if (command == "history") {
    for (const auto &applied : runner.history())
      std::printf("%04d_%s  %s  %lld ms  %s\n", applied.version, applied.slug.c_str(),
                  format_timestamp(applied.applied_at.micros).c_str(),
                  static_cast<long long>(applied.duration_ms), applied.applied_by.c_str());
  } else if (command == "pending") {
    for (const auto &step : runner.pending()) std::printf("%s\n", step.name().c_str());
  } else if (command == "verify") {
    runner.verify();
    std::printf("ok: %zu applied steps match their files\n", runner.history().size());
  } else if (command == "stamp") {
    runner.stamp(positional[0]);
    std::printf("stamped %s\n", version_name(runner, runner.current()).c_str());
  }
  return exit_ok;
}

} // namespace evcs::cli
