// The commit graph: merge bases as git computes them, merges in every direction, conflicts
// settled one by one (at once or staged), commits as objects (ids, tags, revert, cherry-pick),
// history as a query. Each numbered defect of the issue that introduced the graph has a
// regression test here named after it.
#include "evcs/evcs.hpp"
#include "stored_versions.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace {

using json = nlohmann::json;

class GraphTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_commit_graph")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("item", {{"c1", "int"}, {"c2", "int"}});
    entity_ = s.repository("item").create({{"c1", 0}, {"c2", 0}}).head_id;
    s.commit("create the item");
    s.create_branch("b");
    s.commit();
  }

  evcs::Session on(const std::string &branch) { return engine_->session(branch, "tester"); }

  // An engine on the test database that echoes every statement into `log`.
  std::unique_ptr<evcs::Engine> echoing(std::vector<std::string> &log) {
    evcs::EngineOptions options;
    options.url = *url_;
    options.echo = true;
    auto engine = std::make_unique<evcs::Engine>(options);
    engine->set_logger([&log](const std::string &line) { log.push_back(line); });
    return engine;
  }

  void set(const std::string &branch, json values, const std::string &head = "") {
    auto s = on(branch);
    s.repository("item").update(head.empty() ? entity_ : head, values);
    s.commit("set " + values.dump() + " on " + branch);
  }

  // (c1, c2) on a branch, or "absent".
  json state(const std::string &branch, const std::string &head = "") {
    auto s = on(branch);
    auto version = s.repository("item").get(head.empty() ? entity_ : head);
    if (!version) return "absent";
    return json::array({version->fields["c1"], version->fields["c2"]});
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
  std::string entity_;
};

std::string *GraphTest::url_ = nullptr;

// Defect 1: the second merge of a long-lived branch reverted main's merged field.
TEST_F(GraphTest, Defect1ASecondMergeKeepsTheParentsMergedFields) {
  set("b", {{"c1", 1}});
  set("main", {{"c2", 2}});
  auto s = on("main");
  s.merge("b");
  EXPECT_EQ(state("main"), json::array({1, 2}));
  set("b", {{"c1", 5}});
  auto preview = s.merge_preview("b");
  ASSERT_EQ(preview.changes.size(), 1u);
  EXPECT_EQ(preview.changes[0].fields.count("c2"), 0u) << "the preview must not announce a revert";
  s.merge("b");
  EXPECT_EQ(state("main"), json::array({5, 2})) << "git and Dolt give (5, 2)";
}

// What the merges of defect 1 stored, read with libpqxx straight from the version table: on main
// one version per change, numbered without gaps, only the last one open, the merges marked with
// their source; on b its own versions. Nothing of evcs reads them.
TEST_F(GraphTest, TheStoredVersionsOfRepeatedMergesAreWhatAnAuditorExpects) {
  set("b", {{"c1", 1}});
  set("main", {{"c2", 2}});
  auto s = on("main");
  s.merge("b");
  set("b", {{"c1", 5}});
  s.merge("b");
  using Fields = std::vector<std::optional<std::string>>;
  auto stored = evcs_test::stored_versions(*url_, "item", entity_, {"c1", "c2"});
  ASSERT_EQ(stored.size(), 6u);
  const std::vector<std::tuple<std::string, int, bool, std::optional<std::string>, Fields>>
      expected = {{"b", 1, false, std::nullopt, {"1", "0"}},
                  {"b", 2, true, std::nullopt, {"5", "0"}},
                  {"main", 1, false, std::nullopt, {"0", "0"}},
                  {"main", 2, false, std::nullopt, {"0", "2"}},
                  {"main", 3, false, "b", {"1", "2"}},
                  {"main", 4, true, "b", {"5", "2"}}};
  for (std::size_t at = 0; at < expected.size(); ++at) {
    const auto &[branch, version, open, merged_from, fields] = expected[at];
    EXPECT_EQ(stored[at].branch, branch) << at;
    EXPECT_EQ(stored[at].version, version) << at;
    EXPECT_EQ(stored[at].open, open) << at;
    EXPECT_FALSE(stored[at].deleted) << at;
    EXPECT_EQ(stored[at].merged_from, merged_from) << at;
    EXPECT_EQ(stored[at].fields, fields) << at;
  }
}

