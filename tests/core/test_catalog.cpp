// The SDK's own catalog as migrations (docs/architecture.md, docs/migrations.md): compiled-in steps applied by the runner on
// an engine's first use, recorded in evcs_catalog_migration; each test on a fresh database.
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace {

const std::string recognised = " (recognised: created by an earlier evcs)";

class Catalog : public ::testing::Test {
protected:
  void SetUp() override {
    std::string name = std::string("cat_") +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    url_ = evcs_test::fresh_database(name);
  }

  evcs::Engine engine(bool echo = false) {
    evcs::EngineOptions options;
    options.url = url_;
    options.echo = echo;
    return evcs::Engine(options);
  }
  // An engine whose statements are appended to `log`.
  evcs::Engine logged_engine(std::vector<std::string> &log) {
    auto logged = engine(true);
    logged.set_logger([this, &log](const std::string &line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log.push_back(line);
    });
    return logged;
  }
  std::size_t count_containing(const std::vector<std::string> &log, const std::string &text) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto &line) {
      return line.find(text) != std::string::npos;
    }));
  }
  static bool exists(evcs::Engine &engine, const std::string &relation) {
    auto session = engine.session();
    return session.scalar<bool>("SELECT to_regclass($1) IS NOT NULL", evcs::Params::of(relation))
        .value();
  }
  static std::string current_user(evcs::Engine &engine) {
    auto session = engine.session();
    return session.scalar<std::string>("SELECT current_user::text").value();
  }
  // The catalog as engines before its steps were recorded created it: its first `steps` up
  // steps as one script, in one transaction.
  void create_catalog_the_old_way(std::size_t steps) {
    const char *const files[] = {"0001_evcs_catalog.up.sql", "0002_evcs_entity_ddl.up.sql",
                                 "0003_evcs_single_write_stamp.up.sql"};
    auto old = engine();
    auto session = old.session();
    for (const char *file : std::vector<const char *>(files, files + steps)) {
      std::ifstream in(fs::path(EVCS_MIGRATIONS_DIR) / file);
      std::stringstream text;
      text << in.rdbuf();
      for (const auto &statement : evcs::split_sql_statements(text.str(), file))
        session.execute(statement.text);
    }
    session.commit();
  }

  std::string url_;
  std::mutex log_mutex_;
};

TEST_F(Catalog, AFreshDatabaseRecordsEveryCompiledStepWithItsChecksum) {
  auto db = engine();
  db.session().branches();

  auto catalog = evcs::MigrationRunner::catalog(db);
  EXPECT_EQ(catalog.directory(), "evcs:catalog");
  const auto &steps = catalog.steps();
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0].name(), "0001_evcs_catalog");
  EXPECT_EQ(steps[0].up_path, "evcs:catalog/0001_evcs_catalog.up.sql");
  EXPECT_EQ(steps[0].down_path, "evcs:catalog/0001_evcs_catalog.down.sql");
  EXPECT_EQ(steps[1].name(), "0002_evcs_entity_ddl");
  auto history = catalog.history();
  ASSERT_EQ(history.size(), steps.size());
  std::string user = current_user(db);
  for (std::size_t index = 0; index < steps.size(); ++index) {
    EXPECT_EQ(history[index].version, static_cast<int>(index + 1));
    EXPECT_EQ(history[index].slug, steps[index].slug);
    EXPECT_EQ(history[index].checksum, steps[index].checksum);
    EXPECT_EQ(history[index].checksum.size(), 64u);
    EXPECT_EQ(history[index].applied_by, user);
  }
  EXPECT_EQ(catalog.current(), static_cast<int>(steps.size()));
  EXPECT_TRUE(catalog.pending().empty());
  EXPECT_NO_THROW(catalog.verify());
  // The user's own record table is another numbering space, untouched by the catalog.
  EXPECT_FALSE(exists(db, "evcs_migration"));
}

TEST_F(Catalog, UserStepsNumberedFromOneDoNotCollideWithTheCatalogs) {
  char pattern[] = "/tmp/evcs-catalog-XXXXXX";
  fs::path directory = ::mkdtemp(pattern);
  std::ofstream(directory / "0001_create_note.up.sql")
      << "SELECT evcs_create_entity_type('note', '[{\"name\": \"text\", \"type\": \"text\"}]');\n";
  std::ofstream(directory / "0001_create_note.down.sql") << "SELECT evcs_drop_entity_type('note');\n";
  auto db = engine();
  db.session().branches();
  evcs::MigrationRunner user(db, directory.string());
  ASSERT_EQ(user.upgrade().size(), 1u);
  fs::remove_all(directory);

  EXPECT_EQ(user.current(), 1);
  auto catalog = evcs::MigrationRunner::catalog(db);
  EXPECT_EQ(catalog.current(), static_cast<int>(catalog.steps().size()));
  EXPECT_EQ(catalog.history().front().slug, "evcs_catalog");
  EXPECT_EQ(user.history().front().slug, "create_note");
}

