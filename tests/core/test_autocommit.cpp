// Autocommit sessions: each repository write is its own transaction, stamped by the write itself
// (one round trip), with the same time rules (docs/versioning.md) as writes stamped at commit.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace {

using json = nlohmann::json;

class AutocommitTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("core_autocommit"));
  }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto session = engine_->session();
    session.execute("DROP TABLE IF EXISTS task_version, task CASCADE");
    session.execute("DO $$ BEGIN IF to_regclass('evcs_entity_type') IS NOT NULL THEN "
                    "DELETE FROM evcs_entity_type WHERE name = 'task'; "
                    "DELETE FROM evcs_branch_base WHERE branch <> 'main'; "
                    "DELETE FROM evcs_branch WHERE name <> 'main'; "
                    "DELETE FROM evcs_commit; "
                    "DROP FUNCTION IF EXISTS task_evcs_write; END IF; END $$");
    session.commit();
    session.create_entity_type("task", {{"title", "text not null"}, {"points", "int"}});
    session.commit();
  }

  evcs::Session autocommit_session(const std::string &author = "alice",
                                   const std::string &branch = "main") {
    auto session = engine_->session(branch, author);
    session.set_autocommit(true);
    return session;
  }

  // An engine that logs every statement it sends into `log`.
  static evcs::Engine statement_logging_engine(std::vector<std::string> &log) {
    evcs::EngineOptions options;
    options.url = *url_;
    options.echo = true;
    evcs::Engine engine(options);
    engine.set_logger([&log](const std::string &line) { log.push_back(line); });
    return engine;
  }

  std::int64_t scalar(const std::string &sql) {
    auto session = engine_->session();
    return session.execute(sql).get_int64(0, 0);
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *AutocommitTest::url_ = nullptr;

TEST_F(AutocommitTest, EachWriteCommitsStampedWithItsOwnCommit) {
  auto s = autocommit_session();
  EXPECT_TRUE(s.autocommit());
  auto repo = s.repository("task");
  auto created = repo.create({{"title", "write docs"}, {"points", 3}});
  auto updated = repo.update(created.head_id, {{"points", 5}});

  auto other = engine_->session();
  auto history = other.repository("task").history(created.head_id);
  ASSERT_EQ(history.size(), 2u) << "both writes are visible to another session at once";
  EXPECT_EQ(history[0].valid_from, created.valid_from);
  EXPECT_EQ(history[0].valid_to, updated.valid_from);
  EXPECT_EQ(history[1].valid_from, updated.valid_from);
  EXPECT_LT(created.valid_from, updated.valid_from);
  EXPECT_NE(updated.valid_from, INT64_MAX) << "returned with its commit stamp, not pending";

  auto log = other.execute("SELECT stamp, branch, author, message, changes FROM evcs_commit "
                           "ORDER BY stamp");
  ASSERT_EQ(log.rows(), 2);
  EXPECT_EQ(log.get_timestamp(0, 0), created.valid_from);
  EXPECT_EQ(log.get_timestamp(1, 0), updated.valid_from);
  EXPECT_EQ(log.get_text(1, 1), "main");
  EXPECT_EQ(log.get_text(1, 2), "alice");
  EXPECT_TRUE(log.is_null(1, 3));
  EXPECT_EQ(log.get_int64(1, 4), 1);
  EXPECT_EQ(scalar("SELECT (last_stamp = (SELECT max(stamp) FROM evcs_commit))::int FROM evcs_clock"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version WHERE valid_from = 'infinity' OR "
                   "valid_to = 'infinity'"),
            0);
  s.commit();
  s.rollback();
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 2) << "commit and rollback: nothing to do";
}

TEST_F(AutocommitTest, AnUnchangedUpdateWritesNothingAndLogsNothing) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto created = repo.create({{"title", "same"}});
  auto unchanged = repo.update(created.head_id, {{"title", "same"}});
  EXPECT_EQ(unchanged.version, 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM evcs_commit"), 1);
}