// Defect 1, variant: a real conflict after the first merge is reported with the right base.
TEST_F(GraphTest, Defect1AConflictAfterAMergeIsReportedAgainstTheCommonAncestor) {
  set("b", {{"c1", 1}});
  set("main", {{"c2", 2}});
  auto s = on("main");
  s.merge("b");
  set("main", {{"c1", 3}});
  set("b", {{"c2", 4}});
  try {
    s.merge("b");
    FAIL() << "c2 changed on both sides since the merge base";
  } catch (const evcs::MergeConflict &conflict) {
    json conflicts = json::parse(conflict.detail_json())["conflicts"];
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0]["field"], "c2");
    EXPECT_EQ(conflicts[0]["base"], 0);
    EXPECT_EQ(conflicts[0]["ours"], 2);
    EXPECT_EQ(conflicts[0]["theirs"], 4);
  }
  EXPECT_EQ(state("main"), json::array({3, 2})) << "a failed merge writes nothing";
}

// Defect 1, other shapes: a delete on the branch after a merge conflicts with main's change, and
// a conflict settled with "ours" is not undone by the next merge.
TEST_F(GraphTest, Defect1DeletesAndOursResolutionsSurviveTheNextMerge) {
  set("b", {{"c1", 1}});
  set("main", {{"c1", 2}});
  auto s = on("main");
  EXPECT_EQ(s.merge("b", std::nullopt, "ours").conflicts.size(), 1u);
  EXPECT_EQ(state("main"), json::array({2, 0}));
  set("b", {{"c2", 7}});
  s.merge("b");
  EXPECT_EQ(state("main"), json::array({2, 7})) << "the ours resolution holds; c2 comes in";

  set("main", {{"c1", 9}});
  {
    auto branch = on("b");
    branch.repository("item").remove(entity_);
    branch.commit();
  }
  try {
    s.merge("b");
    FAIL() << "deleted on b, modified on main since the merge base";
  } catch (const evcs::MergeConflict &conflict) {
    json conflicts = json::parse(conflict.detail_json())["conflicts"];
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0]["field"], "deleted");
  }
  EXPECT_EQ(state("main"), json::array({9, 7}));
}

// Defect 2: update, then delete in one transaction: the tombstone keeps the committed content.
TEST_F(GraphTest, Defect2ATombstoneCarriesTheLastCommittedContent) {
  auto s = on("main");
  auto repo = s.repository("item");
  repo.update(entity_, {{"c1", 42}});
  auto tombstone = repo.remove(entity_);
  EXPECT_EQ(tombstone.fields["c1"], 0);
  s.commit();
  auto history = repo.history(entity_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[1].deleted);
  EXPECT_EQ(history[1].fields["c1"], 0) << "42 was never committed";
  EXPECT_TRUE(history[1].changed.empty());
  repo.restore(entity_);
  s.commit();
  EXPECT_EQ(state("main"), json::array({0, 0})) << "restore brings back what readers saw";

  std::size_t logged = s.commit_log().size();
  auto created = repo.create({{"c1", 5}}).head_id;
  repo.remove(created);
  s.commit();
  EXPECT_TRUE(repo.history(created).empty()) << "created and deleted unseen: nothing is kept";
  EXPECT_EQ(s.commit_log().size(), logged) << "...and no commit is logged for it";
}

// Defect 2 on a branch: the first write on a branch is deleted in the same transaction.
TEST_F(GraphTest, Defect2ATombstoneOnABranchCarriesTheContentItReadThrough) {
  auto s = on("b");
  auto repo = s.repository("item");
  repo.update(entity_, {{"c2", 8}});
  repo.remove(entity_);
  s.commit();
  auto history = repo.history(entity_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].branch, "b");
  EXPECT_EQ(history[1].fields["c2"], 0);
  repo.restore(entity_);
  s.commit();
  EXPECT_EQ(state("b"), json::array({0, 0}));
}