TEST_F(Catalog, AnEngineThatKnowsTheCatalogIsCurrentSendsNoQueryForIt) {
  std::vector<std::string> log;
  auto db = logged_engine(log);
  db.session().branches();
  EXPECT_GE(count_containing(log, "evcs_catalog_migration"), 1u);
  {
    std::lock_guard<std::mutex> lock(log_mutex_);
    log.clear();
  }
  for (int call = 0; call < 3; ++call) db.session().branches();
  EXPECT_EQ(count_containing(log, "evcs_catalog_migration"), 0u);
  EXPECT_EQ(count_containing(log, "to_regclass"), 0u);
}

TEST_F(Catalog, ACatalogCreatedBeforeStepsWereRecordedIsRecognisedThenUpgraded) {
  create_catalog_the_old_way(2);
  std::vector<std::string> log;
  auto db = logged_engine(log);
  EXPECT_FALSE(exists(db, "evcs_catalog_migration"));
  auto catalog = evcs::MigrationRunner::catalog(db);
  std::string offline = catalog.upgrade_sql();
  EXPECT_NE(offline.find("-- 0001_evcs_catalog.up.sql (in place, created by an earlier evcs: "
                         "recorded, not run)\nBEGIN;\nINSERT INTO evcs_catalog_migration"),
            std::string::npos)
      << offline;
  EXPECT_NE(offline.find("-- 0002_evcs_entity_ddl.up.sql (in place"), std::string::npos);

  {
    auto session = db.session();
    session.create_entity_type("project", {{"name", "text not null"}});
    session.commit();
  }
  // Nothing of 0001 or 0002 ran again: they were recorded as found.
  EXPECT_EQ(count_containing(log, "CREATE TABLE IF NOT EXISTS evcs_entity_type"), 0u);
  EXPECT_EQ(count_containing(log, "CREATE OR REPLACE FUNCTION evcs_require_column_name"), 0u);
  auto history = catalog.history();
  const auto &steps = catalog.steps();
  ASSERT_EQ(history.size(), steps.size());
  std::string user = current_user(db);
  for (std::size_t index = 0; index < steps.size(); ++index) {
    EXPECT_EQ(history[index].version, static_cast<int>(index + 1));
    EXPECT_EQ(history[index].checksum, steps[index].checksum);
    if (index < 2) {
      EXPECT_EQ(history[index].duration_ms, 0);
      EXPECT_EQ(history[index].applied_by, user + recognised);
    } else {
      EXPECT_EQ(history[index].applied_by, user);
    }
  }
  EXPECT_NO_THROW(catalog.verify());
  auto session = db.session();
  EXPECT_EQ(session.scalar<std::int64_t>("SELECT count(*) FROM evcs_entity_type"), 1);
}

TEST_F(Catalog, AllThreeStepsEarlierEnginesInstalledAreRecognised) {
  create_catalog_the_old_way(3);
  std::vector<std::string> log;
  auto db = logged_engine(log);
  db.session().branches();
  auto catalog = evcs::MigrationRunner::catalog(db);
  auto history = catalog.history();
  ASSERT_EQ(history.size(), catalog.steps().size());
  std::string user = current_user(db);
  for (std::size_t index = 0; index < 3; ++index)
    EXPECT_EQ(history[index].applied_by, user + recognised);
  EXPECT_EQ(count_containing(log, "CREATE OR REPLACE FUNCTION evcs_stamp_single_write"), 0u);
  EXPECT_EQ(count_containing(log, "INSERT INTO evcs_catalog_migration"), history.size());
}

TEST_F(Catalog, ADatabaseOneStepBehindIsUpgradedOnFirstUseByANewerEngine) {
  std::size_t head = 0;
  {
    auto older = engine();
    older.session().branches();
    auto catalog = evcs::MigrationRunner::catalog(older);
    head = catalog.steps().size();
    auto reverted = catalog.downgrade("-1");
    ASSERT_EQ(reverted.size(), 1u);
    EXPECT_EQ(reverted[0].version, static_cast<int>(head));
    EXPECT_EQ(catalog.current(), static_cast<int>(head - 1));
    EXPECT_EQ(catalog.pending().size(), 1u);
  }
  std::vector<std::string> log;
  auto newer = logged_engine(log);
  {
    auto session = newer.session();
    session.create_entity_type("project", {{"name", "text"}});
    session.commit();
  }
  auto catalog = evcs::MigrationRunner::catalog(newer);
  EXPECT_EQ(catalog.current(), static_cast<int>(head));
  EXPECT_EQ(count_containing(log, "INSERT INTO evcs_catalog_migration"), 1u);
  EXPECT_EQ(catalog.history().back().version, static_cast<int>(head));
}

