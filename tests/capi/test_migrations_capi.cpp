// Migrations and backup/restore through the C ABI: steps and records as JSON, the batch progress
// callback (and stopping a run from it), statuses and last errors for failing steps, edited files
// and bad input, and a runner that outlives its engine handle.
#include "evcs/evcs.h"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using json = nlohmann::json;

std::string last_message() { return evcs_error_last_message(); }

// Takes a library-allocated text and frees it.
std::string take_text(char *text) {
  EXPECT_NE(text, nullptr);
  if (text == nullptr) return "no output";
  std::string copy = text;
  evcs_free(text);
  return copy;
}

json take_json(char *text) { return json::parse(take_text(text)); }

evcs_engine *open_engine(const std::string &url) {
  evcs_options *options = nullptr;
  EXPECT_EQ(evcs_options_new(&options), EVCS_OK);
  EXPECT_EQ(evcs_options_set(options, "url", url.c_str()), EVCS_OK);
  evcs_engine *engine = nullptr;
  EXPECT_EQ(evcs_engine_open(&engine, options), EVCS_OK) << last_message();
  evcs_options_free(options);
  return engine;
}

// The first column of the first row of `sql`, as text.
std::string query_text(evcs_engine *engine, const char *sql) {
  evcs_session *session = nullptr;
  EXPECT_EQ(evcs_session_open(&session, engine, nullptr, nullptr), EVCS_OK);
  evcs_result *result = nullptr;
  EXPECT_EQ(evcs_session_execute(&result, session, sql, nullptr), EVCS_OK) << last_message();
  const char *text = nullptr;
  size_t length = 0;
  EXPECT_EQ(evcs_result_get_text(&text, &length, result, 0, 0), EVCS_OK) << last_message();
  std::string value(text == nullptr ? "" : text, length);
  evcs_result_free(result);
  evcs_session_free(session);
  return value;
}

class CapiMigrationsTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("capi_mig_") + info->name();
    for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    url_ = evcs_test::fresh_database(name);
    char pattern[] = "/tmp/evcs-capi-migrations-XXXXXX";
    directory_ = ::mkdtemp(pattern);
    engine_ = open_engine(url_);
  }
  void TearDown() override {
    evcs_migration_runner_free(runner_);
    evcs_engine_free(engine_);
    fs::remove_all(directory_);
  }

  std::string write(const std::string &name, const std::string &content) {
    std::string path = (fs::path(directory_) / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  void step(const std::string &name, const std::string &up, const std::string &down) {
    write(name + ".up.sql", up);
    write(name + ".down.sql", down);
  }
  void two_steps() {
    step("0001_create_project", "CREATE TABLE project (id int PRIMARY KEY, name text);\n",
         "DROP TABLE project;\n");
    step("0002_seed_project", "INSERT INTO project VALUES (1, 'alpha'), (2, 'beta');\n",
         "DELETE FROM project;\n");
  }
  void open_runner(const char *author = nullptr) {
    ASSERT_EQ(evcs_migration_runner_open(&runner_, engine_, directory_.c_str(), author), EVCS_OK)
        << last_message();
  }

  json upgrade(const char *target = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, target), EVCS_OK) << last_message();
    return take_json(out);
  }
  json downgrade(const char *target) {
    char *out = nullptr;
    EXPECT_EQ(evcs_migration_runner_downgrade(&out, runner_, target), EVCS_OK) << last_message();
    return take_json(out);
  }
  int64_t current() {
    int64_t version = -1;
    EXPECT_EQ(evcs_migration_runner_current(&version, runner_), EVCS_OK) << last_message();
    return version;
  }
  json listed(int (*call)(char **, evcs_migration_runner *)) {
    char *out = nullptr;
    EXPECT_EQ(call(&out, runner_), EVCS_OK) << last_message();
    return take_json(out);
  }
  static std::vector<std::string> names(const json &steps) {
    std::vector<std::string> result;
    for (const auto &step : steps) result.push_back(step.at("name").get<std::string>());
    return result;
  }

  std::string url_;
  std::string directory_;
  evcs_engine *engine_ = nullptr;
  evcs_migration_runner *runner_ = nullptr;
};

using Names = std::vector<std::string>;

