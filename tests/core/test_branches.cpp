// Branches: read-through without copies, isolation from the parent, snapshot vs live, locks.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

namespace {

class BranchTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_branches")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("work_package", {{"title", "text not null"}, {"budget", "numeric"}});
    bridge_ = s.repository("work_package").create({{"title", "bridge"}, {"budget", 100}}).head_id;
    s.commit();
  }

  evcs::Session on(const std::string &branch) { return engine_->session(branch, "tester"); }

  nlohmann::json budget(const std::string &branch, std::optional<std::int64_t> as_of = {}) {
    auto s = on(branch);
    auto version = s.repository("work_package").get(bridge_, as_of);
    return version ? version->fields["budget"] : nlohmann::json("absent");
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
  std::string bridge_;
};

std::string *BranchTest::url_ = nullptr;

TEST_F(BranchTest, ABranchReadsThroughAndNeverModifiesItsParent) {
  {
    auto s = on("main");
    s.create_branch("change-order");
    s.commit();
  }
  EXPECT_EQ(budget("change-order"), "100") << "read through to main without a copy";
  auto s = on("change-order");
  auto repo = s.repository("work_package");
  auto changed = repo.update(bridge_, {{"budget", 150}});
  EXPECT_EQ(changed.branch, "change-order");
  EXPECT_EQ(changed.version, 1);
  EXPECT_EQ(changed.parent_branch, "main");
  EXPECT_EQ(changed.parent_version, 1);
  s.commit();
  EXPECT_EQ(budget("change-order"), "150");
  EXPECT_EQ(budget("main"), "100");
  auto main = on("main");
  EXPECT_EQ(main.repository("work_package").history(bridge_).size(), 1u);
  EXPECT_EQ(main.scalar<std::int64_t>("SELECT count(*) FROM work_package_version WHERE branch = 'main'").value(), 1);
}

TEST_F(BranchTest, SnapshotBranchesIgnoreLaterParentChangesLiveBranchesSeeThem) {
  {
    auto s = on("main");
    s.create_branch("snap", "main", "snapshot");
    s.create_branch("live", "main", "live");
    s.commit();
  }
  {
    auto s = on("main");
    s.repository("work_package").update(bridge_, {{"budget", 120}});
    s.commit();
  }
  EXPECT_EQ(budget("snap"), "100");
  EXPECT_EQ(budget("live"), "120");
  auto branches = on("main").branches();
  ASSERT_EQ(branches.size(), 3u);
  EXPECT_EQ(branches[1].name, "snap");
  EXPECT_EQ(branches[1].parent, "main");
  EXPECT_EQ(branches[1].mode, "snapshot");
  EXPECT_EQ(branches[1].created_by, "tester");
  ASSERT_TRUE(branches[1].fork_stamp.has_value());
  EXPECT_LT(*branches[1].fork_stamp, INT64_MAX) << "the fork point is the creating commit's stamp";
}

TEST_F(BranchTest, CreationsAndDeletesStayOnTheBranch) {
  {
    auto s = on("main");
    s.create_branch("b");
    s.commit();
  }
  auto s = on("b");
  auto repo = s.repository("work_package");
  auto tunnel = repo.create({{"title", "tunnel"}}).head_id;
  repo.remove(bridge_);
  s.commit();
  EXPECT_EQ(repo.count(), 1);
  EXPECT_EQ(repo.find()[0].fields["title"], "tunnel");
  EXPECT_FALSE(repo.get(bridge_).has_value());
  auto main_session = on("main");
  auto main_repo = main_session.repository("work_package");
  EXPECT_EQ(main_repo.count(), 1);
  EXPECT_EQ(main_repo.find()[0].fields["title"], "bridge");
  EXPECT_FALSE(main_repo.get(tunnel).has_value());
}

TEST_F(BranchTest, BranchesOfBranchesAndTwoBranchesChangingOneEntity) {
  {
    auto s = on("main");
    s.create_branch("a");
    s.create_branch("b");
    s.commit();
  }
  {
    auto s = on("a");
    s.repository("work_package").update(bridge_, {{"budget", 111}});
    s.create_branch("a2", "a");
    s.commit();
  }
  {
    auto s = on("b");
    s.repository("work_package").update(bridge_, {{"budget", 222}});
    s.commit();
  }
  EXPECT_EQ(budget("a"), "111");
  EXPECT_EQ(budget("b"), "222");
  EXPECT_EQ(budget("a2"), "111") << "a2 reads through a, as of its fork point";
  EXPECT_EQ(budget("main"), "100");
  auto s = on("a2");
  s.repository("work_package").update(bridge_, {{"title", "bridge (a2)"}});
  s.commit();
  auto mine = s.repository("work_package").get(bridge_);
  EXPECT_EQ(mine->parent_branch, "a");
  EXPECT_EQ(mine->fields["budget"], "111");
}

