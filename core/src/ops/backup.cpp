#include "evcs/backup.hpp"
#include "ops/pg_programs.hpp"

#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

#include <nlohmann/json.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

extern char **environ;

namespace fs = std::filesystem;

namespace evcs {

namespace {

Engine engine_for(const std::string &url) {
  EngineOptions options;
  options.url = url;
  options.pool_size = 2;
  return Engine(options);
}

// Version tables and the evcs catalog, outside the system schemas; partitions are covered by
// their parent.
const char *const covered_tables_sql =
    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
    "AND (c.relname LIKE '%\\_version' OR c.relname LIKE 'evcs\\_%') ORDER BY 1";

TableChecksum checksum_of(Session &session, const std::string &table) {
  // `table` is a name the server spelled (format('%I.%I') or regclass::text): quoted.
  Result result = session.execute(
      "SELECT count(*), md5(coalesce(string_agg(row_md5, '' ORDER BY row_md5 COLLATE \"C\"), "
      "'')) FROM (SELECT md5(t::text) AS row_md5 FROM " +
      table + " AS t) AS rows");
  return {table, result.get_int64(0, 0), result.get_text(0, 1)};
}

// pg_dump or pg_restore of the server's major version.
std::string tool_path(Session &session, const std::string &tool) {
  auto version = session.scalar<std::int64_t>(
      "SELECT current_setting('server_version_num')::int / 10000");
  return detail::postgres_program(tool, std::to_string(version.value_or(0)));
}

// Runs `argv` (no shell) and waits; Error with the tool's output when it exits non-zero.
void run_tool(const std::vector<std::string> &argv) {
  int output[2];
  if (::pipe(output) != 0)
    throw Error(ErrorCode::error, std::string("pipe() failed: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, output[0]);
  posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, output[1]);
  std::vector<char *> args;
  for (const auto &arg : argv) args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(output[1]);
  std::string text;
  if (spawned == 0) {
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(output[0], buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR))
      if (got > 0) text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(output[0]);
  std::string tool = fs::path(argv[0]).filename().string();
  if (spawned != 0)
    throw Error(ErrorCode::error, "cannot run " + argv[0] + ": " + std::strerror(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(ErrorCode::error,
                tool + " failed (" +
                    (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                       : "killed by signal " + std::to_string(WTERMSIG(status))) +
                    "): " + text);
}

nlohmann::json manifest_json(const BackupManifest &manifest) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto &table : manifest.tables)
    tables.push_back({{"table", table.table}, {"rows", table.rows}, {"md5", table.md5}});
  return {{"format", "evcs-backup-manifest"},
          {"format_version", 1},
          {"archive", manifest.archive},
          {"server_version_num", manifest.server_version_num},
          {"tables", tables}};
}

BackupManifest read_manifest(const std::string &archive) {
  std::string path = backup_manifest_path(archive);
  std::ifstream in(path);
  if (!in)
    throw NotFound("backup manifest " + path + " not found: it is written next to the archive "
                   "by `evcs backup` and is needed to verify a restore");
  BackupManifest manifest;
  try {
    nlohmann::json json = nlohmann::json::parse(in);
    if (json.at("format") != "evcs-backup-manifest" || json.at("format_version") != 1)
      throw InvalidArgument(path + " is not an evcs backup manifest (format version 1)");
    manifest.archive = json.at("archive").get<std::string>();
    manifest.server_version_num = json.at("server_version_num").get<int>();
    for (const auto &table : json.at("tables"))
      manifest.tables.push_back({table.at("table").get<std::string>(),
                                 table.at("rows").get<std::int64_t>(),
                                 table.at("md5").get<std::string>()});
  } catch (const nlohmann::json::exception &error) {
    throw InvalidArgument(path + " is not a valid backup manifest (" + error.what() +
                          "): was it edited or truncated?");
  }
  return manifest;
}

} // namespace

std::string backup_manifest_path(const std::string &archive) { return archive + ".manifest.json"; }

BackupManifest backup_database(const std::string &url, const std::string &archive) {
  Engine engine = engine_for(url);
  auto session = engine.session();
  // The manifest and pg_dump read one snapshot: this transaction's, exported.
  session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  std::string snapshot = session.scalar<std::string>("SELECT pg_export_snapshot()").value();
  BackupManifest manifest;
  manifest.archive = fs::path(archive).filename().string();
  manifest.server_version_num = static_cast<int>(
      session.scalar<std::int64_t>("SELECT current_setting('server_version_num')::int").value());
  Result tables = session.execute(covered_tables_sql);
  for (std::int64_t row = 0; row < tables.rows(); ++row)
    manifest.tables.push_back(checksum_of(session, tables.get_text(row, 0)));
  run_tool({tool_path(session, "pg_dump"), "--format=custom", "--snapshot=" + snapshot,
            "--file=" + archive, "--dbname=" + url});
  session.commit();
  std::string path = backup_manifest_path(archive);
  std::string partial = path + ".partial";
  {
    std::ofstream out(partial);
    out << manifest_json(manifest).dump(2) << "\n";
    if (!out) throw Error(ErrorCode::error, "cannot write the backup manifest " + partial);
  }
  fs::rename(partial, path);
  return manifest;
}

BackupManifest restore_database(const std::string &archive, const std::string &target_url) {
  if (!fs::is_regular_file(archive))
    throw NotFound("backup archive " + archive + " not found");
  read_manifest(archive);
  Engine engine = engine_for(target_url);
  {
    auto session = engine.session();
    Result existing = session.execute(
        "SELECT current_database(), count(*), min(format('%I.%I', n.nspname, c.relname)) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'");
    if (existing.get_int64(0, 1) > 0)
      throw InvalidArgument("database " + existing.get_text(0, 0) + " is not empty (" +
                            std::to_string(existing.get_int64(0, 1)) + " tables, views or sequences, e.g. " +
                            existing.get_text(0, 2) +
                            "): restore into a new empty database (CREATE DATABASE name) so "
                            "nothing is overwritten or mixed with the backup");
    std::string pg_restore = tool_path(session, "pg_restore");
    session.rollback();
    run_tool({pg_restore, "--exit-on-error", "--single-transaction", "--no-owner",
              "--dbname=" + target_url, archive});
  }
  return verify_restore(archive, target_url);
}

BackupManifest verify_restore(const std::string &archive, const std::string &target_url) {
  BackupManifest manifest = read_manifest(archive);
  Engine engine = engine_for(target_url);
  auto session = engine.session();
  session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  for (const auto &expected : manifest.tables) {
    // The server's own spelling of the name: a manifest is a file anyone could edit, so its
    // text never reaches the SQL below unchecked.
    auto relation =
        session.scalar<std::string>("SELECT to_regclass($1)::text", Params::of(expected.table));
    if (!relation)
      throw Error(ErrorCode::error, "restore verification failed: table " + expected.table +
                                        " from backup " + archive +
                                        " is missing in the restored database");
    TableChecksum actual = checksum_of(session, *relation);
    if (actual.rows != expected.rows || actual.md5 != expected.md5)
      throw Error(ErrorCode::error,
                  "restore verification failed for table " + expected.table + ": the backup " +
                      archive + " has " + std::to_string(expected.rows) + " rows (md5 " +
                      expected.md5 + "), the restored database has " +
                      std::to_string(actual.rows) + " rows (md5 " + actual.md5 +
                      "). Do not use this database: restore again into a new empty one");
  }
  session.rollback();
  return manifest;
}

} // namespace evcs