// Defect 3: a branch's history explains what get returns, read-through versions included.
TEST_F(GraphTest, Defect3ABranchsHistoryIncludesTheVersionsItReadsThrough) {
  set("main", {{"c1", 1}});  // after the fork: not what b reads
  auto s = on("b");
  auto history = s.repository("item").history(entity_);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].branch, "main");
  EXPECT_EQ(history[0].fields["c1"], 0);
  EXPECT_EQ(history[0].changed, (std::vector<std::string>{"c1", "c2"}));
  set("b", {{"c2", 3}});
  history = s.repository("item").history(entity_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].branch, "b");
  EXPECT_EQ(history[1].changed, std::vector<std::string>{"c2"});
  EXPECT_EQ(history[1].previous, json({{"c2", 0}})) << "old and new values of each change";
}

// Defect 4: a branch shows its current base (fork, then the last merge) truthfully.
TEST_F(GraphTest, Defect4TheBranchBaseMovesWithMerges) {
  auto base_of = [&](const std::string &name) {
    for (const auto &branch : on("main").branches())
      if (branch.name == name) return branch;
    throw std::runtime_error("no branch " + name);
  };
  auto s = on("main");
  const std::string fork = s.commit_log().front().id;
  EXPECT_EQ(base_of("b").base, fork);
  set("b", {{"c1", 1}});
  auto merged = s.merge("b");
  ASSERT_TRUE(merged.commit);
  auto b = base_of("b");
  EXPECT_EQ(b.base, merged.source_commit) << "after b → main, the base is b's merged head";
  EXPECT_EQ(b.head, merged.source_commit);
  EXPECT_EQ(base_of("main").head, merged.commit);
  set("main", {{"c2", 2}});
  auto back = s.merge("main", std::string("b"));
  EXPECT_EQ(base_of("b").base, base_of("main").head) << "after main → b, main's head";
  EXPECT_EQ(base_of("b").base_stamp, s.commit_info("main").stamp);
  EXPECT_EQ(state("b"), json::array({1, 2}));
}

