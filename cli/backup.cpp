// `evcs backup FILE` and `evcs restore FILE [--into URL]` (docs/backup.md) over core/backup.
#include "commands.hpp"

#include "evcs/backup.hpp"
#include "evcs/embedded.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace evcs::cli {

namespace {

const char *const backup_usage =
    "usage: evcs backup FILE\n"
    "\n"
    "Writes a pg_dump custom-format archive of the database to FILE, and FILE.manifest.json with\n"
    "the row count and checksum of every version table (*_version) and evcs catalog table\n"
    "(evcs_*), taken in the same snapshot as the archive. The database is DATABASE_URL, or the\n"
    "embedded default server when it is unset.\n"
    "exit codes: 0 ok, 1 failure, 2 usage error, 3 database error\n";

const char *const restore_usage =
    "usage: evcs restore FILE [--into URL] [--verify-only]\n"
    "\n"
    "Restores the archive FILE (written by `evcs backup`) into the database at URL (default:\n"
    "DATABASE_URL, or the embedded default server), which must exist and be empty, in one\n"
    "transaction; then checks every table of FILE.manifest.json (row count and checksum).\n"
    "  --into URL      the target database (create it first: CREATE DATABASE name)\n"
    "  --verify-only   do not restore: only check the database at URL against the manifest\n"
    "exit codes: 0 ok, 1 failure, 2 usage error, 3 database error or verification failure\n";

int usage_error(const char *command, const std::string &message, const char *usage) {
  std::fprintf(stderr, "evcs %s: %s\n\n%s", command, message.c_str(), usage);
  return exit_usage;
}

// DATABASE_URL, else the embedded default server (kept running while `embedded` lives).
std::string default_url(std::shared_ptr<EmbeddedServer> &embedded) {
  const char *url = std::getenv("DATABASE_URL");
  if (url != nullptr && *url != '\0') return url;
  embedded = EmbeddedServer::acquire();
  return embedded->url();
}

void print_tables(const BackupManifest &manifest) {
  for (const auto &table : manifest.tables)
    std::printf("  %-40s %10lld rows  md5 %s\n", table.table.c_str(),
                static_cast<long long>(table.rows), table.md5.c_str());
}

bool wants_help(const std::vector<std::string> &arguments) {
  for (const auto &argument : arguments)
    if (argument == "--help" || argument == "-h") return true;
  return false;
}

} // namespace

int run_backup(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(backup_usage, stdout);
    return exit_ok;
  }
  if (arguments.size() != 1 || arguments[0].compare(0, 2, "--") == 0)
    return usage_error("backup", "exactly one argument, the archive FILE, is required",
                       backup_usage);
  std::shared_ptr<EmbeddedServer> embedded;
  auto manifest = backup_database(default_url(embedded), arguments[0]);
  std::printf("wrote %s and %s (%zu tables):\n", arguments[0].c_str(),
              backup_manifest_path(arguments[0]).c_str(), manifest.tables.size());
  print_tables(manifest);
  return exit_ok;
}

int run_restore(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(restore_usage, stdout);
    return exit_ok;
  }
  std::string archive, into;
  bool verify_only = false;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i] == "--into") {
      if (i + 1 >= arguments.size()) return usage_error("restore", "--into needs a URL", restore_usage);
      into = arguments[++i];
    } else if (arguments[i] == "--verify-only") {
      verify_only = true;
    } else if (arguments[i].compare(0, 2, "--") == 0) {
      return usage_error("restore", "unknown option " + arguments[i], restore_usage);
    } else if (archive.empty()) {
      archive = arguments[i];
    } else {
      return usage_error("restore", "only one archive FILE may be given", restore_usage);
    }
  }
  if (archive.empty()) return usage_error("restore", "the archive FILE is required", restore_usage);
  std::shared_ptr<EmbeddedServer> embedded;
  if (into.empty()) into = default_url(embedded);
  auto manifest = verify_only ? verify_restore(archive, into) : restore_database(archive, into);
  std::printf("%s %s; verified %zu tables:\n", verify_only ? "checked" : "restored",
              archive.c_str(), manifest.tables.size());
  print_tables(manifest);
  return exit_ok;
}

} // namespace evcs::cli
