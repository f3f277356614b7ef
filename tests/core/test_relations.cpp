// Relations between entity types, held per branch by the database: references with their
// on_delete action, unique keys and checks, on main and on branches, at several instants,
// through plain SQL, and against writers racing to break them.
#include "evcs/evcs.hpp"
#include "engine_test.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {

using json = nlohmann::json;

class RelationsTest : public evcs_test::EngineTest<RelationsTest> {
public:
  static constexpr const char *database = "core_relations";

protected:
  void SetUp() override {
    open_empty(8);
    auto s = engine_->session();
    s.create_entity_type("project", {{"title", "text"}});
    s.create_entity_type("person", {{"email", "text"}, {"org", "text"}},
                         {{{"email"}, {"org", "email"}}, {{"email_has_at", "email LIKE '%@%'"}}});
    s.create_entity_type("task", {{"title", "text"},
                                  {"project_id", "uuid not null", "project", "cascade"},
                                  {"owner_id", "", "person", "set null"},
                                  {"blocker_id", "", "task", "restrict"}});
    s.commit();
    project_ = s.repository("project").create({{"title", "p"}}).head_id;
    person_ = s.repository("person").create({{"email", "a@x"}}).head_id;
    task_ = s.repository("task")
                .create({{"title", "t"}, {"project_id", project_}, {"owner_id", person_}})
                .head_id;
    s.commit("the project, its owner and a task");
  }

  evcs::Session on(const std::string &branch = "main") { return engine_->session(branch, "tester"); }

  // The task's fields on a branch (now or as of an instant), or "gone" (deleted or absent).
  json task(const std::string &branch = "main", std::optional<std::int64_t> as_of = {}) {
    auto s = on(branch);
    auto version = s.repository("task").get(task_, as_of, branch);
    if (!version) return "gone";
    return version->fields;
  }

  bool live(const std::string &type, const std::string &head_id, const std::string &branch = "main") {
    return on(branch).repository(type).get(head_id).has_value();
  }

  std::int64_t count(const std::string &sql) {
    auto s = on();
    return s.scalar<std::int64_t>(sql).value_or(-1);
  }

  std::string project_, person_, task_;
};

TEST_F(RelationsTest, TheCatalogDescribesReferencesAndConstraints) {
  auto s = on();
  auto fields = s.repository("task").fields();
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[1].name, "project_id");
  EXPECT_EQ(fields[1].type, "uuid not null");
  EXPECT_EQ(fields[1].references, "project");
  EXPECT_EQ(fields[1].on_delete, "cascade");
  EXPECT_EQ(fields[2].type, "uuid");
  EXPECT_EQ(fields[2].on_delete, "set null");
  EXPECT_EQ(fields[3].on_delete, "restrict");
  EXPECT_EQ(fields[0].references, "");
}

// A write that keeps what the rules watch (liveness, references, unique keys) is settled by the
// insert trigger alone: the rules' function <type>_evcs_written runs only for a statement with a
// version that changes one of them. Counted by the server's function statistics.
TEST_F(RelationsTest, OnlyAWriteThatChangesWhatTheRulesWatchCallsTheirFunction) {
  auto calls = [this](const std::function<void(evcs::Session &)> &write) {
    auto s = on();
    s.execute("SET LOCAL track_functions = 'pl'");
    auto before = s.scalar<std::int64_t>("SELECT coalesce(pg_stat_get_function_calls("
                                         "'task_evcs_written(task_version[])'::regprocedure), 0)");
    write(s);
    s.execute("SELECT pg_stat_force_next_flush()");
    s.commit("a write");
    auto after = on().scalar<std::int64_t>("SELECT coalesce(pg_stat_get_function_calls("
                                           "'task_evcs_written(task_version[])'::regprocedure), 0)");
    return after.value() - before.value();
  };
  EXPECT_EQ(calls([this](evcs::Session &s) { s.repository("task").update(task_, {{"title", "u"}}); }),
            0);
  auto other = on();
  std::string second = other.repository("project").create({{"title", "q"}}).head_id;
  other.commit("another project");
  EXPECT_EQ(calls([&](evcs::Session &s) {
              s.repository("task").update(task_, {{"project_id", second}});
            }),
            1);
  EXPECT_EQ(calls([this](evcs::Session &s) { s.repository("task").remove(task_); }), 1);
  EXPECT_EQ(task(), "gone");
}