// Defect 5: a branch commit that races a merge is never lost: the merge records the source
// head it merged, and everything after it reaches the next merge. Deterministic: a commit on b
// is stamped (it holds the stamp's locks) but not yet visible while the merge plans, and
// commits only once the merge waits for the stamp.
TEST_F(GraphTest, Defect5ACommitInFlightDuringAMergeReachesTheNextMerge) {
  set("b", {{"c2", 3}});  // something to merge: the merge must take a stamp after the racer's
  auto racer = on("b");
  racer.execute("SELECT head_id FROM item_evcs_write('create', NULL, 'b', '{\"c1\": 77}', NULL, "
                "'racer', NULL, true)");
  evcs::MergeResult first;
  std::thread merging([&] {
    auto s = on("main");
    first = s.merge("b");
  });
  auto watcher = on("main");
  watcher.set_autocommit(true);
  for (int waited = 0; watcher.scalar<std::int64_t>("SELECT count(*) FROM pg_locks WHERE "
                                                    "locktype = 'advisory' AND NOT granted")
                           .value() == 0;
       ++waited) {
    ASSERT_LT(waited, 2000) << "the merge never waited for the racing commit's stamp";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  racer.commit();
  merging.join();
  ASSERT_EQ(first.changes.size(), 1u) << "planned before the racing commit was visible";
  EXPECT_EQ(first.changes[0].head_id, entity_);
  auto s = on("main");
  auto second = s.merge("b");
  ASSERT_EQ(second.changes.size(), 1u) << "the next merge finds it";
  EXPECT_EQ(second.changes[0].kind, "added");
  evcs::FindOptions racing;
  racing.where = {{"c1", 77}};
  EXPECT_EQ(s.repository("item").count(racing), 1);
}

// Defect 5 as a stress test: writers on a branch against repeated merges.
TEST_F(GraphTest, Defect5WritersOnABranchAgainstRepeatedMergesLoseNothing) {
  std::atomic<bool> done{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w)
    writers.emplace_back([&] {
      auto s = on("b");
      s.set_autocommit(true);
      auto repo = s.repository("item");
      for (int i = 0; i < 40; ++i) {
        repo.create({{"c1", 1000 + i}, {"c2", 7}});
        created++;
      }
    });
  std::thread merger([&] {
    auto s = on("main");
    while (!done) s.merge("b");
  });
  for (auto &writer : writers) writer.join();
  done = true;
  merger.join();
  auto s = on("main");
  s.merge("b");
  evcs::FindOptions made;
  made.where = {{"c2", 7}};
  EXPECT_EQ(s.repository("item").count(made), created.load());
  EXPECT_EQ(created.load(), 120);
}

// Defect 6: a transaction that changes nothing logs no commit.
TEST_F(GraphTest, Defect6ATransactionThatWritesNothingLogsNoCommit) {
  auto s = on("main");
  std::size_t before = s.commit_log().size();
  s.repository("item").update(entity_, {{"c1", 0}});
  s.commit("same value");
  s.repository("item").revert(entity_, 1);
  s.commit("revert to the current content");
  EXPECT_EQ(s.commit_log().size(), before);
  // Writes that cancel out within one transaction (found by the model-based test).
  auto repo = s.repository("item");
  repo.update(entity_, {{"c1", 2}});
  repo.update(entity_, {{"c1", 0}});
  s.commit("update and back");
  repo.remove(entity_);
  repo.restore(entity_);
  s.commit("delete and restore");
  EXPECT_EQ(s.commit_log().size(), before);
  EXPECT_EQ(repo.history(entity_).size(), 1u) << "no version was added";
  EXPECT_FALSE(repo.history(entity_)[0].valid_to.has_value()) << "and the first stays current";
  // On a branch that reads the entity through: its first version would equal main's.
  auto branch = on("b");
  auto branch_repo = branch.repository("item");
  branch_repo.remove(entity_);
  branch_repo.restore(entity_);
  branch.commit("delete and restore on b");
  EXPECT_TRUE(branch.commit_log().empty() || branch.commit_log().front().branch != "b");
  auto history = branch_repo.history(entity_);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].branch, "main") << "b still reads main's version through";
}

TEST_F(GraphTest, MergeTheParentIntoABranchAndBetweenSiblings) {
  set("main", {{"c2", 2}});
  set("b", {{"c1", 1}});
  auto s = on("main");
  auto into_b = s.merge("main", std::string("b"));
  ASSERT_TRUE(into_b.commit);
  EXPECT_EQ(state("b"), json::array({1, 2}));
  EXPECT_EQ(state("main"), json::array({0, 2})) << "merging main into b leaves main as it was";
  EXPECT_FALSE(s.merge("main", std::string("b")).commit) << "already up to date";

  s.create_branch("c");
  s.commit();
  set("c", {{"c2", 3}});
  set("b", {{"c1", 4}});
  s.merge("c", std::string("b"));
  EXPECT_EQ(state("b"), json::array({4, 3})) << "a sibling's change comes in";
  s.merge("b");
  EXPECT_EQ(state("main"), json::array({4, 3}));
  EXPECT_FALSE(s.merge("c", std::string("main")).commit) << "c's head is an ancestor of main's";
  EXPECT_THROW(s.merge("b", std::string("b")), evcs::InvalidArgument);
  EXPECT_THROW(s.merge("main"), evcs::InvalidArgument) << "main has no parent: say into";
}