TEST_F(Catalog, DowngradingTheCatalogMakesTheSameEngineCheckItAgain) {
  auto db = engine();
  db.session().branches();
  auto catalog = evcs::MigrationRunner::catalog(db);
  int head = static_cast<int>(catalog.steps().size());
  ASSERT_EQ(catalog.downgrade("base").size(), static_cast<std::size_t>(head));
  EXPECT_FALSE(exists(db, "evcs_branch"));
  EXPECT_EQ(catalog.current(), std::nullopt);

  auto branches = db.session().branches();
  ASSERT_EQ(branches.size(), 1u);
  EXPECT_EQ(branches[0].name, "main");
  EXPECT_EQ(catalog.current(), head);
}

TEST_F(Catalog, EnginesRacingOnAFreshDatabaseApplyEachStepExactlyOnce) {
  std::vector<std::string> log_a, log_b;
  auto a = logged_engine(log_a);
  auto b = logged_engine(log_b);
  std::mutex start_mutex;
  start_mutex.lock();
  auto first_use = [&](evcs::Engine &engine, const std::string &type) {
    std::lock_guard<std::mutex> wait(start_mutex);
    auto session = engine.session();
    session.create_entity_type(type, {{"name", "text"}});
    session.commit();
  };
  std::thread racer_a([&] { first_use(a, "alpha"); });
  std::thread racer_b([&] { first_use(b, "beta"); });
  start_mutex.unlock();
  racer_a.join();
  racer_b.join();

  auto catalog = evcs::MigrationRunner::catalog(a);
  std::size_t head = catalog.steps().size();
  EXPECT_EQ(catalog.history().size(), head);
  EXPECT_EQ(count_containing(log_a, "INSERT INTO evcs_catalog_migration") +
                count_containing(log_b, "INSERT INTO evcs_catalog_migration"),
            head);
  EXPECT_EQ(count_containing(log_a, "CREATE TABLE IF NOT EXISTS evcs_entity_type") +
                count_containing(log_b, "CREATE TABLE IF NOT EXISTS evcs_entity_type"),
            1u);
  auto session = a.session();
  EXPECT_EQ(session.scalar<std::int64_t>("SELECT count(*) FROM evcs_entity_type"), 2);
}

class CatalogBehind : public Catalog {
protected:
  void SetUp() override {
    Catalog::SetUp();
    auto older = engine();
    older.session().branches();
    auto catalog = evcs::MigrationRunner::catalog(older);
    head_ = static_cast<int>(catalog.steps().size());
    catalog.downgrade("-1");
  }
  int head_ = 0;
};

TEST_F(CatalogBehind, ACallerWhoseOpenTransactionHoldsANeededLockGetsAnErrorNotADeadlock) {
  auto db = engine();
  auto session = db.session();
  // The upgrade records its step in this table: the caller's lock stands in its way.
  session.execute("LOCK TABLE evcs_catalog_migration IN EXCLUSIVE MODE");
  auto started = std::chrono::steady_clock::now();
  try {
    session.branches();
    FAIL() << "the upgrade did not wait for the caller's lock";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(error.sqlstate(), "55P03");
    EXPECT_NE(std::string(error.what()).find("commit or roll back, then retry"),
              std::string::npos)
        << error.what();
  }
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::seconds(3));
  EXPECT_LT(waited, std::chrono::seconds(15));
  // The failed step was rolled back and the caller's transaction is untouched.
  EXPECT_EQ(evcs::MigrationRunner::catalog(db).current(), head_ - 1);
  EXPECT_TRUE(session.in_transaction());
  session.rollback();

  auto branches = session.branches();
  EXPECT_EQ(branches.size(), 1u);
  EXPECT_EQ(evcs::MigrationRunner::catalog(db).current(), head_);
}

TEST_F(CatalogBehind, ACallerWithAnOpenTransactionButNoConflictingLockIsUpgradedInPlace) {
  auto db = engine();
  auto session = db.session();
  session.execute("CREATE TABLE mine (id int)");
  EXPECT_EQ(session.branches().size(), 1u);
  session.commit();
  EXPECT_EQ(evcs::MigrationRunner::catalog(db).current(), head_);
  EXPECT_TRUE(exists(db, "mine"));
}

TEST_F(CatalogBehind, WithNoTransactionOpenTheUpgradeWaitsForOtherTransactionsLocks) {
  auto db = engine();
  auto other = engine();
  auto holder = other.session();
  holder.execute("LOCK TABLE evcs_catalog_migration IN EXCLUSIVE MODE");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::seconds(4));
    holder.rollback();
  });
  auto session = db.session();
  EXPECT_EQ(session.branches().size(), 1u);
  release.join();
  EXPECT_EQ(evcs::MigrationRunner::catalog(db).current(), head_);
}

} // namespace