TEST_F(AutocommitTest, AFailedWriteLeavesNothingBehind) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto created = repo.create({{"title", "t"}, {"points", 1}});
  EXPECT_THROW(repo.update(created.head_id, {{"points", "many"}}), evcs::Error);
  EXPECT_THROW(repo.update(created.head_id, {{"points", 2}}, 7), evcs::ConcurrentModification);
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM evcs_commit"), 1);
  EXPECT_EQ(repo.update(created.head_id, {{"points", 2}}).version, 2) << "the session goes on";
}

TEST_F(AutocommitTest, AnUpdateIsOneStatement) {
  std::vector<std::string> log;
  auto logged_engine = statement_logging_engine(log);
  auto s = logged_engine.session("main", "alice");
  s.set_autocommit(true);
  auto repo = s.repository("task");
  auto created = repo.create({{"title", "t"}, {"points", 1}});
  log.clear();
  auto updated = repo.update(created.head_id, {{"points", 2}}, 1);
  EXPECT_EQ(updated.version, 2);
  EXPECT_EQ(updated.fields["points"], 2);
  EXPECT_EQ(updated.fields["title"], "t");
  EXPECT_EQ(updated.author, "alice");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].find("task_evcs_write"), std::string::npos) << log[0];
  EXPECT_EQ(scalar("SELECT count(*) FROM evcs_commit WHERE stamp = (SELECT valid_from FROM "
                   "task_version WHERE version = 2)"), 1);
}

// The one-statement update sends each value as text in its column's type; the write function
// reads it from JSON. Both must write the same value, whatever its shape.
TEST_F(AutocommitTest, AValueOfEveryShapeIsWrittenAsTheWriteFunctionWritesIt) {
  {
    auto setup = engine_->session();
    setup.execute("DROP TABLE IF EXISTS shaped_version, shaped CASCADE");
    setup.execute("DELETE FROM evcs_entity_type WHERE name = 'shaped'");
    setup.execute("DROP FUNCTION IF EXISTS shaped_evcs_write");
    setup.create_entity_type("shaped", {{"label", "text"},
                                        {"tags", "text[]"},
                                        {"doc", "jsonb"},
                                        {"amount", "numeric(12,2)"},
                                        {"due", "timestamptz"},
                                        {"ref", "uuid"},
                                        {"done", "boolean"},
                                        {"ratio", "float8"},
                                        {"n", "int"}});
    setup.commit();
  }
  std::vector<std::string> log;
  auto logged_engine = statement_logging_engine(log);
  auto fast = logged_engine.session("main", "alice");
  fast.set_autocommit(true);
  auto by_statement = fast.repository("shaped");
  auto unit = engine_->session("main", "alice");
  auto by_function = unit.repository("shaped");
  const json start = {{"label", "x"}, {"n", 1}};
  const auto fast_id = by_statement.create(start).head_id;
  const auto function_id = by_function.create(start).head_id;
  unit.commit();

  const json changes[] = {
      {{"label", 1.5},
       {"tags", {"a", "b\"c", "d\\e", nullptr, "x,y", "{}", " space "}},
       {"doc", {{"k", {1, {{"z", "ü\ttab"}}}}, {"empty", json::object()}}},
       {"amount", "12.345"},
       {"due", "2026-01-02T03:04:05+02:00"},
       {"ref", "6f1c1a3e-0000-4000-8000-00000000002a"},
       {"done", true},
       {"ratio", 0.1},
       {"n", "42"}},
      {{"label", true}, {"tags", "{p,\"q r\"}"}, {"doc", "text"}, {"n", nullptr}},
      {{"label", nullptr}, {"tags", json::array()}, {"doc", {1, 2}}, {"amount", 7}}};
  for (const auto &change : changes) {
    log.clear();
    auto written = by_statement.update(fast_id, change);
    ASSERT_EQ(log.size(), 1u) << change.dump();
    EXPECT_EQ(log[0].find("shaped_evcs_write"), std::string::npos) << log[0];
    auto expected = by_function.update(function_id, change);
    unit.commit();
    EXPECT_EQ(written.fields, expected.fields) << change.dump();
    EXPECT_EQ(by_statement.get(fast_id)->fields, by_function.get(function_id)->fields);
  }
  EXPECT_EQ(by_statement.get(fast_id)->version, 4);

  // A list for a scalar column or a number for a list column goes to the write function, which
  // refuses it as it always did.
  for (const json &change : {json{{"n", {1, 2}}}, json{{"tags", 5}}}) {
    log.clear();
    EXPECT_THROW(by_statement.update(fast_id, change), evcs::Error) << change.dump();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("shaped_evcs_write"), std::string::npos) << log[0];
  }
  EXPECT_EQ(by_statement.get(fast_id)->version, 4);
}