TEST_F(GraphTest, BranchesOfBranchesMergeInAnyOrder) {
  auto s = on("b");
  s.create_branch("bb", "b");
  s.commit();
  set("bb", {{"c1", 1}});
  set("b", {{"c2", 2}});
  auto main = on("main");
  main.merge("bb", std::string("main"));
  EXPECT_EQ(state("main"), json::array({1, 0}));
  main.merge("b");
  EXPECT_EQ(state("main"), json::array({1, 2}));
  main.merge("bb", std::string("main"));
  EXPECT_EQ(state("main"), json::array({1, 2})) << "nothing new on bb";
  set("bb", {{"c1", 5}});
  main.merge("bb");  // into its parent b
  EXPECT_EQ(state("b"), json::array({5, 2}));
  main.merge("b");
  EXPECT_EQ(state("main"), json::array({5, 2}));
}

// Criss-cross: main and b each merge the other's head as it was before either merge, so they
// have two best common ancestors. As git's recursive strategy does, the base is their merge (a
// virtual base): against either one alone, c1 would be a false conflict.
TEST_F(GraphTest, CrissCrossMergesUseTheMergeOfBothBases) {
  set("main", {{"c1", 1}});
  set("b", {{"c2", 1}});
  auto s = on("main");
  std::string b1 = s.commit_info("b").id;
  s.merge_start("main", {std::string("b"), "fail", "", {}});  // pins main's head before merging b
  s.merge("b");
  s.merge_continue("b");
  EXPECT_EQ(state("main"), json::array({1, 1}));
  EXPECT_EQ(state("b"), json::array({1, 1}));
  EXPECT_EQ(s.merge_base("main", "b")->id, b1) << "the later of the two best bases";
  set("main", {{"c1", 2}});
  set("b", {{"c2", 2}});
  auto merged = s.merge("b");
  EXPECT_TRUE(merged.conflicts.empty());
  EXPECT_EQ(state("main"), json::array({2, 2}));
}

TEST_F(GraphTest, ConflictsAreSettledOneByOne) {
  std::string other;
  {
    auto s = on("main");
    other = s.repository("item").create({{"c1", 10}, {"c2", 10}}).head_id;
    s.commit();
    s.merge("main", std::string("b"));
  }
  set("b", {{"c1", 1}, {"c2", 1}});
  set("main", {{"c1", 2}, {"c2", 2}});
  set("b", {{"c1", 11}}, other);
  set("main", {{"c1", 12}}, other);
  auto s = on("main");
  evcs::MergeOptions options;
  options.resolutions = {{"item", entity_, "c1", "theirs", nullptr},
                         {"item", entity_, "c2", "value", 99}};
  try {
    s.merge("b", options);
    FAIL() << "the conflict on the other entity is not settled";
  } catch (const evcs::MergeConflict &conflict) {
    json unsettled = json::parse(conflict.detail_json())["conflicts"];
    ASSERT_EQ(unsettled.size(), 1u);
    EXPECT_EQ(unsettled[0]["head_id"], other);
  }
  EXPECT_EQ(state("main"), json::array({2, 2})) << "unresolved conflicts write nothing";
  options.resolutions.push_back({"item", other, "c1", "ours", nullptr});
  auto merged = s.merge("b", options);
  EXPECT_EQ(merged.unresolved(), 0u);
  EXPECT_EQ(state("main"), json::array({1, 99}));
  EXPECT_EQ(state("main", other), json::array({12, 10}));

  options.resolutions = {{"item", entity_, "c2", "ours", nullptr}};
  set("b", {{"c1", 3}});
  EXPECT_THROW(s.merge("b", options), evcs::InvalidArgument) << "c2 is not in conflict";
  EXPECT_EQ(state("main"), json::array({1, 99})) << "and nothing was written";
}

