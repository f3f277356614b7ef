// Migrations (docs/migrations.md) against a real server: each test on its own fresh database, with its steps
// written into a scratch directory.
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;

namespace {

class Migrations : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("mig_") + info->name();
    for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    url_ = evcs_test::fresh_database(name);
    char pattern[] = "/tmp/evcs-migrations-XXXXXX";
    directory_ = ::mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(directory_); }

  evcs::Engine engine(bool echo = false) {
    evcs::EngineOptions options;
    options.url = url_;
    options.echo = echo;
    return evcs::Engine(options);
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
  static bool exists(evcs::Engine &engine, const std::string &relation) {
    auto session = engine.session();
    return session.scalar<bool>("SELECT to_regclass($1) IS NOT NULL", evcs::Params::of(relation))
        .value();
  }
  static std::int64_t count(evcs::Engine &engine, const std::string &sql) {
    auto session = engine.session();
    return session.scalar<std::int64_t>(sql).value();
  }

  std::string url_;
  std::string directory_;
};

void three_steps(const std::function<void(const std::string &, const std::string &,
                                          const std::string &)> &step) {
  step("0001_create_project", "CREATE TABLE project (id int PRIMARY KEY, name text NOT NULL);\n",
       "DROP TABLE project;\n");
  step("0002_seed_project",
       "INSERT INTO project VALUES (1, 'alpha'), (2, 'beta; with a semicolon');\n",
       "DELETE FROM project WHERE id IN (1, 2);\n");
  step("0003_create_task",
       "-- tasks belong to projects\n"
       "CREATE TABLE task (\n"
       "    id int PRIMARY KEY,\n"
       "    project_id int NOT NULL REFERENCES project (id)\n"
       ");\n"
       "CREATE FUNCTION task_count() RETURNS bigint LANGUAGE sql AS $body$\n"
       "    SELECT count(*) FROM task; -- a semicolon inside a dollar-quoted body\n"
       "$body$;\n",
       "DROP FUNCTION task_count();\nDROP TABLE task;\n");
}

} // namespace

// ---- splitting SQL ------------------------------------------------------------------------------

TEST(SqlStatements, SplitsAtTopLevelSemicolonsOnly) {
  auto statements = evcs::split_sql_statements(
      "-- leading comment; not a statement\n"
      "SELECT 'a;b', \"x;y\" FROM t;\n"
      "/* block /* nested; */ still comment; */\n"
      "SELECT E'it\\'s;', 'it''s;';\n"
      "DO $$ BEGIN PERFORM 1; END $$;\n"
      "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql;;\n"
      "SELECT $1::int\n"
      "  + 2\n");
  ASSERT_EQ(statements.size(), 5u);
  EXPECT_EQ(statements[0].text, "SELECT 'a;b', \"x;y\" FROM t");
  EXPECT_EQ(statements[0].line, 2);
  EXPECT_EQ(statements[1].text, "SELECT E'it\\'s;', 'it''s;'");
  EXPECT_EQ(statements[1].line, 4);
  EXPECT_EQ(statements[2].text, "DO $$ BEGIN PERFORM 1; END $$");
  EXPECT_EQ(statements[2].line, 5);
  EXPECT_EQ(statements[3].text, "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql");
  EXPECT_EQ(statements[4].text, "SELECT $1::int\n  + 2");
  EXPECT_EQ(statements[4].line, 7);
  EXPECT_EQ(evcs::line_of_position(statements[4], 17), 8);
}

TEST(SqlStatements, CountsLinesInCharactersNotBytes) {
  evcs::SqlStatement statement{"SELECT 'é',\n  nope", 3};
  // "nope" is character 15 ('é' is one character and two bytes).
  EXPECT_EQ(evcs::line_of_position(statement, 15), 4);
  EXPECT_EQ(evcs::line_of_position(statement, 11), 3);
}