TEST_F(BranchTest, TimeTravelOnABranch) {
  {
    auto s = on("main");
    s.create_branch("t");
    s.commit();
  }
  auto s = on("t");
  auto repo = s.repository("work_package");
  repo.update(bridge_, {{"budget", 1}});
  s.commit();
  // The branch's history starts with main's version it read through to, then its own.
  auto history = repo.history(bridge_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].branch, "main");
  EXPECT_EQ(history[1].branch, "t");
  auto first = history[1].valid_from;
  repo.update(bridge_, {{"budget", 2}});
  s.commit();
  EXPECT_EQ(budget("t", first - 1), "100") << "before the branch wrote it: the parent's";
  EXPECT_EQ(budget("t", first), "1");
  EXPECT_EQ(budget("t"), "2");
  evcs::FindOptions past;
  past.as_of = first - 1;
  EXPECT_EQ(repo.find(past)[0].fields["budget"], "100");
}

TEST_F(BranchTest, ALockedBranchRejectsWritesAndServesReads) {
  {
    auto s = on("main");
    s.create_branch("frozen");
    s.commit();
    s.lock_branch("frozen");
    s.commit();
  }
  auto s = on("frozen");
  auto repo = s.repository("work_package");
  try {
    repo.update(bridge_, {{"budget", 5}});
    FAIL() << "a locked branch must reject writes";
  } catch (const evcs::BranchLocked &error) {
    EXPECT_EQ(error.sqlstate(), "EVL01");
  }
  s.rollback();
  EXPECT_EQ(repo.get(bridge_)->fields["budget"], "100");
  {
    auto admin = on("main");
    admin.unlock_branch("frozen");
    admin.commit();
  }
  EXPECT_EQ(repo.update(bridge_, {{"budget", 5}}).fields["budget"], "5");
  s.commit();
  {
    auto admin = on("main");
    admin.archive_branch("frozen");
    admin.commit();
    EXPECT_THROW(admin.unlock_branch("frozen"), evcs::InvalidArgument);
    admin.rollback();
    EXPECT_THROW(admin.archive_branch("main"), evcs::InvalidArgument);
  }
  EXPECT_THROW(repo.create({{"title", "x"}}), evcs::BranchLocked);
}

TEST_F(BranchTest, BadBranchInput) {
  auto s = on("main");
  EXPECT_THROW(s.create_branch("bad name"), evcs::InvalidArgument);
  EXPECT_THROW(s.create_branch("x'; DROP TABLE evcs_branch; --"), evcs::InvalidArgument);
  EXPECT_THROW(s.create_branch("x", "no-such-parent"), evcs::NotFound);
  s.rollback();
  EXPECT_THROW(s.create_branch("x", "main", "sideways"), evcs::InvalidArgument);
  EXPECT_THROW(s.create_branch("main"), evcs::InvalidArgument);
  s.rollback();
  EXPECT_THROW(s.lock_branch("ghost"), evcs::NotFound);
  s.rollback();
  auto ghost = on("ghost");
  EXPECT_THROW(ghost.repository("work_package").create({{"title", "x"}}), evcs::NotFound);
}

TEST_F(BranchTest, ASnapshotBranchCanForkFromAPastInstant) {
  std::int64_t before_raise = 0;
  {
    auto s = on("main");
    auto repo = s.repository("work_package");
    before_raise = repo.get(bridge_)->valid_from;
    repo.update(bridge_, {{"budget", 120}});
    s.commit();
    s.create_branch("audit", "main", "snapshot", before_raise);
    s.commit();
  }
  EXPECT_EQ(budget("audit"), "100") << "the parent as of the fork point, before the raise";
  EXPECT_EQ(budget("main"), "120");
  auto branches = on("main").branches();
  ASSERT_EQ(branches.size(), 2u);
  EXPECT_EQ(branches[1].fork_stamp, before_raise);
  {
    auto s = on("audit");
    s.repository("work_package").update(bridge_, {{"title", "old bridge"}});
    s.commit();
  }
  auto s = on("main");
  auto preview = s.merge_preview("audit");
  ASSERT_EQ(preview.conflicts.size(), 0u) << "base = main at the fork point: only the title moved";
  ASSERT_EQ(preview.changes.size(), 1u);
  EXPECT_EQ(preview.changes[0].fields.count("budget"), 0u);
  EXPECT_EQ(preview.changes[0].fields.at("title").new_value, "old bridge");
}

TEST_F(BranchTest, AForkPointMustBeAPastInstantOfASnapshotBranch) {
  auto s = on("main");
  std::int64_t now = s.repository("work_package").get(bridge_)->valid_from;
  EXPECT_THROW(s.create_branch("later", "main", "snapshot", now + 3600LL * 1000000),
               evcs::InvalidArgument);
  s.rollback();
  EXPECT_THROW(s.create_branch("live-past", "main", "live", now), evcs::InvalidArgument);
  s.rollback();
  EXPECT_EQ(s.branches().size(), 1u) << "nothing was created";
}

} // namespace