TEST_F(CapiMigrationsTest, UpgradeHistoryPendingDowngradeAsJson) {
  two_steps();
  open_runner("dana");
  const char *directory = nullptr;
  ASSERT_EQ(evcs_migration_runner_directory(&directory, runner_), EVCS_OK);
  EXPECT_EQ(std::string(directory), directory_);
  EXPECT_EQ(current(), 0);

  json steps = listed(evcs_migration_runner_steps);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("version"), 1);
  EXPECT_EQ(steps[0].at("slug"), "create_project");
  EXPECT_EQ(steps[0].at("name"), "0001_create_project");
  EXPECT_EQ(steps[0].at("up_path"), directory_ + "/0001_create_project.up.sql");
  EXPECT_EQ(steps[0].at("down_path"), directory_ + "/0001_create_project.down.sql");
  EXPECT_EQ(steps[0].at("checksum").get<std::string>().size(), 64u);
  EXPECT_EQ(names(listed(evcs_migration_runner_pending)), (Names{"0001_create_project",
                                                                 "0002_seed_project"}));

  json applied = upgrade("1");
  EXPECT_EQ(applied, json::array({steps[0]}));
  EXPECT_EQ(current(), 1);
  EXPECT_EQ(names(upgrade()), (Names{"0002_seed_project"}));
  EXPECT_EQ(upgrade(), json::array());
  EXPECT_EQ(current(), 2);
  EXPECT_EQ(query_text(engine_, "SELECT string_agg(name, ',' ORDER BY id) FROM project"),
            "alpha,beta");
  EXPECT_EQ(listed(evcs_migration_runner_pending), json::array());

  json history = listed(evcs_migration_runner_history);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].at("version"), 2);
  EXPECT_EQ(history[1].at("slug"), "seed_project");
  EXPECT_EQ(history[1].at("checksum"), steps[1].at("checksum"));
  EXPECT_EQ(history[1].at("applied_by"), "postgres (dana)");
  EXPECT_GE(history[1].at("duration_ms").get<int64_t>(), 0);
  EXPECT_EQ(std::to_string(history[1].at("applied_at").get<int64_t>()),
            query_text(engine_, "SELECT (extract(epoch FROM applied_at) * 1000000)::bigint "
                                "FROM evcs_migration WHERE version = 2"));
  EXPECT_EQ(evcs_migration_runner_verify(runner_), EVCS_OK) << last_message();

  EXPECT_EQ(names(downgrade("base")), (Names{"0002_seed_project", "0001_create_project"}));
  EXPECT_EQ(current(), 0);
  EXPECT_EQ(query_text(engine_, "SELECT to_regclass('project') IS NULL"), "t");
  EXPECT_EQ(listed(evcs_migration_runner_history), json::array());
}

TEST_F(CapiMigrationsTest, OfflineSqlReadsButNeverChangesTheDatabase) {
  two_steps();
  open_runner();
  char *sql = nullptr;
  ASSERT_EQ(evcs_migration_runner_upgrade_sql(&sql, runner_, "1"), EVCS_OK) << last_message();
  std::string text = take_text(sql);
  EXPECT_NE(text.find("CREATE TABLE IF NOT EXISTS evcs_migration"), std::string::npos) << text;
  EXPECT_NE(text.find("CREATE TABLE project (id int PRIMARY KEY, name text);"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("INSERT INTO project VALUES"), std::string::npos) << text;
  EXPECT_EQ(current(), 0);
  EXPECT_EQ(query_text(engine_, "SELECT to_regclass('evcs_migration') IS NULL"), "t");

  upgrade();
  ASSERT_EQ(evcs_migration_runner_downgrade_sql(&sql, runner_, "-1"), EVCS_OK) << last_message();
  text = take_text(sql);
  EXPECT_NE(text.find("DELETE FROM project;"), std::string::npos) << text;
  EXPECT_NE(text.find("DELETE FROM evcs_migration"), std::string::npos) << text;
  EXPECT_EQ(text.find("DROP TABLE project;"), std::string::npos) << text;
  EXPECT_EQ(current(), 2);
}

TEST_F(CapiMigrationsTest, FailingStepReportsFileLineAndSqlstateAndLeavesSchemaAsBefore) {
  two_steps();
  std::string broken = write("0003_broken.up.sql", "CREATE TABLE task (id int);\n"
                                                   "INSERT INTO project VALUES (3, 'gamma');\n"
                                                   "SELECT * FROM no_such_table;\n");
  write("0003_broken.down.sql", "DROP TABLE task;\n");
  open_runner();
  char *out = nullptr;
  EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, nullptr), EVCS_EMIGRATION);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(evcs_error_last_code(), EVCS_EMIGRATION);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "42P01");
  EXPECT_EQ(last_message().rfind(broken + ":3: relation \"no_such_table\" does not exist. The "
                                          "step was rolled back",
                                 0),
            0u)
      << last_message();
  EXPECT_EQ(current(), 2);
  EXPECT_EQ(query_text(engine_, "SELECT to_regclass('task') IS NULL"), "t");
  EXPECT_EQ(query_text(engine_, "SELECT count(*) FROM project"), "2");
  EXPECT_EQ(names(listed(evcs_migration_runner_pending)), (Names{"0003_broken"}));
}