TEST_F(AutocommitTest, EveryCaseOfAnUpdateBehavesAsTheWriteFunctionDefinesIt) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto created = repo.create({{"title", "t"}, {"points", 1}});
  EXPECT_EQ(repo.update(created.head_id, {{"points", 2}}, 1).version, 2) << "expected version met";
  auto setup = engine_->session();
  setup.create_branch("feature");
  setup.commit();

  auto on_branch = autocommit_session("bob", "feature");
  auto branch_repo = on_branch.repository("task");
  auto first = branch_repo.update(created.head_id, {{"points", 3}});
  EXPECT_EQ(first.branch, "feature");
  EXPECT_EQ(first.version, 1) << "the branch read the entity through to main";
  EXPECT_EQ(first.parent_branch, "main");
  EXPECT_EQ(first.parent_version, 2);
  auto second = branch_repo.update(created.head_id, {{"title", "t2"}});
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(second.parent_branch, "main") << "the lineage stays recorded";
  EXPECT_EQ(second.parent_version, 2);
  EXPECT_EQ(second.author, "bob");
  EXPECT_EQ(second.fields["points"], 3);
  EXPECT_EQ(second.fields["title"], "t2");
  EXPECT_EQ(repo.get(created.head_id)->fields["points"], 2) << "main is untouched";

  setup.lock_branch("feature");
  setup.commit();
  const auto commits = [this] { return scalar("SELECT count(*) FROM evcs_commit"); };
  auto logged = commits();
  EXPECT_THROW(branch_repo.update(created.head_id, {{"points", 4}}), evcs::BranchLocked);
  EXPECT_EQ(commits(), logged);
  EXPECT_EQ(branch_repo.get(created.head_id)->version, 2) << "a locked branch serves reads";
  setup.unlock_branch("feature");
  setup.commit();

  branch_repo.remove(created.head_id);
  logged = commits();
  EXPECT_THROW(branch_repo.update(created.head_id, {{"points", 5}}), evcs::NotFound)
      << "a deleted entity is restored first";
  EXPECT_EQ(commits(), logged);

  setup.drop_column("task", "points");
  setup.commit();
  logged = commits();
  EXPECT_THROW(repo.update(created.head_id, {{"title", "t3"}}), evcs::Error)
      << "a repository opened before the definition changed fails, writing nothing";
  EXPECT_EQ(commits(), logged);
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 5);
  EXPECT_EQ(s.repository("task").update(created.head_id, {{"title", "t3"}}).version, 3);
  EXPECT_EQ(scalar("SELECT (last_stamp = (SELECT max(stamp) FROM evcs_commit))::int FROM "
                   "evcs_clock"),
            1);
}

TEST_F(AutocommitTest, BeginOpensATransactionAsUsual) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  {
    auto transaction = s.begin();
    auto first = repo.create({{"title", "one"}});
    auto second = repo.create({{"title", "two"}});
    EXPECT_EQ(first.valid_from, INT64_MAX) << "pending until the transaction commits";
    transaction.commit();
  }
  EXPECT_EQ(scalar("SELECT count(DISTINCT valid_from) FROM task_version"), 1)
      << "one stamp for the transaction";
  EXPECT_EQ(scalar("SELECT changes FROM evcs_commit"), 2);
  {
    auto transaction = s.begin();
    repo.create({{"title", "three"}});
    transaction.rollback();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 2);
  repo.create({{"title", "four"}});
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 3) << "autocommit again afterwards";
}