TEST_F(RelationsTest, AReferenceToADeletedEntityIsRefusedAndWritesNothing) {
  auto s = on();
  auto other = s.repository("project").create({{"title", "gone"}}).head_id;
  s.commit("a project");
  s.repository("project").remove(other);
  s.commit("the project deleted");
  auto before = count("SELECT count(*) FROM task_version");
  s.repository("task").create({{"title", "dangling"}, {"project_id", other}});
  try {
    s.commit("a task of a deleted project");
    FAIL() << "a dangling reference must be refused";
  } catch (const evcs::IntegrityError &error) {
    std::string message = error.what();
    EXPECT_NE(message.find("refers to project " + other), std::string::npos) << message;
    EXPECT_NE(message.find("project_id"), std::string::npos) << message;
  }
  EXPECT_EQ(count("SELECT count(*) FROM task_version"), before);
  // The session goes on after the refusal.
  s.repository("task").create({{"title", "fine"}, {"project_id", project_}});
  s.commit("a task of a live project");
  EXPECT_EQ(count("SELECT count(*) FROM task_version"), before + 1);
}

TEST_F(RelationsTest, AnAutocommitWriteIsCheckedToo) {
  auto s = on();
  s.set_autocommit(true);
  auto gone = s.repository("project").create({{"title", "gone"}}).head_id;
  s.repository("project").remove(gone);
  EXPECT_THROW(s.repository("task").create({{"title", "dangling"}, {"project_id", gone}}),
               evcs::IntegrityError);
  EXPECT_EQ(count("SELECT count(*) FROM task_version WHERE project_id = '" + gone + "'"), 0);
  // An update that points the task at the deleted project is refused the same way.
  EXPECT_THROW(s.repository("task").update(task_, {{"project_id", gone}}), evcs::IntegrityError);
  EXPECT_EQ(task()["project_id"], project_);
}

TEST_F(RelationsTest, RestrictRefusesTheDeleteOfAReferredEntity) {
  auto s = on();
  auto blocker = s.repository("task").create({{"title", "blocker"}, {"project_id", project_}}).head_id;
  s.repository("task").update(task_, {{"blocker_id", blocker}});
  s.commit("the task waits for the blocker");
  s.repository("task").remove(blocker);
  try {
    s.commit("delete the blocker");
    FAIL() << "restrict must refuse the delete";
  } catch (const evcs::IntegrityError &error) {
    std::string message = error.what();
    EXPECT_NE(message.find("task " + blocker), std::string::npos) << message;
    EXPECT_NE(message.find("task " + task_ + " still refers to it (field blocker_id)"),
              std::string::npos) << message;
  }
  EXPECT_TRUE(live("task", blocker));
  // Unblocked first, the delete goes through, in one transaction.
  s.repository("task").update(task_, {{"blocker_id", nullptr}});
  s.repository("task").remove(blocker);
  s.commit("unblock, then delete the blocker");
  EXPECT_FALSE(live("task", blocker));
}

TEST_F(RelationsTest, CascadeDeletesTheReferrersInTheSameCommit) {
  auto s = on();
  auto before = s.commit_log().front().stamp;
  auto second = s.repository("task").create({{"title", "t2"}, {"project_id", project_}}).head_id;
  s.commit("a second task");
  s.repository("project").remove(project_);
  s.commit("drop the project");
  auto stamp = s.commit_log().front().stamp;
  EXPECT_EQ(task(), "gone");
  EXPECT_FALSE(live("task", second));
  // One commit: the project's tombstone and both tasks' have its stamp.
  auto history = s.repository("task").history(task_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history.back().valid_from, stamp);
  EXPECT_EQ(s.repository("project").history(project_).back().valid_from, stamp);
  EXPECT_EQ(s.commit_log().front().changes, 3);
  // Time travel shows the task as it was before the cascade.
  EXPECT_EQ(task("main", before)["title"], "t");
  EXPECT_EQ(task("main", stamp - 1)["project_id"], project_);
}

TEST_F(RelationsTest, CascadeInAutocommitModeIsOneCommit) {
  auto s = on();
  s.set_autocommit(true);
  auto commits = s.commit_log().size();
  auto tombstone = s.repository("project").remove(project_);
  EXPECT_EQ(s.commit_log().size(), commits + 1);
  EXPECT_EQ(s.commit_log().front().changes, 2);
  EXPECT_EQ(s.repository("task").history(task_).back().valid_from, tombstone.valid_from);
  EXPECT_EQ(task(), "gone");
}

TEST_F(RelationsTest, SetNullClearsTheReferenceInTheSameCommit) {
  auto s = on();
  s.repository("person").remove(person_);
  s.commit("the owner leaves");
  auto stamp = s.commit_log().front().stamp;
  EXPECT_TRUE(task()["owner_id"].is_null());
  EXPECT_EQ(task()["title"], "t");
  EXPECT_EQ(s.repository("task").history(task_).back().valid_from, stamp);
  EXPECT_EQ(task("main", stamp - 1)["owner_id"], person_);
}