TEST_F(CapiMigrationsTest, VerifyNamesTheEditedFile) {
  two_steps();
  open_runner();
  upgrade();
  std::string edited = write("0002_seed_project.up.sql", "INSERT INTO project VALUES (9, 'x');\n");
  evcs_migration_runner_free(runner_);
  open_runner();
  EXPECT_EQ(evcs_migration_runner_verify(runner_), EVCS_EMIGRATION);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "");
  EXPECT_EQ(last_message().rfind(edited + " was edited after it was applied", 0), 0u)
      << last_message();
}

TEST_F(CapiMigrationsTest, StampAndNewStep) {
  two_steps();
  open_runner();
  ASSERT_EQ(evcs_migration_runner_stamp(runner_, "head"), EVCS_OK) << last_message();
  EXPECT_EQ(current(), 2);
  EXPECT_EQ(query_text(engine_, "SELECT to_regclass('project') IS NULL"), "t");
  json history = listed(evcs_migration_runner_history);
  EXPECT_EQ(history[0].at("duration_ms"), 0);
  EXPECT_EQ(history[0].at("applied_by"), "postgres");
  ASSERT_EQ(evcs_migration_runner_stamp(runner_, "base"), EVCS_OK) << last_message();
  EXPECT_EQ(current(), 0);

  char *path = nullptr;
  ASSERT_EQ(evcs_migration_new_step(&path, directory_.c_str(), "Add a task table!"), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_text(path), directory_ + "/0003_add_a_task_table.up.sql");
  EXPECT_TRUE(fs::is_regular_file(directory_ + "/0003_add_a_task_table.down.sql"));
  EXPECT_EQ(evcs_migration_new_step(&path, directory_.c_str(), "!!!"), EVCS_EINVALID);
  EXPECT_EQ(path, nullptr);
}