TEST_F(AutocommitTest, SwitchingModesNeedsNoTransactionInProgress) {
  auto s = engine_->session("main", "alice");
  EXPECT_FALSE(s.autocommit());
  s.repository("task").create({{"title", "pending"}});
  EXPECT_THROW(s.set_autocommit(true), evcs::MisuseError);
  s.commit();
  s.set_autocommit(true);
  s.execute("SELECT 1");
  s.set_autocommit(false) /* no transaction: statements ran on their own */;
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 1);
}

TEST_F(AutocommitTest, StatementsRunOnTheirOwn) {
  auto s = autocommit_session();
  s.execute("CREATE TEMP TABLE scratch (n int)");
  s.execute("INSERT INTO scratch VALUES (1)");
  EXPECT_THROW(s.execute("INSERT INTO scratch VALUES ('x')"), evcs::Error);
  EXPECT_EQ(s.execute("SELECT count(*) FROM scratch").get_int64(0, 0), 1)
      << "the failed statement rolled back only itself";
  s.execute("CREATE INDEX CONCURRENTLY scratch_n ON scratch (n)");
}

TEST_F(AutocommitTest, OperationsOfSeveralStatementsStillLandWhole) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto created = repo.create_many(json::array({{{"title", "a"}}, {{"title", "b"}}}));
  EXPECT_NE(created.valid_from, INT64_MAX);
  s.create_branch("feature");
  auto branches = s.branches();
  ASSERT_EQ(branches.size(), 2u);
  ASSERT_TRUE(branches[1].fork_stamp.has_value());
  EXPECT_NE(*branches[1].fork_stamp, INT64_MAX) << "the branch's commit stamped its fork point";

  auto feature = autocommit_session("bob", "feature");
  feature.repository("task").update(created.head_ids[0], {{"points", 8}});
  auto merged = s.merge("feature");
  EXPECT_EQ(merged.changes.size(), 1u);
  EXPECT_EQ(repo.get(created.head_ids[0])->fields["points"], 8);
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version WHERE valid_from = 'infinity' OR "
                   "valid_to = 'infinity'"),
            0);
  EXPECT_EQ(scalar("SELECT count(*) FROM evcs_branch WHERE fork_stamp = 'infinity'"), 0);
}

TEST_F(AutocommitTest, RunInTransactionIsStillOneTransaction) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  EXPECT_THROW(s.run_in_transaction([&](evcs::Session &) {
    repo.create({{"title", "first"}});
    repo.create({{"title", nullptr}});
  }),
               evcs::Error);
  EXPECT_EQ(scalar("SELECT count(*) FROM task_version"), 0) << "the first create rolled back too";
}

