// The commit log: every commit that wrote versions, created a branch or merged, newest first,
// filtered by branch, entity type and entity.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

namespace {

class CommitLogTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("core_commit_log"));
  }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("project", {{"name", "text not null"}, {"budget", "numeric"}});
    s.create_entity_type("task", {{"title", "text"}});
    s.commit();
  }

  evcs::Session as(const std::string &author, const std::string &branch = "main") {
    return engine_->session(branch, author);
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *CommitLogTest::url_ = nullptr;

std::vector<std::string> messages(const std::vector<evcs::CommitInfo> &commits) {
  std::vector<std::string> result;
  for (const auto &commit : commits) result.push_back(commit.message);
  return result;
}

TEST_F(CommitLogTest, ListsCommitsNewestFirstWithTheirAuthorsBranchesAndChanges) {
  std::string bridge, road;
  std::int64_t first_stamp = 0;
  {
    auto s = as("alice");
    auto projects = s.repository("project");
    bridge = projects.create({{"name", "bridge"}, {"budget", 100}}).head_id;
    road = projects.create({{"name", "road"}}).head_id;
    s.commit("two projects");
    first_stamp = projects.get(bridge)->valid_from;
    s.repository("task").create({{"title", "survey"}});
    s.commit("a task");
    s.create_branch("feature");
    s.commit("branch feature");
  }
  {
    auto s = as("bob", "feature");
    s.repository("project").update(bridge, {{"budget", 150}});
    s.commit("raise the bridge budget");
  }
  auto s = as("carol");
  s.merge("feature", std::nullopt, "fail", "bring in the budget");

  auto log = s.commit_log();
  ASSERT_EQ(log.size(), 4u) << "creating a branch writes no versions and logs no commit";
  EXPECT_EQ(messages(log), (std::vector<std::string>{"bring in the budget", "raise the bridge budget",
                                                     "a task", "two projects"}));
  EXPECT_EQ(log[0].branch, "main");
  EXPECT_EQ(log[0].author, "carol");
  EXPECT_EQ(log[0].changes, 1);
  EXPECT_EQ(log[0].merged_from, "feature");
  EXPECT_EQ(log[1].branch, "feature");
  EXPECT_EQ(log[1].author, "bob");
  EXPECT_FALSE(log[1].merged_from.has_value());
  EXPECT_EQ(log[3].changes, 2);
  EXPECT_EQ(log[3].stamp, first_stamp) << "the stamp is the valid_from of the versions written";
  for (std::size_t i = 1; i < log.size(); ++i) EXPECT_LT(log[i].stamp, log[i - 1].stamp);
  // The graph: main's commits chain; feature's first commit has the commit it was forked from
  // as its parent; the merge has main's head and feature's head.
  for (const auto &commit : log) EXPECT_EQ(commit.id.size(), 40u);
  EXPECT_EQ(log[3].parents, std::vector<std::string>{});
  EXPECT_EQ(log[2].parents, std::vector<std::string>{log[3].id});
  EXPECT_EQ(log[1].parents, std::vector<std::string>{log[2].id});
  EXPECT_EQ(log[0].parents, (std::vector<std::string>{log[2].id, log[1].id}));
  EXPECT_EQ(s.commit_info(log[1].id.substr(0, 8)).id, log[1].id) << "a unique prefix names it";
  EXPECT_EQ(s.commit_info("feature").id, log[1].id) << "a branch names its head";

  evcs::CommitLogOptions on_feature;
  on_feature.branch = "feature";
  EXPECT_EQ(messages(s.commit_log(on_feature)),
            (std::vector<std::string>{"raise the bridge budget"}));

  evcs::CommitLogOptions tasks;
  tasks.entity_type = "task";
  EXPECT_EQ(messages(s.commit_log(tasks)), (std::vector<std::string>{"a task"}));

  evcs::CommitLogOptions the_bridge;
  the_bridge.entity_type = "project";
  the_bridge.head_id = bridge;
  EXPECT_EQ(messages(s.commit_log(the_bridge)),
            (std::vector<std::string>{"bring in the budget", "raise the bridge budget",
                                      "two projects"}));
  the_bridge.branch = "main";
  EXPECT_EQ(messages(s.commit_log(the_bridge)),
            (std::vector<std::string>{"bring in the budget", "two projects"}));
  evcs::CommitLogOptions the_road;
  the_road.entity_type = "project";
  the_road.head_id = road;
  the_road.branch = "feature";
  EXPECT_TRUE(s.commit_log(the_road).empty()) << "the road was never written on feature";

  evcs::CommitLogOptions latest;
  latest.limit = 2;
  EXPECT_EQ(messages(s.commit_log(latest)),
            (std::vector<std::string>{"bring in the budget", "raise the bridge budget"}));
  latest.limit = 0;
  EXPECT_TRUE(s.commit_log(latest).empty());

  auto json = log[0].to_json();
  EXPECT_EQ(json["message"], "bring in the budget");
  EXPECT_EQ(json["merged_from"], "feature");
  EXPECT_EQ(json["stamp"], log[0].stamp);
  EXPECT_EQ(log[1].to_json()["merged_from"], nullptr);
}

TEST_F(CommitLogTest, AMergeWithoutAMessageIsNamedAfterItsSource) {
  {
    auto s = as("alice");
    s.create_branch("fix");
    s.commit();
  }
  {
    auto s = as("alice", "fix");
    s.repository("task").create({{"title", "patch"}});
    s.commit();
  }
  auto s = as("alice");
  s.merge("fix");
  evcs::CommitLogOptions latest;
  latest.limit = 1;
  EXPECT_EQ(messages(s.commit_log(latest)), (std::vector<std::string>{"merge fix"}));
  EXPECT_EQ(s.commit_log()[1].message, "") << "a commit without a message";
}

TEST_F(CommitLogTest, BadFilters) {
  auto s = as("alice");
  evcs::CommitLogOptions head_only;
  head_only.head_id = "8d2c0b1e-5d4f-4c1a-9a51-2f3b8c7d6e10";
  EXPECT_THROW(s.commit_log(head_only), evcs::InvalidArgument);
  evcs::CommitLogOptions unknown_type;
  unknown_type.entity_type = "nothing_here";
  try {
    s.commit_log(unknown_type);
    FAIL() << "an unknown entity type must be NotFound";
  } catch (const evcs::NotFound &error) {
    EXPECT_EQ(error.sqlstate(), "EVN01");
  }
  evcs::CommitLogOptions negative;
  negative.limit = -1;
  EXPECT_THROW(s.commit_log(negative), evcs::InvalidArgument);
  evcs::CommitLogOptions bad_head;
  bad_head.entity_type = "task";
  bad_head.head_id = "not-a-uuid";
  try {
    s.commit_log(bad_head);
    FAIL() << "a head_id that is not a uuid must be InvalidArgument";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.sqlstate(), "22P02");
  }
}

} // namespace