TEST_F(CapiMigrationsTest, TargetsAndBadInputHaveTheirCodes) {
  two_steps();
  open_runner();
  upgrade("2");
  char *out = nullptr;
  EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, "1"), EVCS_EINVALID);
  EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, "7"), EVCS_ENOTFOUND);
  EXPECT_EQ(evcs_migration_runner_downgrade(&out, runner_, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_migration_runner_stamp(runner_, "latest"), EVCS_EINVALID);
  EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, "\xff"), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(current(), 2);

  evcs_migration_runner *other = nullptr;
  std::string missing = directory_ + "/missing";
  EXPECT_EQ(evcs_migration_runner_open(&other, engine_, missing.c_str(), nullptr),
            EVCS_EMIGRATION);
  EXPECT_EQ(other, nullptr);
  EXPECT_EQ(last_message().rfind("migrations directory " + missing + " does not exist", 0), 0u)
      << last_message();
  write("notes.sql", "SELECT 1;\n");
  EXPECT_EQ(evcs_migration_runner_open(&other, engine_, directory_.c_str(), nullptr),
            EVCS_EMIGRATION);
  EXPECT_EQ(evcs_migration_runner_open(&other, nullptr, directory_.c_str(), nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_migration_runner_open(nullptr, engine_, directory_.c_str(), nullptr),
            EVCS_EMISUSE);

  int64_t version = 0;
  EXPECT_EQ(evcs_migration_runner_current(&version, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_migration_runner_verify(nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_migration_runner_history(nullptr, runner_), EVCS_EMISUSE);
  EXPECT_EQ(evcs_migration_runner_set_batch_callback(nullptr, nullptr, nullptr), EVCS_EMISUSE);
  evcs_migration_runner_free(nullptr);
}

TEST_F(CapiMigrationsTest, TheCatalogRunnerShowsTheCatalogTheEngineInstalled) {
  ASSERT_EQ(evcs_migration_runner_open_catalog(&runner_, engine_, "ops"), EVCS_OK)
      << last_message();
  const char *directory = nullptr;
  ASSERT_EQ(evcs_migration_runner_directory(&directory, runner_), EVCS_OK);
  EXPECT_STREQ(directory, "evcs:catalog");
  json steps = listed(evcs_migration_runner_steps);
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("name"), "0001_evcs_catalog");
  EXPECT_EQ(steps[0].at("up_path"), "evcs:catalog/0001_evcs_catalog.up.sql");
  EXPECT_EQ(current(), 0);
  EXPECT_EQ(listed(evcs_migration_runner_pending).size(), steps.size());

  // Any catalog operation brings the catalog to its newest step.
  char *branches = nullptr;
  evcs_session *session = nullptr;
  ASSERT_EQ(evcs_session_open(&session, engine_, nullptr, nullptr), EVCS_OK);
  ASSERT_EQ(evcs_session_branches(&branches, session), EVCS_OK) << last_message();
  evcs_free(branches);
  evcs_session_free(session);
  EXPECT_EQ(current(), static_cast<int64_t>(steps.size()));
  json history = listed(evcs_migration_runner_history);
  ASSERT_EQ(history.size(), steps.size());
  EXPECT_EQ(history[0].at("checksum"), steps[0].at("checksum"));
  EXPECT_EQ(history[0].at("applied_by"), query_text(engine_, "SELECT current_user::text"));
  EXPECT_EQ(evcs_migration_runner_verify(runner_), EVCS_OK) << last_message();

  json reverted = downgrade("-1");
  ASSERT_EQ(reverted.size(), 1u);
  EXPECT_EQ(reverted[0].at("version"), steps.size());
  EXPECT_EQ(current(), static_cast<int64_t>(steps.size() - 1));
  json applied = upgrade();
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(listed(evcs_migration_runner_history).back().at("applied_by"),
            query_text(engine_, "SELECT current_user::text") + " (ops)");
  // The user's record table is another numbering space, not made by the catalog.
  EXPECT_EQ(query_text(engine_, "SELECT (to_regclass('evcs_migration') IS NULL)::text"), "true");
}

TEST_F(CapiMigrationsTest, TheRunnerKeepsItsEngineAlive) {
  two_steps();
  open_runner();
  evcs_engine_free(engine_);
  engine_ = nullptr;
  EXPECT_EQ(names(upgrade()), (Names{"0001_create_project", "0002_seed_project"}));
  EXPECT_EQ(current(), 2);
}

struct BatchLog {
  std::vector<std::vector<int64_t>> batches;
  std::string file;
  int64_t stop_after = -1;
};

int record_batch(void *payload, const char *file, int64_t batch, int64_t rows,
                 int64_t total_rows) {
  auto *log = static_cast<BatchLog *>(payload);
  log->file = file;
  log->batches.push_back({batch, rows, total_rows});
  if (batch == log->stop_after)
    return evcs_error_set(EVCS_ERROR, nullptr, "stopped by the test after its batch");
  return EVCS_OK;
}

class CapiBatchTest : public CapiMigrationsTest {
protected:
  void batch_steps() {
    step("0001_create_big",
         "CREATE TABLE big (id int PRIMARY KEY, migrated bool NOT NULL DEFAULT false);\n"
         "INSERT INTO big (id) SELECT generate_series(1, 2500);\n",
         "DROP TABLE big;\n");
    backfill_ = write("0002_backfill.up.sql",
                      "-- evcs: batch\n"
                      "UPDATE big SET migrated = true\n"
                      "WHERE id IN (SELECT id FROM big WHERE NOT migrated ORDER BY id LIMIT 1000);\n");
    write("0002_backfill.down.sql", "UPDATE big SET migrated = false;\n");
  }
  std::string backfill_;
};

TEST_F(CapiBatchTest, ProgressReachesTheCallbackWithItsPayload) {
  batch_steps();
  open_runner();
  BatchLog log;
  ASSERT_EQ(evcs_migration_runner_set_batch_callback(runner_, record_batch, &log), EVCS_OK);
  EXPECT_EQ(upgrade().size(), 2u);
  EXPECT_EQ(log.batches, (std::vector<std::vector<int64_t>>{{1, 1000, 1000},
                                                            {2, 1000, 2000},
                                                            {3, 500, 2500}}));
  EXPECT_EQ(log.file, backfill_);

  ASSERT_EQ(evcs_migration_runner_set_batch_callback(runner_, nullptr, &log), EVCS_OK);
  downgrade("1");
  EXPECT_EQ(upgrade().size(), 1u);
  EXPECT_EQ(log.batches.size(), 3u);
}

TEST_F(CapiBatchTest, CallbackStatusStopsTheRun) {
  batch_steps();
  open_runner();
  BatchLog log;
  log.stop_after = 2;
  ASSERT_EQ(evcs_migration_runner_set_batch_callback(runner_, record_batch, &log), EVCS_OK);
  char *out = nullptr;
  EXPECT_EQ(evcs_migration_runner_upgrade(&out, runner_, nullptr), EVCS_ERROR);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(last_message(), "stopped by the test after its batch");
  EXPECT_STREQ(evcs_error_last_sqlstate(), "");
  EXPECT_EQ(log.batches.size(), 2u);
  EXPECT_EQ(current(), 1);
  // The batches before the stop were committed, as docs/migrations.md says.
  EXPECT_EQ(query_text(engine_, "SELECT count(*) FROM big WHERE migrated"), "2000");
  EXPECT_EQ(names(listed(evcs_migration_runner_pending)), (Names{"0002_backfill"}));
}

class CapiBackupTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/evcs-capi-backup-XXXXXX";
    directory_ = ::mkdtemp(pattern);
    archive_ = directory_ + "/source.dump";
    source_ = evcs_test::fresh_database("capi_backup_source");
    evcs_engine *engine = open_engine(source_);
    evcs_session *session = nullptr;
    ASSERT_EQ(evcs_session_open(&session, engine, nullptr, "erin"), EVCS_OK);
    ASSERT_EQ(evcs_session_create_entity_type(session, "project",
                                              R"([{"name":"name","type":"text"}])"),
              EVCS_OK)
        << last_message();
    ASSERT_EQ(evcs_session_commit(session, nullptr), EVCS_OK) << last_message();
    evcs_repository *repository = nullptr;
    ASSERT_EQ(evcs_session_repository(&repository, session, "project"), EVCS_OK);
    char *version = nullptr;
    ASSERT_EQ(evcs_repository_create(&version, repository, R"({"name":"alpha"})", nullptr),
              EVCS_OK)
        << last_message();
    evcs_free(version);
    ASSERT_EQ(evcs_session_commit(session, "seed"), EVCS_OK) << last_message();
    evcs_repository_free(repository);
    evcs_session_free(session);
    evcs_engine_free(engine);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::string directory_;
  std::string archive_;
  std::string source_;
};