TEST_F(GraphTest, AStagedMergeIsInspectedResolvedPartlyAndThenContinued) {
  std::string other;
  {
    auto s = on("main");
    other = s.repository("item").create({{"c1", 10}}).head_id;
    s.commit();
    s.merge("main", std::string("b"));
  }
  set("b", {{"c1", 1}});
  set("main", {{"c1", 2}});
  set("b", {{"c1", 11}}, other);
  set("main", {{"c1", 12}}, other);
  auto s = on("main");
  auto started = s.merge_start("b");
  EXPECT_EQ(started.unresolved(), 2u);
  EXPECT_FALSE(started.commit);
  EXPECT_EQ(state("main"), json::array({2, 0})) << "a staged merge writes no version";
  EXPECT_THROW(s.merge_start("b"), evcs::InvalidArgument) << "one staged merge per target";
  set("b", {{"c2", 5}});  // after the start: not part of this merge
  auto status = s.merge_resolve({{"item", entity_, "c1", "theirs", nullptr}});
  EXPECT_EQ(status.unresolved(), 1u);
  EXPECT_THROW(s.merge_continue(), evcs::MergeConflict);
  EXPECT_EQ(s.merge_status().unresolved(), 1u) << "still staged after the failed continue";
  EXPECT_THROW(s.merge_resolve({{"item", entity_, "c2", "ours", nullptr}}), evcs::InvalidArgument);
  s.merge_resolve({{"item", other, "c1", "value", 50}});
  auto done = s.merge_continue(std::nullopt, "merge b, resolved");
  ASSERT_TRUE(done.commit);
  EXPECT_EQ(state("main"), json::array({1, 0})) << "the change made after the start waits";
  EXPECT_EQ(state("main", other), json::array({50, nullptr}));
  EXPECT_EQ(s.commit_info(*done.commit).message, "merge b, resolved");
  EXPECT_THROW(s.merge_status(), evcs::NotFound);
  s.merge("b");
  EXPECT_EQ(state("main"), json::array({1, 5}));

  set("b", {{"c1", 7}});
  set("main", {{"c1", 8}});
  s.merge_start("b");
  s.merge_abort();
  EXPECT_THROW(s.merge_abort(), evcs::NotFound);
  EXPECT_EQ(state("main"), json::array({8, 5}));
}

// merge_continue reuses what its session's merge_start read of the three states while the
// target has no new commit (the plan query is a third of a large merge); a commit on the target
// in between, even one that touches a merged entity, makes it read them again.
TEST_F(GraphTest, AStagedMergeContinuesFromItsStartsReadsUntilTheTargetMoves) {
  std::vector<std::string> log;
  auto logged_engine = echoing(log);
  evcs::Engine &logged = *logged_engine;
  auto plans = [&log] {
    std::size_t count = 0;
    for (const auto &line : log) count += line.find("LEFT JOIN LATERAL") != std::string::npos;
    return count;
  };
  auto s = logged.session("main", "tester");

  set("b", {{"c1", 1}});
  s.merge_start("b");
  log.clear();
  ASSERT_TRUE(s.merge_continue().commit);
  EXPECT_EQ(plans(), 0u) << "the target has no new commit: the start's reads stand";
  EXPECT_EQ(state("main"), json::array({1, 0}));

  set("b", {{"c1", 2}});
  s.merge_start("b");
  set("main", {{"c2", 7}});  // the same entity, on the target, between start and continue
  log.clear();
  ASSERT_TRUE(s.merge_continue().commit);
  EXPECT_EQ(plans(), 1u) << "the target moved: read again";
  EXPECT_EQ(state("main"), json::array({2, 7})) << "the target's commit in between is kept";

  set("b", {{"c1", 3}});
  s.merge_start("b");
  auto other = logged.session("main", "tester");
  log.clear();
  ASSERT_TRUE(other.merge_continue().commit);
  EXPECT_EQ(plans(), 1u) << "another session has no reads of this merge";
  EXPECT_EQ(state("main"), json::array({3, 7}));
  set("b", {{"c1", 4}});
  log.clear();
  s.merge("b");
  EXPECT_EQ(plans(), 1u) << "the finished staged merge's reads are not reused";
  EXPECT_EQ(state("main"), json::array({4, 7}));
}