TEST_F(RelationsTest, RulesHoldPerBranch) {
  auto s = on();
  s.create_branch("b");
  s.commit();
  // A project that exists on b only cannot be referred to on main.
  auto b = on("b");
  auto local = b.repository("project").create({{"title", "b only"}}).head_id;
  b.commit("a project of b");
  s.repository("task").create({{"title", "main task"}, {"project_id", local}});
  EXPECT_THROW(s.commit("refer to b's project on main"), evcs::IntegrityError);
  b.repository("task").create({{"title", "b task"}, {"project_id", local}});
  b.commit("refer to it on b");
  // Deleting the project on b cascades to the task b reads through to main, on b only.
  b.repository("project").remove(project_);
  b.commit("drop the project on b");
  EXPECT_EQ(task("b"), "gone");
  EXPECT_EQ(task("main")["title"], "t");
  EXPECT_TRUE(live("project", project_));
}

TEST_F(RelationsTest, ALiveBranchKeepsItsReferencesWhenItsParentDeletes) {
  auto s = on();
  s.create_branch("live", "main", "live");
  s.commit();
  auto live = on("live");
  auto owner = s.repository("person").create({{"email", "owner@x"}}).head_id;
  s.commit("an owner on main");
  // A task of the live branch refers to main's project (read live) with restrict.
  auto blocker = s.repository("task").create({{"title", "main blocker"}, {"project_id", project_}}).head_id;
  s.commit("a blocker on main");
  live.repository("task").create({{"title", "live task"}, {"project_id", project_},
                                    {"owner_id", owner}, {"blocker_id", blocker}});
  live.commit("a task on the live branch");
  s.repository("task").remove(blocker);
  try {
    s.commit("delete the blocker on main");
    FAIL() << "the live branch would see a dangling reference";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_NE(std::string(error.what()).find("branch \"live\""), std::string::npos) << error.what();
  }
}

TEST_F(RelationsTest, UniqueKeysHoldAmongTheLiveEntitiesOfEachBranch) {
  auto s = on();
  s.repository("person").create({{"email", "a@x"}});
  try {
    s.commit("a second a@x");
    FAIL() << "two live a@x on main";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23505");
    EXPECT_NE(std::string(error.what()).find("have the same email"), std::string::npos);
  }
  // NULLs never clash; a composite key compares all its columns.
  s.repository("person").create({{"org", "o"}});
  s.repository("person").create({{"org", "o"}});
  s.commit("two people without email");
  // A branch reads main's a@x through: it clashes there too, until b deletes its copy.
  s.create_branch("b");
  s.commit();
  auto b = on("b");
  b.repository("person").create({{"email", "a@x"}});
  EXPECT_THROW(b.commit("a@x on b"), evcs::IntegrityError);
  b.repository("person").remove(person_);
  b.repository("person").create({{"email", "a@x"}});
  b.commit("a@x replaced on b");
  // History is not constrained: main deletes and re-creates the same email.
  s.repository("person").remove(person_);
  s.repository("person").create({{"email", "a@x"}});
  s.commit("a@x replaced on main");
  EXPECT_EQ(count("SELECT count(*) FROM person_version WHERE email = 'a@x'"), 5);
}

// The merge reports the violation as a conflict (tests/core/test_merge_violations.cpp).
TEST_F(RelationsTest, AMergeThatWouldBreakAUniqueKeyWritesNothing) {
  auto s = on();
  s.create_branch("b");
  s.commit();
  auto b = on("b");
  auto theirs = b.repository("person").create({{"email", "new@x"}}).head_id;
  b.commit("new@x on b");
  auto ours = s.repository("person").create({{"email", "new@x"}}).head_id;
  s.commit("new@x on main");
  auto versions = count("SELECT count(*) FROM person_version");
  try {
    s.merge("b");
    FAIL() << "the merge must be refused";
  } catch (const evcs::MergeConflict &error) {
    json conflicts = json::parse(error.detail_json()).at("conflicts");
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0]["kind"], "unique");
    EXPECT_EQ(conflicts[0]["head_id"], theirs);
    EXPECT_EQ(conflicts[0]["constraint"], "email");
    EXPECT_EQ(conflicts[0]["other_head_id"], ours);
  }
  EXPECT_EQ(count("SELECT count(*) FROM person_version"), versions);
  EXPECT_EQ(count("SELECT count(*) FROM evcs_commit WHERE merged_from = 'b'"), 0);
}