TEST(SqlStatements, UnterminatedQuoteNamesSourceAndLine) {
  try {
    evcs::split_sql_statements("SELECT 1;\nSELECT 'open;\n", "0001_x.up.sql");
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::migration_error);
    EXPECT_EQ(error.sqlstate(), "");
    EXPECT_NE(std::string(error.what()).find("0001_x.up.sql:2: unterminated string"),
              std::string::npos)
        << error.what();
  }
}

// ---- running steps ------------------------------------------------------------------------------

TEST_F(Migrations, UpgradeHeadDowngradeBaseUpgradeHead) {
  three_steps([this](auto name, auto up, auto down) { step(name, up, down); });
  auto db = engine();
  evcs::MigrationOptions options;
  options.author = "tester";
  evcs::MigrationRunner runner(db, directory_, options);
  ASSERT_EQ(runner.steps().size(), 3u);
  EXPECT_EQ(runner.current(), std::nullopt);
  EXPECT_EQ(runner.pending().size(), 3u);

  auto applied = runner.upgrade("head");
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[2].name(), "0003_create_task");
  EXPECT_EQ(runner.current(), 3);
  EXPECT_TRUE(runner.pending().empty());
  EXPECT_EQ(count(db, "SELECT task_count() + count(*) FROM project"), 2);
  auto history = runner.history();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version, 1);
  EXPECT_EQ(history[1].slug, "seed_project");
  EXPECT_EQ(history[2].applied_by, "postgres (tester)");
  {
    // The recorded checksum is the SHA-256 of the up file, as the server computes it too.
    std::ifstream in(runner.steps()[2].up_path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto session = db.session();
    EXPECT_EQ(history[2].checksum,
              session.scalar<std::string>("SELECT encode(sha256($1), 'hex')",
                                          evcs::Params().add_bytes(content)));
  }
  EXPECT_TRUE(runner.upgrade("head").empty());

  auto reverted = runner.downgrade("-1");
  ASSERT_EQ(reverted.size(), 1u);
  EXPECT_EQ(reverted[0].version, 3);
  EXPECT_FALSE(exists(db, "task"));
  EXPECT_EQ(runner.current(), 2);

  reverted = runner.downgrade("base");
  ASSERT_EQ(reverted.size(), 2u);
  EXPECT_EQ(reverted[0].version, 2);
  EXPECT_EQ(reverted[1].version, 1);
  EXPECT_EQ(runner.current(), std::nullopt);
  EXPECT_FALSE(exists(db, "project"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM evcs_migration"), 0);

  EXPECT_EQ(runner.upgrade("+1").size(), 1u);
  EXPECT_EQ(runner.current(), 1);
  EXPECT_EQ(runner.upgrade("head").size(), 2u);
  EXPECT_EQ(runner.current(), 3);
  EXPECT_EQ(count(db, "SELECT count(*) FROM project"), 2);
}

TEST_F(Migrations, TargetsOutsideTheDirectionOfTravelAreRejected) {
  three_steps([this](auto name, auto up, auto down) { step(name, up, down); });
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  runner.upgrade("2");
  EXPECT_THROW(runner.upgrade("1"), evcs::InvalidArgument);
  EXPECT_THROW(runner.downgrade("3"), evcs::InvalidArgument);
  EXPECT_THROW(runner.downgrade("-3"), evcs::InvalidArgument);
  EXPECT_THROW(runner.upgrade("7"), evcs::NotFound);
  EXPECT_THROW(runner.upgrade("latest"), evcs::InvalidArgument);
  EXPECT_EQ(runner.current(), 2);
}

TEST_F(Migrations, ConcurrentRunnersApplyEachStepOnce) {
  step("0001_create_log", "CREATE TABLE applied_log (step int);\n", "DROP TABLE applied_log;\n");
  // A slow step keeps the first runner inside its lock while the second arrives.
  step("0002_slow", "SELECT pg_sleep(0.3);\nINSERT INTO applied_log VALUES (2);\n",
       "DELETE FROM applied_log WHERE step = 2;\n");
  step("0003_more", "INSERT INTO applied_log VALUES (3);\n",
       "DELETE FROM applied_log WHERE step = 3;\n");
  auto db = engine();
  std::vector<std::size_t> applied_counts;
  std::mutex mutex;
  auto run = [&] {
    evcs::MigrationRunner runner(db, directory_);
    auto applied = runner.upgrade();
    std::lock_guard<std::mutex> lock(mutex);
    applied_counts.push_back(applied.size());
  };
  std::thread first(run);
  std::thread second(run);
  first.join();
  second.join();
  std::sort(applied_counts.begin(), applied_counts.end());
  EXPECT_EQ(applied_counts, (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(count(db, "SELECT count(*) FROM applied_log"), 2);
  EXPECT_EQ(count(db, "SELECT count(*) FROM evcs_migration"), 3);
}

TEST_F(Migrations, FailingStepLeavesTheDatabaseAsBefore) {
  step("0001_create_project", "CREATE TABLE project (id int PRIMARY KEY);\n"
                              "INSERT INTO project VALUES (1);\n",
       "DROP TABLE project;\n");
  std::string broken = write("0002_broken.up.sql",
                             "CREATE TABLE task (id int);\n"
                             "INSERT INTO project VALUES (2);\n"
                             "INSERT INTO project (id)\n"
                             "SELECT id\n"
                             "FROM no_such_table;\n");
  write("0002_broken.down.sql", "DROP TABLE task;\n");
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  try {
    runner.upgrade();
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::migration_error);
    EXPECT_EQ(error.sqlstate(), "42P01");
    std::string message = error.what();
    EXPECT_EQ(message.rfind(broken + ":5: relation \"no_such_table\" does not exist. The step "
                                     "was rolled back",
                            0),
              0u)
        << message;
  }
  EXPECT_FALSE(exists(db, "task"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM project"), 1);
  EXPECT_EQ(runner.current(), 1);
  EXPECT_EQ(runner.pending().size(), 1u);
}

TEST_F(Migrations, SyntaxErrorNamesItsLine) {
  std::string path = write("0001_typo.up.sql", "-- a comment line\n"
                                               "CREATE TABLE ok (id int);\n"
                                               "\n"
                                               "SELEC 1;\n");
  write("0001_typo.down.sql", "DROP TABLE ok;\n");
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  try {
    runner.upgrade();
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(error.sqlstate(), "42601");
    EXPECT_EQ(std::string(error.what()).rfind(path + ":4: syntax error at or near \"SELEC\"", 0),
              0u)
        << error.what();
  }
  EXPECT_FALSE(exists(db, "ok"));
  EXPECT_EQ(runner.current(), std::nullopt);
}

TEST_F(Migrations, EditedAppliedStepFailsVerifyAndUpgrade) {
  three_steps([this](auto name, auto up, auto down) { step(name, up, down); });
  auto db = engine();
  evcs::MigrationRunner(db, directory_).upgrade("2");
  std::string edited = write("0002_seed_project.up.sql", "INSERT INTO project VALUES (3, 'x');\n");
  evcs::MigrationRunner runner(db, directory_);
  for (auto operation : {+[](evcs::MigrationRunner &r) { r.verify(); },
                         +[](evcs::MigrationRunner &r) { r.upgrade(); }}) {
    try {
      operation(runner);
      FAIL() << "expected MigrationError";
    } catch (const evcs::MigrationError &error) {
      EXPECT_EQ(error.sqlstate(), "");
      EXPECT_EQ(std::string(error.what()).rfind(edited + " was edited after it was applied", 0),
                0u)
          << error.what();
    }
  }
  EXPECT_EQ(runner.current(), 2);
  EXPECT_FALSE(exists(db, "task"));
}

TEST_F(Migrations, OfflineSqlIsExactlyWhatUpgradeRuns) {
  three_steps([this](auto name, auto up, auto down) { step(name, up, down); });
  step("0004_index_concurrently",
       "-- evcs: transactional=false\nCREATE INDEX CONCURRENTLY task_project ON task (project_id);\n",
       "-- evcs: transactional=false\nDROP INDEX CONCURRENTLY task_project;\n");
  auto db = engine(true);
  std::vector<std::string> log, executed_log;
  std::mutex mutex;
  db.set_logger([&](const std::string &line) {
    std::lock_guard<std::mutex> lock(mutex);
    log.push_back(line.substr(0, line.rfind(" [")));
  });
  evcs::MigrationOptions options;
  options.author = "o'brien";
  evcs::MigrationRunner runner(db, directory_, options);
  std::string offline = runner.upgrade_sql();
  EXPECT_FALSE(exists(db, "evcs_migration"));
  EXPECT_FALSE(exists(db, "project"));
  EXPECT_NE(offline.find("-- 0004_index_concurrently.up.sql (transactional=false)\n"),
            std::string::npos);

  {
    std::lock_guard<std::mutex> lock(mutex);
    log.clear();
  }
  ASSERT_EQ(runner.upgrade().size(), 4u);
  // BEGIN travels with the first statement of a transaction instead of being logged alone.
  std::vector<std::string> expected;
  for (const auto &statement : evcs::split_sql_statements(offline))
    if (statement.text != "BEGIN") expected.push_back(statement.text);
  {
    std::lock_guard<std::mutex> lock(mutex);
    executed_log.swap(log);
  }
  auto first = std::find(executed_log.begin(), executed_log.end(), expected.front());
  ASSERT_NE(first, executed_log.end());
  auto available = static_cast<std::size_t>(executed_log.end() - first);
  std::vector<std::string> executed(
      first, first + static_cast<std::ptrdiff_t>(std::min(expected.size(), available)));
  EXPECT_EQ(executed, expected);
  EXPECT_EQ(runner.history()[3].applied_by, "postgres (o'brien)");

  std::string downgrade = runner.downgrade_sql("base");
  EXPECT_EQ(downgrade.rfind("-- 0004_index_concurrently.down.sql (transactional=false)\n"
                            "SELECT set_config('evcs.step_started', clock_timestamp()::text, "
                            "false);\n"
                            "DROP INDEX CONCURRENTLY task_project;\n"
                            "BEGIN;\n"
                            "DELETE FROM evcs_migration WHERE version = 4;\n"
                            "COMMIT;\n",
                            0),
            0u)
      << downgrade;
  EXPECT_EQ(runner.current(), 4);
}

TEST_F(Migrations, BatchedStepCommitsPerBatchAndReportsProgress) {
  step("0001_create_big",
       "CREATE TABLE big (id int PRIMARY KEY, migrated bool NOT NULL DEFAULT false);\n"
       "INSERT INTO big (id) SELECT generate_series(1, 1000000);\n",
       "DROP TABLE big;\n");
  step("0002_backfill",
       "-- Marks rows in batches of 100,000 so no transaction holds them all.\n"
       "-- evcs: batch\n"
       "UPDATE big SET migrated = true\n"
       "WHERE id IN (SELECT id FROM big WHERE NOT migrated ORDER BY id LIMIT 100000);\n",
       "");
  auto db = engine();
  std::vector<evcs::BatchProgress> progress;
  std::vector<std::int64_t> committed_at_each_batch;
  evcs::MigrationOptions options;
  options.on_batch = [&](const evcs::BatchProgress &batch) {
    progress.push_back(batch);
    // Another connection sees the batch: it was committed.
    committed_at_each_batch.push_back(count(db, "SELECT count(*) FROM big WHERE migrated"));
  };
  evcs::MigrationRunner runner(db, directory_, options);
  ASSERT_EQ(runner.upgrade().size(), 2u);
  ASSERT_EQ(progress.size(), 10u);
  for (std::size_t i = 0; i < progress.size(); ++i) {
    EXPECT_EQ(progress[i].batch, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(progress[i].rows, 100000);
    EXPECT_EQ(progress[i].total_rows, static_cast<std::int64_t>(i + 1) * 100000);
    EXPECT_EQ(committed_at_each_batch[i], static_cast<std::int64_t>(i + 1) * 100000);
  }
  EXPECT_EQ(progress.back().file, runner.steps()[1].up_path);
  EXPECT_EQ(count(db, "SELECT count(*) FROM big WHERE NOT migrated"), 0);
  EXPECT_EQ(runner.current(), 2);
}

TEST_F(Migrations, NonTransactionalStepCreatesIndexConcurrently) {
  step("0001_create_item",
       "CREATE TABLE item (id int PRIMARY KEY, sku text);\n"
       "INSERT INTO item SELECT i, 'sku-' || i FROM generate_series(1, 1000) AS i;\n",
       "DROP TABLE item;\n");
  step("0002_index_sku",
       "-- evcs: transactional=false\n"
       "CREATE INDEX CONCURRENTLY item_sku ON item (sku);\n"
       "CREATE INDEX CONCURRENTLY item_sku_id ON item (sku, id);\n",
       "-- evcs: transactional=false\n"
       "DROP INDEX CONCURRENTLY item_sku_id;\nDROP INDEX CONCURRENTLY item_sku;\n");
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  runner.upgrade();
  EXPECT_EQ(count(db, "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid IN "
                      "('item_sku'::regclass, 'item_sku_id'::regclass)"),
            2);
  EXPECT_EQ(runner.current(), 2);
  EXPECT_GE(runner.history()[1].duration_ms, 0);
  runner.downgrade("1");
  EXPECT_FALSE(exists(db, "item_sku"));
  EXPECT_EQ(runner.current(), 1);
}

TEST_F(Migrations, StampRecordsWithoutRunning) {
  three_steps([this](auto name, auto up, auto down) { step(name, up, down); });
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  runner.stamp("head");
  EXPECT_EQ(runner.current(), 3);
  EXPECT_FALSE(exists(db, "project"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM evcs_migration WHERE duration_ms <> 0"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM evcs_migration"), 3);
  runner.stamp("1");
  EXPECT_EQ(runner.current(), 1);
  EXPECT_EQ(runner.pending().size(), 2u);
  runner.stamp("base");
  EXPECT_EQ(runner.current(), std::nullopt);
}

TEST_F(Migrations, NewStepWritesTheNextNumberedPair) {
  std::string first = evcs::MigrationRunner::new_step(directory_, "Add project budget!");
  EXPECT_EQ(first, directory_ + "/0001_add_project_budget.up.sql");
  EXPECT_TRUE(fs::exists(directory_ + "/0001_add_project_budget.down.sql"));
  std::string second = evcs::MigrationRunner::new_step(directory_, "  index tasks -- by project ");
  EXPECT_EQ(second, directory_ + "/0002_index_tasks_by_project.up.sql");
  EXPECT_THROW(evcs::MigrationRunner::new_step(directory_, "!!!"), evcs::InvalidArgument);
  // The new (empty) steps apply and revert.
  auto db = engine();
  evcs::MigrationRunner runner(db, directory_);
  EXPECT_EQ(runner.upgrade().size(), 2u);
  EXPECT_EQ(runner.downgrade("base").size(), 2u);
}

// ---- bad directories ----------------------------------------------------------------------------

struct BadDirectory {
  const char *name;
  std::vector<std::pair<std::string, std::string>> files;
  // The start of the message, after the directory prefix.
  std::string message;
};

class BadMigrationDirectory : public ::testing::TestWithParam<BadDirectory> {};

TEST_P(BadMigrationDirectory, IsRejectedNamingTheFile) {
  char pattern[] = "/tmp/evcs-migrations-XXXXXX";
  std::string directory = ::mkdtemp(pattern);
  for (const auto &[name, content] : GetParam().files)
    std::ofstream((fs::path(directory) / name).string(), std::ios::binary) << content;
  evcs::EngineOptions options;
  options.url = evcs_test::server_url();
  evcs::Engine db(options);
  try {
    evcs::MigrationRunner runner(db, directory);
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::migration_error);
    EXPECT_EQ(error.sqlstate(), "");
    std::string message = error.what();
    std::string expected = GetParam().message;
    std::size_t at = 0;
    while ((at = expected.find("DIR", at)) != std::string::npos) expected.replace(at, 3, directory);
    EXPECT_EQ(message.rfind(expected, 0), 0u) << message;
  }
  fs::remove_all(directory);
}

INSTANTIATE_TEST_SUITE_P(
    Validation, BadMigrationDirectory,
    ::testing::Values(
        BadDirectory{"short_number", {{"001_x.up.sql", ""}, {"001_x.down.sql", ""}},
                     "malformed migration file name DIR/001_x.down.sql"},
        BadDirectory{"uppercase_slug", {{"0001_Add.up.sql", ""}},
                     "malformed migration file name DIR/0001_Add.up.sql"},
        BadDirectory{"no_direction", {{"0001_add.sql", ""}},
                     "malformed migration file name DIR/0001_add.sql"},
        BadDirectory{"gap",
                     {{"0001_a.up.sql", ""}, {"0001_a.down.sql", ""}, {"0003_c.up.sql", ""},
                      {"0003_c.down.sql", ""}},
                     "gap in migration numbering: DIR/0003_c.up.sql comes after "
                     "DIR/0001_a.up.sql, but the next number must be 2"},
        BadDirectory{"not_from_one", {{"0002_b.up.sql", ""}, {"0002_b.down.sql", ""}},
                     "gap in migration numbering: DIR/0002_b.up.sql comes after nothing"},
        BadDirectory{"duplicate",
                     {{"0001_a.up.sql", ""}, {"0001_a.down.sql", ""}, {"0001_b.up.sql", ""}},
                     "duplicate migration number 0001: DIR/0001_a.up.sql and DIR/0001_b.up.sql"},
        BadDirectory{"missing_down", {{"0001_a.up.sql", ""}},
                     "DIR/0001_a.up.sql has no down step: add DIR/0001_a.down.sql"},
        BadDirectory{"down_without_up", {{"0001_a.down.sql", ""}},
                     "DIR/0001_a.down.sql has no up step"},
        BadDirectory{"unknown_directive",
                     {{"0001_a.up.sql", "-- fine\n-- evcs: transactional=maybe\nSELECT 1;"},
                      {"0001_a.down.sql", ""}},
                     "DIR/0001_a.up.sql:2: unknown directive 'transactional=maybe'"},
        BadDirectory{"batch_of_two",
                     {{"0001_a.up.sql", "-- evcs: batch\nSELECT 1;\nSELECT 2;\n"},
                      {"0001_a.down.sql", ""}},
                     "DIR/0001_a.up.sql: a batch step must hold exactly one statement (it has 2)"},
        BadDirectory{"own_transaction",
                     {{"0001_a.up.sql", "SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT;\n"},
                      {"0001_a.down.sql", ""}},
                     "DIR/0001_a.up.sql:2: BEGIN in a step"},
        BadDirectory{"unterminated_dollar_quote",
                     {{"0001_a.up.sql", ""},
                      {"0001_a.down.sql", "SELECT 1;\n\nDO $x$ BEGIN END $y$;\n"}},
                     "DIR/0001_a.down.sql:3: unterminated dollar-quoted body $x$"}),
    [](const auto &info) { return std::string(info.param.name); });

TEST(MigrationDirectory, MissingDirectorySaysHowToStart) {
  evcs::EngineOptions options;
  options.url = evcs_test::server_url();
  evcs::Engine db(options);
  try {
    evcs::MigrationRunner runner(db, "/nonexistent/migrations");
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(std::string(error.what()),
              "migrations directory /nonexistent/migrations does not exist: create it, or "
              "create a first step with `evcs migrate new \"message\" --dir "
              "/nonexistent/migrations`");
  }
}