// The engine's merge base (a walk down the graph in stamp order) against the catalog's recursive
// SQL (evcs_merge_bases, which reads every ancestor) as an independent oracle, for every pair of
// commits of a history with a criss-cross, merges both ways and a branch of a branch.
TEST_F(GraphTest, MergeBasesAgreeWithTheRecursiveSqlOracle) {
  auto s = on("main");
  s.create_branch("c", "b");
  s.commit();
  auto merge = [this](const std::string &source, const std::string &into) {
    evcs::MergeOptions theirs;
    theirs.into = into;
    theirs.strategy = "theirs";
    on(into).merge(source, theirs);
  };
  set("b", {{"c1", 1}});
  set("main", {{"c2", 1}});
  merge("b", "main");
  set("c", {{"c1", 5}});
  set("b", {{"c2", 2}});
  merge("main", "b");
  set("main", {{"c1", 3}});
  merge("b", "main");
  merge("c", "b");
  set("c", {{"c2", 9}});
  merge("main", "c");
  set("b", {{"c1", 8}});
  std::vector<std::string> commits;
  for (const auto &commit : s.commit_log({})) commits.push_back(commit.id);
  ASSERT_GE(commits.size(), 10u);
  for (const auto &first : commits)
    for (const auto &second : commits) {
      auto ours = s.merge_base(first, second);
      auto sql = s.execute("SELECT evcs_merge_base($1, $2)", evcs::Params::of(first, second));
      ASSERT_EQ(ours ? ours->id : std::string("none"),
                sql.is_null(0, 0) ? std::string("none") : sql.get_text(0, 0))
          << first << " " << second;
    }
  s.rollback();
}

// A merge reads the commit graph from the heads down to their base: the commits behind the fork
// (however many) are not read.
TEST_F(GraphTest, AMergeReadsTheGraphOnlyDownToItsBase) {
  {
    auto s = on("main");
    for (int n = 0; n < 2500; ++n) {
      s.repository("item").update(entity_, {{"c2", n}});
      s.commit();
    }
    s.create_branch("late");
    s.commit();
  }
  set("late", {{"c1", 1}});
  set("main", {{"c2", -1}});
  std::vector<std::string> log;
  auto logged_engine = echoing(log);
  evcs::Engine &logged = *logged_engine;
  auto s = logged.session("main", "tester");
  ASSERT_TRUE(s.merge("late").commit);
  std::size_t batches = 0;
  for (const auto &line : log) batches += line.find("array_to_string(parents") != std::string::npos;
  EXPECT_EQ(batches, 2u) << "one batch for the base, one for the commits between: " << batches;
  EXPECT_EQ(state("main"), json::array({1, -1}));
}

TEST_F(GraphTest, CommitsHaveIdsTagsAndCanBeReadAsOf) {
  set("main", {{"c1", 1}});
  auto s = on("main");
  std::string first = s.commit_info("main").id;
  set("main", {{"c1", 2}});
  auto tag = s.tag("v1", first, "release 1");
  EXPECT_EQ(tag.commit, first);
  EXPECT_THROW(s.tag("v1"), evcs::InvalidArgument);
  EXPECT_THROW(s.commit_info("0000000000"), evcs::NotFound);
  EXPECT_THROW(s.commit_info("no-such-ref"), evcs::NotFound);
  EXPECT_THROW(s.commit_info(""), evcs::InvalidArgument);
  auto repo = s.repository("item");
  EXPECT_EQ(repo.get_at_commit(entity_, "v1")->fields["c1"], 1);
  EXPECT_EQ(repo.get_at_commit(entity_, first.substr(0, 6))->fields["c1"], 1);
  evcs::FindOptions at_tag;
  at_tag.as_of_commit = "v1";
  EXPECT_EQ(repo.find(at_tag)[0].fields["c1"], 1);
  at_tag.branch = "b";
  EXPECT_THROW(repo.find(at_tag), evcs::InvalidArgument) << "v1 is a commit of main";
  set("b", {{"c2", 3}});
  EXPECT_EQ(s.repository("item").get_at_commit(entity_, "b")->fields["c2"], 3);
  EXPECT_EQ(s.tags().size(), 1u);
  s.delete_tag("v1");
  EXPECT_TRUE(s.tags().empty());
  EXPECT_THROW(s.delete_tag("v1"), evcs::NotFound);
}