TEST_F(RelationsTest, ChecksAreConstraintsOfEveryVersion) {
  auto s = on();
  s.set_autocommit(true);
  try {
    s.repository("person").create({{"email", "no at sign"}});
    FAIL() << "the check must refuse it";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23514");
    EXPECT_NE(std::string(error.what()).find("person_check_email_has_at"), std::string::npos);
  }
}

TEST_F(RelationsTest, PlainSqlCannotBreakAReference) {
  auto s = on();
  auto gone = s.repository("project").create({{"title", "gone"}}).head_id;
  s.commit("a project");
  s.repository("project").remove(gone);
  s.commit("the project deleted");
  s.execute("UPDATE task_version SET project_id = '" + gone + "' WHERE head_id = '" + task_ + "'");
  EXPECT_THROW(s.commit(), evcs::IntegrityError);
  EXPECT_EQ(task()["project_id"], project_);
}

// Two transactions, each fine alone, together break a reference. Whichever writes first, the
// database keeps the rule: the delete waits for the writer's referring row (the storage foreign
// key's row lock) and then cascades to it, or the writer waits for the delete and is refused.
TEST_F(RelationsTest, ADeleteRacingAReferrerNeverLeavesItDangling) {
  for (bool deleter_first : {true, false}) {
    auto setup = on();
    auto target = setup.repository("project").create({{"title", "raced"}}).head_id;
    setup.commit("a project to race on");
    auto writer = on();
    auto deleter = on();
    std::string added;
    if (deleter_first) {
      deleter.repository("project").remove(target);
      std::thread late([&] {
        added = writer.repository("task").create({{"title", "new"}, {"project_id", target}}).head_id;
        EXPECT_THROW(writer.commit("a task of it"), evcs::IntegrityError);
      });
      deleter.commit("delete the project");
      late.join();
      EXPECT_FALSE(live("task", added));
    } else {
      added = writer.repository("task").create({{"title", "new"}, {"project_id", target}}).head_id;
      std::thread late([&] {
        deleter.repository("project").remove(target);
        deleter.commit("delete the project");
      });
      writer.commit("a task of it");
      late.join();
      EXPECT_FALSE(live("task", added)) << "the delete cascades to the task committed meanwhile";
    }
    EXPECT_FALSE(live("project", target));
    EXPECT_EQ(count("SELECT count(*) FROM task_version t JOIN project_version p ON p.head_id = "
                    "t.project_id AND p.branch = 'main' AND p.valid_to IS NULL WHERE t.branch = "
                    "'main' AND t.valid_to IS NULL AND NOT t.deleted AND p.deleted"),
              0) << (deleter_first ? "deleter first" : "writer first");
  }
}

TEST_F(RelationsTest, ConcurrentWritersOfOneEmailLeaveExactlyOne) {
  constexpr int writers = 6;
  std::atomic<int> committed{0}, refused{0};
  std::vector<std::thread> threads;
  for (int index = 0; index < writers; ++index)
    threads.emplace_back([&] {
      auto s = on();
      s.repository("person").create({{"email", "race@x"}});
      try {
        s.commit("race@x");
        ++committed;
      } catch (const evcs::IntegrityError &) {
        ++refused;
      }
    });
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(committed.load(), 1);
  EXPECT_EQ(refused.load(), writers - 1);
  EXPECT_EQ(count("SELECT count(*) FROM person_version WHERE email = 'race@x'"), 1);
}

TEST_F(RelationsTest, BadDeclarationsAreRefusedClearly) {
  auto s = on();
  EXPECT_THROW(s.create_entity_type("a", {{"x", "", "nowhere", ""}}), evcs::NotFound);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "", "project", "explode"}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "text", "project", ""}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "uuid not null", "project", "set null"}}),
               evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "int", "", "cascade"}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "int"}}, {{{"y"}}, {}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "int"}}, {{{}}, {}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "int"}}, {{}, {{"c", "x > 0; DROP TABLE task"}}}),
               evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("a", {{"x", "int"}}, {{}, {{"Bad Name", "x > 0"}}}),
               evcs::InvalidArgument);
  // None of them left anything behind, and the session is usable.
  s.create_entity_type("a", {{"x", "", "a", "cascade"}}, {{{"x"}}, {{"positive", "x IS NOT NULL"}}});
  s.commit();
  EXPECT_EQ(count("SELECT count(*) FROM evcs_entity_type WHERE name = 'a'"), 1);
  // A type referred to cannot be dropped while its referrers exist.
  EXPECT_THROW(s.execute("SELECT evcs_drop_entity_type('project')"), evcs::Error);
}

}  // namespace