TEST_F(CapiBackupTest, BackupRestoreAndVerifyReturnTheManifest) {
  char *out = nullptr;
  ASSERT_EQ(evcs_database_backup(&out, source_.c_str(), archive_.c_str()), EVCS_OK)
      << last_message();
  json manifest = take_json(out);
  // The manifest names the archive by its file name: the pair may be moved together.
  EXPECT_EQ(manifest.at("archive"), "source.dump");
  EXPECT_GE(manifest.at("server_version_num").get<int>(), 150000);
  json project;
  for (const auto &table : manifest.at("tables"))
    if (table.at("table") == "public.project_version") project = table;
  ASSERT_FALSE(project.is_null()) << manifest.dump();
  EXPECT_EQ(project.at("rows"), 1);
  EXPECT_EQ(project.at("md5").get<std::string>().size(), 32u);
  EXPECT_TRUE(fs::is_regular_file(archive_ + ".manifest.json"));

  std::string target = evcs_test::fresh_database("capi_backup_target");
  ASSERT_EQ(evcs_database_restore(&out, archive_.c_str(), target.c_str()), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out).at("tables"), manifest.at("tables"));
  ASSERT_EQ(evcs_database_verify_restore(&out, archive_.c_str(), target.c_str()), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out).at("tables"), manifest.at("tables"));
  evcs_engine *restored = open_engine(target);
  EXPECT_EQ(query_text(restored, "SELECT name FROM project_current"), "alpha");
  evcs_engine_free(restored);

  EXPECT_EQ(evcs_database_restore(&out, archive_.c_str(), source_.c_str()), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(last_message().rfind("database evcs_t_capi_backup_source is not empty", 0), 0u)
      << last_message();
  EXPECT_EQ(evcs_database_backup(&out, nullptr, archive_.c_str()), EVCS_EMISUSE);
  EXPECT_EQ(evcs_database_verify_restore(&out, archive_.c_str(), nullptr), EVCS_EMISUSE);
}

} // namespace