TEST_F(GraphTest, RevertAndCherryPickApplyOneCommitFieldByField) {
  set("main", {{"c1", 1}});
  auto s = on("main");
  std::string one = s.commit_info("main").id;
  set("main", {{"c2", 2}});
  auto reverted = s.revert_commit(one);
  ASSERT_TRUE(reverted.commit);
  EXPECT_EQ(state("main"), json::array({0, 2})) << "only c1 goes back";
  EXPECT_EQ(s.commit_info(*reverted.commit).message.rfind("revert " + one.substr(0, 12), 0), 0u);

  set("main", {{"c2", 5}});
  std::string five = s.commit_info("main").id;
  set("main", {{"c2", 6}});
  EXPECT_THROW(s.revert_commit(five), evcs::MergeConflict) << "c2 changed again since";
  evcs::MergeOptions theirs;
  theirs.strategy = "theirs";
  s.revert_commit(five, theirs);
  EXPECT_EQ(state("main"), json::array({0, 2}));

  evcs::MergeOptions onto_b;
  onto_b.into = "b";
  EXPECT_THROW(s.cherry_pick(five, onto_b), evcs::MergeConflict)
      << "five changed c2 from 2, and b has 0: as git, a conflict";
  onto_b.strategy = "theirs";
  EXPECT_FALSE(s.cherry_pick(five, onto_b).changes.empty());
  EXPECT_EQ(state("b"), json::array({0, 5}));
  auto again = s.cherry_pick(five, onto_b);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_FALSE(again.commit) << "a cherry-pick that changes nothing is no commit";
  s.lock_branch("b");
  s.commit();
  EXPECT_THROW(s.cherry_pick(one, onto_b), evcs::BranchLocked);
  EXPECT_THROW(s.revert_commit("feedbeef"), evcs::NotFound);
}

TEST_F(GraphTest, HistoryAsAQuery) {
  auto s = on("main");
  std::int64_t t0 = s.commit_info("main").stamp;
  set("main", {{"c1", 1}});
  std::int64_t t1 = s.commit_info("main").stamp;
  set("main", {{"c1", 2}});
  std::int64_t t2 = s.commit_info("main").stamp;
  auto repo = s.repository("item");
  auto count = [&](std::optional<std::int64_t> from, std::optional<std::int64_t> to,
                   const std::string &mode) {
    evcs::VersionRange range;
    range.from = from;
    range.to = to;
    range.mode = mode;
    return repo.versions(range).size();
  };
  EXPECT_EQ(count(t0, t1, "from_to"), 1u) << "[t0, t1): only the version from t0";
  EXPECT_EQ(count(t0, t1, "between"), 2u) << "[t0, t1]: the one beginning at t1 too";
  EXPECT_EQ(count(t0, t2, "contained_in"), 2u) << "began and ended within: those from t0 and t1";
  EXPECT_EQ(count(t1, std::nullopt, "contained_in"), 2u) << "an open end contains the current one";
  EXPECT_EQ(count(std::nullopt, std::nullopt, "from_to"), 3u);
  EXPECT_THROW(count(t0, t1, "sideways"), evcs::InvalidArgument);

  auto diffs = s.diff_history(evcs::HistoryPoint::at_instant(t0),
                              evcs::HistoryPoint::at_instant(t2));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].fields.at("c1").old_value, 0);
  EXPECT_EQ(diffs[0].fields.at("c1").new_value, 2);
  set("b", {{"c2", 9}});
  diffs = s.diff_history(evcs::HistoryPoint::at_commit("main"),
                         evcs::HistoryPoint::at_commit("b"));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].fields.at("c1").new_value, 0);
  EXPECT_EQ(diffs[0].fields.at("c2").new_value, 9);
}

} // namespace