TEST_F(AutocommitTest, ConcurrentUpdatesOfOneEntityMakeContiguousVersions) {
  std::string head;
  {
    auto s = autocommit_session();
    head = s.repository("task").create({{"title", "contended"}, {"points", -1}}).head_id;
  }
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&, thread] {
      // Half the writers commit per write, half through an explicit commit.
      auto s = engine_->session("main", "thread" + std::to_string(thread));
      s.set_autocommit(thread % 2 == 0);
      auto repo = s.repository("task");
      for (int i = 0; i < 50; ++i) {
        repo.update(head, {{"points", thread * 100 + i}});
        s.commit();
      }
    });
  }
  for (auto &thread : threads) thread.join();
  auto s = engine_->session();
  auto history = s.repository("task").history(head);
  ASSERT_EQ(history.size(), 201u);
  for (std::size_t i = 1; i < history.size(); ++i) {
    EXPECT_EQ(history[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(history[i - 1].valid_to, history[i].valid_from);
    EXPECT_LT(history[i - 1].valid_from, history[i].valid_from);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM evcs_commit"), 201);
}

// A write that waits for an entity locked by a transaction in progress takes its stamp only
// once it holds the lock: no deadlock with that transaction's commit, and it stamps after it.
TEST_F(AutocommitTest, AWriteWaitingForATransactionStampsAfterItsCommit) {
  std::string head;
  {
    auto s = autocommit_session();
    head = s.repository("task").create({{"title", "shared"}}).head_id;
  }
  auto holder = engine_->session("main", "holder");
  holder.repository("task").update(head, {{"points", 1}});
  auto waiting = std::async(std::launch::async, [&] {
    auto s = autocommit_session("waiter");
    return s.repository("task").update(head, {{"title", "renamed"}});
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "the autocommit write waits for the entity's lock";
  holder.commit();
  auto written = waiting.get();
  EXPECT_EQ(written.version, 3);
  EXPECT_EQ(written.fields["points"], 1) << "written over the committed change";
  auto history = engine_->session().repository("task").history(head);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_LT(history[1].valid_from, history[2].valid_from);
  EXPECT_EQ(history[1].valid_to, history[2].valid_from);
}

TEST_F(AutocommitTest, APastInstantDoesNotChangeWhenAWriteCommitsLater) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto a = repo.create({{"title", "a0"}});
  auto b = repo.create({{"title", "b0"}});
  auto long_session = engine_->session("main", "long");
  long_session.repository("task").update(a.head_id, {{"title", "a1"}});
  auto short_write = repo.update(b.head_id, {{"title", "b1"}});
  EXPECT_EQ(repo.get(a.head_id, short_write.valid_from)->fields["title"], "a0");
  long_session.commit();
  EXPECT_EQ(repo.get(a.head_id, short_write.valid_from)->fields["title"], "a0")
      << "the past did not change";
  EXPECT_GT(repo.history(a.head_id).back().valid_from, short_write.valid_from);
}

} // namespace

namespace {

// An as-of read of an instant no later than the last committed stamp cannot be changed by a
// commit in flight (those stamp later), so it does not wait for one; a later instant does.
TEST_F(AutocommitTest, OnlyAReadOfAnUnsettledInstantWaitsForACommitInFlight) {
  auto s = autocommit_session();
  auto repo = s.repository("task");
  auto first = repo.create({{"title", "v1"}});
  auto second = repo.update(first.head_id, {{"title", "v2"}});
  const std::int64_t unsettled = second.valid_from + 3600LL * 1000000;
  EXPECT_EQ(repo.get(first.head_id, unsettled)->fields["title"], "v2")
      << "reading an unsettled instant teaches the engine the last committed stamp";

  // What a commit holds between taking its stamp and becoming visible.
  auto in_flight = engine_->session();
  in_flight.execute("SELECT pg_advisory_xact_lock(7311140392591977840)");
  auto settled_read = std::async(std::launch::async, [&] {
    auto reader = engine_->session();
    auto reader_repo = reader.repository("task");
    evcs::FindOptions at_first;
    at_first.as_of = first.valid_from;
    return std::make_pair(reader_repo.get(first.head_id, second.valid_from)->fields["title"],
                          reader_repo.find(at_first).size());
  });
  const bool settled_read_done =
      settled_read.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!settled_read_done) in_flight.rollback();
  ASSERT_TRUE(settled_read_done) << "instants up to the last committed stamp do not wait";
  EXPECT_EQ(settled_read.get(), std::make_pair(json("v2"), std::size_t{1}));
  auto unsettled_read = std::async(std::launch::async, [&] {
    auto reader = engine_->session();
    return reader.repository("task").get(first.head_id, unsettled)->fields["title"];
  });
  EXPECT_EQ(unsettled_read.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "a later instant waits for the commit in flight";
  in_flight.rollback();
  EXPECT_EQ(unsettled_read.get(), "v2");
}

} // namespace
