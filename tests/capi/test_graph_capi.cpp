// The commit graph through the C ABI: merges with options (resolutions, any direction), staged
// merges, commits and their refs, merge bases, tags, revert, cherry-pick, diffs of history,
// reads at a commit and version ranges; statuses and last errors for bad input.
#include "evcs/evcs.h"
#include "capi_support.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;

using evcs_test::last_message;
using evcs_test::take_json;

bool is_commit_id(const json &value) {
  if (!value.is_string()) return false;
  const std::string id = value.get<std::string>();
  return id.size() == 40 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class CapiGraphTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("capi_graph")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs_options *options = nullptr;
    ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options, "url", url_->c_str()), EVCS_OK);
    ASSERT_EQ(evcs_engine_open(&engine_, options), EVCS_OK) << last_message();
    evcs_options_free(options);
    ASSERT_EQ(evcs_session_open(&session_, engine_, nullptr, "carol"), EVCS_OK);
    evcs_result *result = nullptr;
    ASSERT_EQ(evcs_session_execute(&result, session_, "DROP SCHEMA public CASCADE", nullptr),
              EVCS_OK)
        << last_message();
    evcs_result_free(result);
    ASSERT_EQ(evcs_session_execute(&result, session_, "CREATE SCHEMA public", nullptr), EVCS_OK);
    evcs_result_free(result);
    commit();
    ASSERT_EQ(evcs_session_create_entity_type(
                  session_, "project",
                  R"json([{"name":"name","type":"text not null"},)json"
                  R"json({"name":"budget","type":"numeric(14,2)"},{"name":"status","type":"text"}])json"),
              EVCS_OK)
        << last_message();
    commit();
    ASSERT_EQ(evcs_session_repository(&repo_, session_, "project"), EVCS_OK) << last_message();
  }
  void TearDown() override {
    evcs_repository_free(repo_);
    evcs_session_free(session_);
    evcs_engine_free(engine_);
  }

  void commit(const char *message = nullptr) {
    ASSERT_EQ(evcs_session_commit(session_, message), EVCS_OK) << last_message();
  }
  void rollback() { ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK) << last_message(); }
  // For a call expected to fail: keeps its last error (message_, sqlstate_, detail_, code_) and
  // rolls back the transaction the failure may have aborted. Returns the call's status.
  int failed(int status) {
    code_ = evcs_error_last_code();
    message_ = evcs_error_last_message();
    sqlstate_ = evcs_error_last_sqlstate();
    detail_ = json::parse(evcs_error_last_detail());
    EXPECT_EQ(evcs_session_rollback(session_), EVCS_OK) << last_message();
    return status;
  }

  json create(const char *values) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_create(&out, repo_, values, nullptr), EVCS_OK) << last_message();
    return take_json(out);
  }
  void update(const std::string &head, const char *values) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_update(&out, repo_, head.c_str(), values, -1), EVCS_OK)
        << last_message();
    evcs_free(out);
  }
  json get(const std::string &head, const char *branch = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_get(&out, repo_, head.c_str(), nullptr, branch), EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json fields(const std::string &head, const char *branch = nullptr) {
    return get(head, branch)["fields"];
  }
  void create_branch(const char *name, const char *from = nullptr) {
    ASSERT_EQ(evcs_session_create_branch(session_, name, from, nullptr), EVCS_OK) << last_message();
    commit();
  }
  // Writes `values` over entity `head` on `branch` in a session of its own and commits with
  // `message`; returns the commit's id.
  std::string update_on_branch(const char *branch, const std::string &head, const char *values,
                               const char *message = nullptr) {
    evcs_session *branch_session = nullptr;
    EXPECT_EQ(evcs_session_open(&branch_session, engine_, branch, "erin"), EVCS_OK);
    evcs_repository *branch_repo = nullptr;
    EXPECT_EQ(evcs_session_repository(&branch_repo, branch_session, "project"), EVCS_OK);
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_update(&out, branch_repo, head.c_str(), values, -1), EVCS_OK)
        << last_message();
    evcs_free(out);
    EXPECT_EQ(evcs_session_commit(branch_session, message), EVCS_OK) << last_message();
    evcs_repository_free(branch_repo);
    evcs_session_free(branch_session);
    return head_of(branch);
  }
  json commit_info(const std::string &ref) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_commit_info(&out, session_, ref.c_str()), EVCS_OK) << last_message();
    return take_json(out);
  }
  std::string head_of(const char *branch) { return commit_info(branch)["id"]; }
  json commit_log(const char *options = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_commit_log(&out, session_, options), EVCS_OK) << last_message();
    return take_json(out);
  }
  json branch_named(const std::string &name) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_branches(&out, session_), EVCS_OK) << last_message();
    for (const auto &branch : take_json(out))
      if (branch["name"] == name) return branch;
    return nullptr;
  }
  json merge(const char *source, const std::string &options) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_merge_with_options(&out, session_, source, options.c_str()), EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json preview(const char *source, const std::string &options) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_merge_preview_with_options(&out, session_, source, options.c_str()),
              EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json versions(const std::string &range) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_versions(&out, repo_, range.c_str()), EVCS_OK) << last_message();
    return take_json(out);
  }
  json find(const std::string &options) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_find(&out, repo_, options.c_str()), EVCS_OK) << last_message();
    return take_json(out);
  }
  json diff_history(const std::string &from, const std::string &to, const char *branch = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_diff_history(&out, session_, from.c_str(), to.c_str(), branch), EVCS_OK)
        << last_message();
    return take_json(out);
  }

  // One entity on main ("add bridge"), a branch "co" forked after it that raises the budget
  // and approves, and main lowering the budget meanwhile: one conflict on budget.
  void conflicting_branches() {
    head_ = create(R"({"name":"bridge","budget":100})")["head_id"];
    commit("add bridge");
    fork_ = head_of("main");
    create_branch("co");
    co_head_ = update_on_branch("co", head_, R"({"budget":150,"status":"approved"})", "raise");
    update(head_, R"({"budget":120})");
    commit("lower");
    main_head_ = head_of("main");
  }
  json budget_conflict(const json &resolution = nullptr) const {
    return {{"entity_type", "project"}, {"head_id", head_}, {"field", "budget"},
            {"base", "100.00"}, {"ours", "120.00"}, {"theirs", "150.00"},
            {"resolution", resolution}, {"kind", "field"}, {"constraint", nullptr},
            {"other_type", nullptr}, {"other_head_id", nullptr}};
  }
  std::string resolution(const char *field, const char *take, const json &value = nullptr) const {
    json given = {{"entity_type", "project"}, {"head_id", head_}, {"field", field}, {"take", take}};
    if (!value.is_null()) given["value"] = value;
    return given.dump();
  }

  static std::string *url_;
  evcs_engine *engine_ = nullptr;
  evcs_session *session_ = nullptr;
  evcs_repository *repo_ = nullptr;
  std::string head_, fork_, co_head_, main_head_;
  int code_ = EVCS_OK;
  std::string message_, sqlstate_;
  json detail_;
};

std::string *CapiGraphTest::url_ = nullptr;

TEST_F(CapiGraphTest, AMergeSettlesItsConflictsByResolutionAndRecordsBothParents) {
  conflicting_branches();

  json planned = preview("co", "null");
  EXPECT_EQ(planned["target"], "main");
  EXPECT_EQ(planned["source_commit"], co_head_);
  EXPECT_EQ(planned["base_commit"], fork_) << "the merge base is the fork point";
  EXPECT_EQ(planned["commit"], nullptr);
  EXPECT_EQ(planned["stamp"], nullptr);
  EXPECT_EQ(planned["unresolved"], 1);
  EXPECT_EQ(planned["conflicts"], json::array({budget_conflict()}));
  EXPECT_EQ(planned["changes"],
            json::parse(R"([{"entity_type":"project","head_id":")" + head_ +
                        R"(","kind":"modified","fields":{"status":{"old":null,"new":"approved"}}}])"));
  EXPECT_EQ(preview("co", R"({"into":"main","strategy":"fail"})"), planned);
  char *out = nullptr;
  ASSERT_EQ(evcs_session_merge_preview_with_options(&out, session_, "co", nullptr), EVCS_OK);
  EXPECT_EQ(take_json(out), planned) << "NULL options are the defaults";

  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", "{}")), EVCS_EMERGECONFLICT);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(detail_,
            json({{"conflicts", json::array({budget_conflict()})}}));
  EXPECT_NE(message_.find("1 conflict(s)"), std::string::npos) << message_;
  EXPECT_EQ(fields(head_)["budget"], "120.00") << "a failed merge writes nothing";

  const std::string settle = resolution("budget", "value", "135.00");
  json merged = merge("co", R"({"message":"settle","resolutions":[)" + settle + "]}");
  EXPECT_EQ(merged["conflicts"], json::array({budget_conflict(json::parse(settle))}));
  EXPECT_EQ(merged["unresolved"], 0);
  EXPECT_TRUE(is_commit_id(merged["commit"])) << merged.dump();
  EXPECT_TRUE(merged["stamp"].is_number_integer());
  EXPECT_EQ(merged["base_commit"], fork_);
  EXPECT_EQ(merged["source_commit"], co_head_);
  EXPECT_EQ(merged["changes"][0]["fields"],
            json::parse(R"({"budget":{"old":"120.00","new":"135.00"},)"
                        R"("status":{"old":null,"new":"approved"}})"));
  EXPECT_EQ(fields(head_), json::parse(R"({"name":"bridge","budget":"135.00","status":"approved"})"));

  json written = commit_info(merged["commit"]);
  EXPECT_EQ(written["parents"], json::array({main_head_, co_head_}));
  EXPECT_EQ(written["message"], "settle");
  EXPECT_EQ(written["merged_from"], "co");
  EXPECT_EQ(written["branch"], "main");
  EXPECT_EQ(written["author"], "carol");
  EXPECT_EQ(written["changes"], 1);
  EXPECT_EQ(written["stamp"], merged["stamp"]);
  EXPECT_EQ(head_of("main"), merged["commit"]);

  json again = merge("co", "null");
  EXPECT_EQ(again["commit"], nullptr) << "nothing new to merge";
  EXPECT_EQ(again["changes"], json::array());
  EXPECT_EQ(again["base_commit"], co_head_);
  EXPECT_EQ(head_of("main"), merged["commit"]);
}

TEST_F(CapiGraphTest, StrategiesAndDeleteVersusModifyResolutions) {
  conflicting_branches();
  json theirs = merge("co", R"({"strategy":"theirs"})");
  EXPECT_EQ(theirs["conflicts"],
            json::array({budget_conflict(json::parse(resolution("budget", "theirs")))}));
  EXPECT_EQ(fields(head_)["budget"], "150.00");

  // main deletes the entity while co changes it again.
  update_on_branch("co", head_, R"({"status":"built"})");
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_delete(&out, repo_, head_.c_str()), EVCS_OK) << last_message();
  evcs_free(out);
  commit("drop bridge");
  json planned = preview("co", "{}");
  ASSERT_EQ(planned["conflicts"].size(), 1u) << planned.dump();
  EXPECT_EQ(planned["conflicts"][0]["field"], "deleted");
  EXPECT_EQ(planned["conflicts"][0]["ours"], true);
  EXPECT_EQ(planned["conflicts"][0]["theirs"], false);
  EXPECT_EQ(failed(evcs_session_merge_with_options(
                &out, session_, "co",
                (R"({"resolutions":[)" + resolution("deleted", "value", 1) + "]}").c_str())),
            EVCS_EINVALID)
      << "a delete-versus-modify conflict takes a side, not a value";
  EXPECT_NE(message_.find("\"ours\" or \"theirs\""), std::string::npos) << message_;
  json kept = merge("co", R"({"resolutions":[)" + resolution("deleted", "theirs") + "]}");
  EXPECT_EQ(kept["unresolved"], 0);
  EXPECT_EQ(fields(head_)["status"], "built") << "the modified entity is back";
}

TEST_F(CapiGraphTest, AResolutionForAFieldNotInConflictIsInvalidAndWritesNothing) {
  conflicting_branches();
  const json log_before = commit_log();
  char *out = nullptr;
  const std::string stray = R"({"resolutions":[)" + resolution("budget", "ours") + "," +
                            resolution("name", "theirs") + "]}";
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", stray.c_str())), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  EXPECT_NE(message_.find("not in conflict"), std::string::npos) << message_;
  EXPECT_NE(message_.find("\"field\":\"name\""), std::string::npos) << message_;
  EXPECT_EQ(failed(evcs_session_merge_preview_with_options(&out, session_, "co", stray.c_str())),
            EVCS_EINVALID);
  EXPECT_EQ(fields(head_), json::parse(R"({"name":"bridge","budget":"120.00","status":null})"));
  EXPECT_EQ(commit_log(), log_before) << "nothing was written";

  // Malformed options are invalid arguments, checked by the core's parser.
  for (const char *bad :
       {"{", "[]", R"({"strategy":3})", R"({"colour":"red"})", R"({"strategy":"sideways"})",
        R"({"resolutions":{}})", R"({"resolutions":[{"field":"budget","take":"ours"}]})",
        R"({"resolutions":[{"entity_type":"project","head_id":"x","field":"budget","take":"maybe"}]})",
        R"({"resolutions":[{"entity_type":"project","head_id":"x","field":"budget","take":"value"}]})"}) {
    EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", bad)), EVCS_EINVALID) << bad;
    EXPECT_EQ(out, nullptr);
  }
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "ghost", "{}")), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", R"({"into":"co"})")),
            EVCS_EINVALID);
  EXPECT_NE(message_.find("into itself"), std::string::npos) << message_;
  EXPECT_EQ(commit_log(), log_before);

  const std::string duplicate = R"({"resolutions":[)" + resolution("budget", "ours") + "," +
                                resolution("budget", "theirs") + "]}";
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", duplicate.c_str())),
            EVCS_EINVALID);
  EXPECT_NE(message_.find("two resolutions"), std::string::npos) << message_;

  // A session holding uncommitted versioned work cannot merge.
  update(head_, R"({"status":"pending"})");
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, "co", R"({"strategy":"ours"})")),
            EVCS_EMISUSE);
  EXPECT_NE(message_.find("uncommitted"), std::string::npos) << message_;
  rollback();
  EXPECT_EQ(commit_log(), log_before);
}

TEST_F(CapiGraphTest, MergesGoInEveryDirection) {
  std::string bridge = create(R"({"name":"bridge","budget":100})")["head_id"];
  std::string tunnel = create(R"({"name":"tunnel","budget":500})")["head_id"];
  commit("add");
  create_branch("left");
  create_branch("right");
  update_on_branch("left", bridge, R"({"status":"left"})");
  update(tunnel, R"({"budget":600})");
  commit("main moves on");

  // Parent into child: main's change reaches "left".
  json down = merge("main", R"({"into":"left"})");
  EXPECT_EQ(down["target"], "left");
  EXPECT_TRUE(is_commit_id(down["commit"]));
  EXPECT_EQ(fields(tunnel, "left")["budget"], "600.00");
  EXPECT_EQ(fields(bridge, "left")["status"], "left");
  EXPECT_EQ(branch_named("left")["head"], down["commit"]);
  EXPECT_EQ(branch_named("left")["base"], head_of("main")) << "the merge moved the base";

  // Sibling to sibling.
  json across = merge("left", R"({"into":"right"})");
  EXPECT_EQ(across["target"], "right");
  EXPECT_EQ(fields(bridge, "right")["status"], "left");
  EXPECT_EQ(fields(tunnel, "right")["budget"], "600.00");
  EXPECT_EQ(fields(bridge)["status"], nullptr) << "main is untouched";
  EXPECT_EQ(commit_info(across["commit"])["parents"][1], down["commit"]);
  EXPECT_EQ(merge("left", R"({"into":"right"})")["commit"], nullptr) << "already merged";
}

TEST_F(CapiGraphTest, BranchesListTheirHeadAndBase) {
  std::string bridge = create(R"({"name":"bridge"})")["head_id"];
  commit("add");
  const std::string fork = head_of("main");
  create_branch("co");
  json main_branch = branch_named("main");
  EXPECT_EQ(main_branch["head"], fork);
  EXPECT_EQ(main_branch["base"], nullptr);
  EXPECT_EQ(main_branch["base_stamp"], nullptr);
  json co = branch_named("co");
  EXPECT_EQ(co["head"], fork) << "before its first commit: the commit it was forked from";
  EXPECT_EQ(co["base"], fork);
  EXPECT_EQ(co["base_stamp"], commit_info(fork)["stamp"]);

  const std::string raised = update_on_branch("co", bridge, R"({"budget":5})");
  co = branch_named("co");
  EXPECT_EQ(co["head"], raised);
  EXPECT_EQ(co["base"], fork);
  json merged = merge("co", "{}");
  co = branch_named("co");
  EXPECT_EQ(co["head"], raised);
  EXPECT_EQ(co["base"], raised) << "main has co's head now";
  EXPECT_EQ(co["base_stamp"], commit_info(raised)["stamp"]);
  EXPECT_EQ(branch_named("main")["head"], merged["commit"]);
}

TEST_F(CapiGraphTest, AStagedMergeIsResolvedConflictByConflict) {
  conflicting_branches();
  char *out = nullptr;
  ASSERT_EQ(evcs_session_merge_start(&out, session_, "co", R"({"message":"staged"})"), EVCS_OK)
      << last_message();
  json started = take_json(out);
  EXPECT_EQ(started["target"], "main");
  EXPECT_EQ(started["commit"], nullptr);
  EXPECT_EQ(started["source_commit"], co_head_);
  EXPECT_EQ(started["conflicts"], json::array({budget_conflict()}));
  EXPECT_EQ(started["unresolved"], 1);
  EXPECT_EQ(fields(head_)["status"], nullptr) << "a staged merge writes no version";

  EXPECT_EQ(failed(evcs_session_merge_start(&out, session_, "co", nullptr)), EVCS_EINVALID);
  EXPECT_NE(message_.find("in progress"), std::string::npos) << message_;

  ASSERT_EQ(evcs_session_merge_status(&out, session_, nullptr), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out), started);
  ASSERT_EQ(evcs_session_merge_status(&out, session_, "main"), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out), started);

  EXPECT_EQ(failed(evcs_session_merge_continue(&out, session_, nullptr, nullptr)), EVCS_EMERGECONFLICT);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(detail_,
            json({{"conflicts", json::array({budget_conflict()})}}));

  const std::string stray = "[" + resolution("status", "ours") + "]";
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, stray.c_str(), nullptr)), EVCS_EINVALID);
  EXPECT_NE(message_.find("not in conflict"), std::string::npos) << message_;
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, "{}", nullptr)), EVCS_EINVALID);
  EXPECT_NE(message_.find("must be an array"), std::string::npos) << message_;
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, "[{\"take\":\"ours\"}]", nullptr)),
            EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, "[", nullptr)), EVCS_EINVALID);
  ASSERT_EQ(evcs_session_merge_status(&out, session_, nullptr), EVCS_OK);
  EXPECT_EQ(take_json(out), started) << "a rejected resolution is not kept";

  const std::string ours = resolution("budget", "ours");
  ASSERT_EQ(evcs_session_merge_resolve(&out, session_, ("[" + ours + "]").c_str(), nullptr),
            EVCS_OK)
      << last_message();
  json resolved = take_json(out);
  EXPECT_EQ(resolved["conflicts"], json::array({budget_conflict(json::parse(ours))}));
  EXPECT_EQ(resolved["unresolved"], 0);
  EXPECT_EQ(resolved["commit"], nullptr);
  // A later resolution of the same conflict replaces the earlier one.
  const std::string value = resolution("budget", "value", "140.5");
  ASSERT_EQ(evcs_session_merge_resolve(&out, session_, ("[" + value + "]").c_str(), "main"),
            EVCS_OK)
      << last_message();
  json with_value = json::parse(value);
  with_value["value"] = "140.50";  // as the numeric(14,2) column stores it
  EXPECT_EQ(take_json(out)["conflicts"], json::array({budget_conflict(with_value)}));
  EXPECT_EQ(fields(head_)["budget"], "120.00");

  ASSERT_EQ(evcs_session_merge_continue(&out, session_, "main", nullptr), EVCS_OK)
      << last_message();
  json continued = take_json(out);
  EXPECT_TRUE(is_commit_id(continued["commit"]));
  EXPECT_EQ(continued["unresolved"], 0);
  json written = commit_info(continued["commit"]);
  EXPECT_EQ(written["message"], "staged") << "the message given at start";
  EXPECT_EQ(written["parents"], json::array({main_head_, co_head_}));
  EXPECT_EQ(fields(head_), json::parse(R"({"name":"bridge","budget":"140.50","status":"approved"})"));

  EXPECT_EQ(failed(evcs_session_merge_status(&out, session_, nullptr)), EVCS_ENOTFOUND);
  EXPECT_NE(message_.find("no merge into 'main'"), std::string::npos) << message_;
  EXPECT_EQ(failed(evcs_session_merge_continue(&out, session_, nullptr, nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, "[]", nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_merge_abort(session_, nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiGraphTest, AStagedMergeCanBeAbortedAndContinuedWithItsOwnMessage) {
  conflicting_branches();
  char *out = nullptr;
  ASSERT_EQ(evcs_session_merge_start(&out, session_, "co", R"({"into":"main"})"), EVCS_OK)
      << last_message();
  evcs_free(out);
  ASSERT_EQ(evcs_session_merge_abort(session_, "main"), EVCS_OK) << last_message();
  commit();
  EXPECT_EQ(failed(evcs_session_merge_status(&out, session_, nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_merge_abort(session_, nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(fields(head_)["budget"], "120.00");

  ASSERT_EQ(evcs_session_merge_start(&out, session_, "co", R"({"strategy":"theirs"})"), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out)["unresolved"], 0) << "the strategy settles it";
  ASSERT_EQ(evcs_session_merge_continue(&out, session_, nullptr, "take co's budget"), EVCS_OK)
      << last_message();
  json continued = take_json(out);
  EXPECT_EQ(commit_info(continued["commit"])["message"], "take co's budget");
  EXPECT_EQ(fields(head_)["budget"], "150.00");
  EXPECT_EQ(failed(evcs_session_merge_start(&out, session_, "ghost", nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_merge_start(&out, session_, "co", R"({"colour":1})")), EVCS_EINVALID);
}

TEST_F(CapiGraphTest, CommitsAreNamedByIdPrefixTagOrBranch) {
  std::string bridge = create(R"({"name":"bridge"})")["head_id"];
  commit("add bridge");
  json log = commit_log();
  ASSERT_EQ(log.size(), 1u);
  json first = log[0];
  EXPECT_TRUE(is_commit_id(first["id"]));
  EXPECT_EQ(first["parents"], json::array());
  EXPECT_EQ(commit_info("main"), first);
  EXPECT_EQ(commit_info(first["id"]), first);
  EXPECT_EQ(commit_info(first["id"].get<std::string>().substr(0, 8)), first);
  update(bridge, R"({"budget":7})");
  commit("budget");
  json second = commit_info("main");
  EXPECT_EQ(second["parents"], json::array({first["id"]}));
  EXPECT_EQ(second["message"], "budget");
  EXPECT_EQ(second["changes"], 1);
  EXPECT_EQ(second["merged_from"], nullptr);

  char *out = nullptr;
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, "no-such-ref")), EVCS_ENOTFOUND);
  EXPECT_EQ(sqlstate_, "EVN01");
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, "0123456789abcdef0123456789abcdef01234567")),
            EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, "")), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);

  // A branch without a commit of its own names the commit it was forked from.
  create_branch("co");
  EXPECT_EQ(commit_info("co"), second);
  ASSERT_EQ(evcs_session_merge_base(&out, session_, "main", "co"), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out), second);
  const std::string co_head = update_on_branch("co", bridge, R"({"status":"x"})");
  update(bridge, R"({"name":"bridge 2"})");
  commit();
  ASSERT_EQ(evcs_session_merge_base(&out, session_, co_head.c_str(), "main"), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out), second);
  ASSERT_EQ(evcs_session_merge_base(&out, session_, first["id"].get<std::string>().c_str(), "co"),
            EVCS_OK);
  EXPECT_EQ(take_json(out), first) << "an ancestor is its own merge base";
  EXPECT_EQ(failed(evcs_session_merge_base(&out, session_, "main", "ghost")), EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiGraphTest, HistoriesThatShareNoCommitHaveNoMergeBase) {
  // "island" is forked before main has any commit: its history starts on its own.
  create_branch("island");
  create(R"({"name":"on main"})");
  commit();
  evcs_session *island = nullptr;
  ASSERT_EQ(evcs_session_open(&island, engine_, "island", "erin"), EVCS_OK);
  evcs_repository *island_repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&island_repo, island, "project"), EVCS_OK);
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_create(&out, island_repo, R"({"name":"on island"})", nullptr), EVCS_OK);
  evcs_free(out);
  ASSERT_EQ(evcs_session_commit(island, nullptr), EVCS_OK) << last_message();
  evcs_repository_free(island_repo);
  evcs_session_free(island);
  EXPECT_EQ(commit_info("island")["parents"], json::array());
  ASSERT_EQ(evcs_session_merge_base(&out, session_, "main", "island"), EVCS_OK) << last_message();
  ASSERT_NE(out, nullptr);
  EXPECT_STREQ(out, "null");
  evcs_free(out);
}

TEST_F(CapiGraphTest, TagsNameCommits) {
  create(R"({"name":"bridge"})");
  commit("add bridge");
  const std::string first = head_of("main");
  char *out = nullptr;
  ASSERT_EQ(evcs_session_tag(&out, session_, "v1.0", nullptr, "first release"), EVCS_OK)
      << last_message();
  json tag = take_json(out);
  EXPECT_TRUE(tag["created_at"].is_number_integer());
  tag.erase("created_at");
  EXPECT_EQ(tag, json({{"name", "v1.0"}, {"commit", first}, {"message", "first release"},
                       {"created_by", "carol"}}));
  EXPECT_EQ(commit_info("v1.0")["id"], first);
  rollback();
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, "v1.0")), EVCS_ENOTFOUND)
      << "a tag lands with the session's commit, as a branch does";
  ASSERT_EQ(evcs_session_tag(&out, session_, "v1.0", nullptr, "first release"), EVCS_OK)
      << last_message();
  evcs_free(out);
  commit();

  create(R"({"name":"tunnel"})");
  commit("add tunnel");
  ASSERT_EQ(evcs_session_tag(&out, session_, "latest", "main", nullptr), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out)["message"], "");
  ASSERT_EQ(evcs_session_tag(&out, session_, "again", "v1.0", nullptr), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out)["commit"], first) << "a tag may name a tag's commit";
  commit();

  EXPECT_EQ(failed(evcs_session_tag(&out, session_, "v1.0", nullptr, nullptr)), EVCS_EINVALID);
  EXPECT_NE(message_.find("already exists"), std::string::npos) << message_;
  EXPECT_EQ(commit_info("v1.0")["id"], first) << "the existing tag is unchanged";
  EXPECT_EQ(failed(evcs_session_tag(&out, session_, "bad name", nullptr, nullptr)), EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_session_tag(&out, session_, "-dash", nullptr, nullptr)), EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_session_tag(&out, session_, "v2", "ghost", nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);

  ASSERT_EQ(evcs_session_tags(&out, session_), EVCS_OK) << last_message();
  json listed = take_json(out);
  std::vector<std::string> names;
  for (const auto &item : listed) names.push_back(item["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"again", "latest", "v1.0"}));
  EXPECT_EQ(listed[1]["commit"], head_of("main"));

  ASSERT_EQ(evcs_session_delete_tag(session_, "again"), EVCS_OK) << last_message();
  commit();
  EXPECT_EQ(failed(evcs_session_delete_tag(session_, "again")), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_delete_tag(session_, "bad name")), EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, "again")), EVCS_ENOTFOUND);
  ASSERT_EQ(evcs_session_tags(&out, session_), EVCS_OK);
  EXPECT_EQ(take_json(out).size(), 2u);
  ASSERT_EQ(evcs_session_tag(&out, session_, "again", nullptr, nullptr), EVCS_OK)
      << "a deleted tag's name is free again: " << last_message();
  EXPECT_EQ(take_json(out)["commit"], head_of("main"));
}

TEST_F(CapiGraphTest, RevertUndoesACommitFieldByField) {
  std::string bridge = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit("add");
  update(bridge, R"({"budget":200,"status":"raised"})");
  commit("raise");
  const std::string raise = head_of("main");
  update(bridge, R"({"name":"bridge 2"})");
  commit("rename");

  char *out = nullptr;
  ASSERT_EQ(evcs_session_revert_commit(&out, session_, raise.c_str(), nullptr), EVCS_OK)
      << last_message();
  json reverted = take_json(out);
  EXPECT_EQ(reverted["target"], "main");
  EXPECT_EQ(reverted["source_commit"], raise);
  EXPECT_EQ(reverted["conflicts"], json::array());
  EXPECT_EQ(reverted["changes"][0]["fields"],
            json::parse(R"({"budget":{"old":"200.00","new":"100.00"},)"
                        R"("status":{"old":"raised","new":null}})"));
  EXPECT_EQ(fields(bridge), json::parse(R"({"name":"bridge 2","budget":"100.00","status":null})"))
      << "the later rename stays";
  json written = commit_info(reverted["commit"]);
  EXPECT_EQ(written["message"], "revert " + raise.substr(0, 12) + ": raise");
  EXPECT_EQ(written["merged_from"], nullptr);
  EXPECT_EQ(written["parents"].size(), 1u);

  // Reverting the revert's commit brings the raise back; a later change to the same field is
  // a conflict.
  update(bridge, R"({"budget":300})");
  commit("again");
  EXPECT_EQ(failed(evcs_session_revert_commit(&out, session_, reverted["commit"].get<std::string>().c_str(),
                                       nullptr)),
            EVCS_EMERGECONFLICT);
  json detail = detail_;
  ASSERT_EQ(detail["conflicts"].size(), 1u);
  EXPECT_EQ(detail["conflicts"][0],
            json({{"entity_type", "project"}, {"head_id", bridge}, {"field", "budget"},
                  {"base", "100.00"}, {"ours", "300.00"}, {"theirs", "200.00"},
                  {"resolution", nullptr}, {"kind", "field"}, {"constraint", nullptr},
                  {"other_type", nullptr}, {"other_head_id", nullptr}}));
  EXPECT_EQ(fields(bridge)["budget"], "300.00");
  ASSERT_EQ(evcs_session_revert_commit(&out, session_, reverted["commit"].get<std::string>().c_str(),
                                       R"({"strategy":"ours","message":"undo the revert"})"),
            EVCS_OK)
      << last_message();
  json undone = take_json(out);
  EXPECT_EQ(fields(bridge), json::parse(R"({"name":"bridge 2","budget":"300.00","status":"raised"})"));
  EXPECT_EQ(commit_info(undone["commit"])["message"], "undo the revert");

  EXPECT_EQ(failed(evcs_session_revert_commit(&out, session_, "ghost", nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_revert_commit(&out, session_, raise.c_str(), "{\"into\":7}")),
            EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiGraphTest, CherryPickAppliesOneCommitElsewhere) {
  std::string bridge = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit("add");
  create_branch("hotfix");
  create_branch("frozen");
  update_on_branch("hotfix", bridge, R"({"status":"patched"})", "patch");
  const std::string patch = head_of("hotfix");
  update_on_branch("hotfix", bridge, R"({"budget":999})", "unrelated");

  char *out = nullptr;
  ASSERT_EQ(evcs_session_cherry_pick(&out, session_, patch.substr(0, 10).c_str(), nullptr), EVCS_OK)
      << last_message();
  json picked = take_json(out);
  EXPECT_EQ(picked["target"], "main");
  EXPECT_EQ(picked["source_commit"], patch);
  EXPECT_EQ(fields(bridge), json::parse(R"({"name":"bridge","budget":"100.00","status":"patched"})"))
      << "only the picked commit's change";
  EXPECT_EQ(commit_info(picked["commit"])["message"], "cherry-pick " + patch.substr(0, 12) + ": patch");

  ASSERT_EQ(evcs_session_lock_branch(session_, "frozen"), EVCS_OK) << last_message();
  commit();
  EXPECT_EQ(failed(evcs_session_cherry_pick(&out, session_, patch.c_str(), R"({"into":"frozen"})")),
            EVCS_ELOCKED);
  EXPECT_EQ(sqlstate_, "EVL01");
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(fields(bridge, "frozen")["status"], nullptr);
  ASSERT_EQ(evcs_session_unlock_branch(session_, "frozen"), EVCS_OK) << last_message();
  commit();
  ASSERT_EQ(evcs_session_cherry_pick(&out, session_, patch.c_str(),
                                     R"({"into":"frozen","message":"thaw"})"),
            EVCS_OK)
      << last_message();
  json thawed = take_json(out);
  EXPECT_EQ(thawed["target"], "frozen");
  EXPECT_EQ(fields(bridge, "frozen")["status"], "patched");
  json written = commit_info(thawed["commit"]);
  EXPECT_EQ(written["branch"], "frozen");
  EXPECT_EQ(written["message"], "thaw");

  EXPECT_EQ(failed(evcs_session_cherry_pick(&out, session_, "ghost", nullptr)), EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_cherry_pick(&out, session_, patch.c_str(), R"({"into":"nowhere"})")),
            EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiGraphTest, DiffHistoryBetweenCommitsAndInstants) {
  std::string bridge = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit("add");
  json added = commit_info("main");
  update(bridge, R"({"budget":200})");
  std::string tunnel = create(R"({"name":"tunnel"})")["head_id"];
  commit("more");
  json more = commit_info("main");

  const std::string from = json(added["id"]).dump(), to = json(more["id"]).dump();
  json diff = diff_history(from, to);
  json expected = json::array();
  for (const auto &entry :
       {json({{"entity_type", "project"}, {"head_id", bridge}, {"kind", "modified"},
              {"fields", {{"budget", {{"old", "100.00"}, {"new", "200.00"}}}}}}),
        json({{"entity_type", "project"}, {"head_id", tunnel}, {"kind", "added"},
              {"fields", {{"name", {{"old", nullptr}, {"new", "tunnel"}}}}}})})
    expected.push_back(entry);
  std::sort(expected.begin(), expected.end(),
            [](const json &a, const json &b) { return a["head_id"] < b["head_id"]; });
  EXPECT_EQ(diff, expected);
  EXPECT_EQ(diff_history(std::to_string(added["stamp"].get<int64_t>()),
                         std::to_string(more["stamp"].get<int64_t>()), "main"),
            expected);
  EXPECT_EQ(diff_history(from, R"("main")"), expected) << "a branch names its head";
  EXPECT_EQ(diff_history(to, to), json::array());
  json backwards = diff_history(to, from);
  ASSERT_EQ(backwards.size(), 2u);
  EXPECT_EQ(diff_history("0", from).size(), 1u) << "from the empty state: bridge is added";
  EXPECT_EQ(diff_history("0", from)[0]["kind"], "added");

  char *out = nullptr;
  for (const char *bad : {"null", "[1]", "{", "1.5", "true"}) {
    EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, bad, to.c_str(), nullptr)), EVCS_EINVALID)
        << bad;
    EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, from.c_str(), bad, nullptr)),
              EVCS_EINVALID)
        << bad;
  }
  EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, R"("ghost")", to.c_str(), nullptr)),
            EVCS_ENOTFOUND);
  EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, "0", "1", "ghost")), EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiGraphTest, ReadsAtACommitAndFindAsOfCommit) {
  std::string bridge = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit("add");
  const std::string added = head_of("main");
  update(bridge, R"({"budget":200})");
  std::string tunnel = create(R"({"name":"tunnel"})")["head_id"];
  commit("more");
  char *out = nullptr;
  ASSERT_EQ(evcs_session_tag(&out, session_, "before-more", added.c_str(), nullptr), EVCS_OK);
  evcs_free(out);
  commit();

  ASSERT_EQ(evcs_repository_get_at_commit(&out, repo_, bridge.c_str(), added.c_str()), EVCS_OK)
      << last_message();
  json at_added = take_json(out);
  EXPECT_EQ(at_added["version"], 1);
  EXPECT_EQ(at_added["fields"]["budget"], "100.00");
  EXPECT_EQ(at_added["valid_from"], commit_info(added)["stamp"]);
  ASSERT_EQ(evcs_repository_get_at_commit(&out, repo_, bridge.c_str(), "main"), EVCS_OK);
  EXPECT_EQ(take_json(out)["version"], 2);
  ASSERT_EQ(evcs_repository_get_at_commit(&out, repo_, tunnel.c_str(), "before-more"), EVCS_OK);
  ASSERT_NE(out, nullptr);
  EXPECT_STREQ(out, "null") << "not created yet";
  evcs_free(out);
  EXPECT_EQ(failed(evcs_repository_get_at_commit(&out, repo_, bridge.c_str(), "ghost")), EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);

  const std::string at_tag = R"({"as_of_commit":"before-more"})";
  json found = find(at_tag);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["head_id"], bridge);
  EXPECT_EQ(found[0]["fields"]["budget"], "100.00");
  EXPECT_EQ(find(R"({"as_of_commit":"main"})").size(), 2u);
  EXPECT_EQ(find(R"({"as_of_commit":"before-more","branch":"main","as_of":null})").size(), 1u);
  int64_t number = -1;
  ASSERT_EQ(evcs_repository_count(&number, repo_, at_tag.c_str()), EVCS_OK) << last_message();
  EXPECT_EQ(number, 1);
  int exists = -1;
  ASSERT_EQ(evcs_repository_exists(&exists, repo_,
                                   R"({"as_of_commit":"before-more","where":{"name":"tunnel"}})"),
            EVCS_OK);
  EXPECT_EQ(exists, 0);

  EXPECT_EQ(failed(evcs_repository_find(&out, repo_, R"({"as_of_commit":7})")), EVCS_EINVALID);
  EXPECT_NE(message_.find("\"as_of_commit\" must be a string"), std::string::npos)
      << last_message();
  EXPECT_EQ(failed(evcs_repository_find(&out, repo_, R"({"as_of_commit":"main","as_of":0})")),
            EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_repository_find(&out, repo_, R"({"as_of_commit":"ghost"})")), EVCS_ENOTFOUND);
  create_branch("co");
  EXPECT_EQ(failed(evcs_repository_find(&out, repo_, R"({"as_of_commit":"main","branch":"co"})")),
            EVCS_EINVALID);
  EXPECT_EQ(failed(evcs_repository_count(&number, repo_, R"({"as_of_commit":"ghost"})")),
            EVCS_ENOTFOUND);
  EXPECT_EQ(out, nullptr);

  // Histories carry the previous values of the fields each version changed.
  ASSERT_EQ(evcs_repository_history(&out, repo_, bridge.c_str(), nullptr), EVCS_OK);
  json history = take_json(out);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["previous"], json::parse(R"({"name":null,"budget":null,"status":null})"));
  EXPECT_EQ(history[1]["changed"], json::array({"budget"}));
  EXPECT_EQ(history[1]["previous"], json::parse(R"({"budget":"100.00"})"));
}

TEST_F(CapiGraphTest, VersionsOverASystemTimeRange) {
  std::string bridge = create(R"({"name":"v1"})")["head_id"];
  commit();
  update(bridge, R"({"name":"v2"})");
  commit();
  update(bridge, R"({"name":"v3"})");
  commit();
  json all = versions("null");
  ASSERT_EQ(all.size(), 3u);
  auto names = [](const json &list) {
    std::vector<std::string> result;
    for (const auto &version : list) result.push_back(version["fields"]["name"]);
    return result;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names(all), (Names{"v1", "v2", "v3"}));
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_versions(&out, repo_, nullptr), EVCS_OK);
  EXPECT_EQ(take_json(out), all);
  EXPECT_EQ(versions("{}"), all);
  const std::string s1 = std::to_string(all[0]["valid_from"].get<int64_t>());
  const std::string s2 = std::to_string(all[1]["valid_from"].get<int64_t>());
  const std::string s3 = std::to_string(all[2]["valid_from"].get<int64_t>());

  EXPECT_EQ(names(versions(R"({"from":)" + s2 + R"(,"to":)" + s3 + "}")), (Names{"v2"}));
  EXPECT_EQ(names(versions(R"({"from":)" + s2 + R"(,"to":)" + s3 + R"(,"mode":"from_to"})")),
            (Names{"v2"}));
  EXPECT_EQ(names(versions(R"({"from":)" + s2 + R"(,"to":)" + s3 + R"(,"mode":"between"})")),
            (Names{"v2", "v3"}));
  EXPECT_EQ(names(versions(R"({"from":)" + s1 + R"(,"to":)" + s3 + R"(,"mode":"contained_in"})")),
            (Names{"v1", "v2"}));
  EXPECT_EQ(names(versions(R"({"from":)" + s2 + "}")), (Names{"v2", "v3"}));
  EXPECT_EQ(names(versions(R"({"to":)" + s2 + "}")), (Names{"v1"}));
  EXPECT_EQ(names(versions(R"({"limit":2,"branch":"main","from":null})")), (Names{"v1", "v2"}));

  create_branch("co");
  EXPECT_EQ(versions(R"({"branch":"co"})"), json::array()) << "only the branch's own versions";
  update_on_branch("co", bridge, R"({"name":"co1"})");
  json on_co = versions(R"({"branch":"co"})");
  EXPECT_EQ(names(on_co), (Names{"co1"}));
  EXPECT_EQ(on_co[0]["branch"], "co");

  for (const std::string &bad :
       {std::string(R"({"mode":"sideways"})"), R"({"from":)" + s3 + R"(,"to":)" + s1 + "}",
        std::string(R"({"limit":"2"})"), std::string(R"({"limit":-1})"),
        std::string(R"({"from":"yesterday"})"), std::string(R"({"colour":1})"),
        std::string(R"({"branch":1})"), std::string("[]"), std::string("{")}) {
    EXPECT_EQ(failed(evcs_repository_versions(&out, repo_, bad.c_str())), EVCS_EINVALID) << bad;
    EXPECT_EQ(out, nullptr);
  }
}

TEST_F(CapiGraphTest, NullHandlesAndNullArgumentsAreMisuse) {
  char *out = nullptr;
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, nullptr, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_with_options(nullptr, session_, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_with_options(&out, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_NE(message_.find("the source branch name is NULL"), std::string::npos);
  EXPECT_EQ(failed(evcs_session_merge_preview_with_options(&out, nullptr, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_preview_with_options(&out, session_, nullptr, "{}")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_start(&out, nullptr, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_start(nullptr, session_, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_start(&out, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_status(&out, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_status(nullptr, session_, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, nullptr, "[]", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_resolve(&out, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_NE(message_.find("the resolutions JSON is NULL"), std::string::npos);
  EXPECT_EQ(failed(evcs_session_merge_continue(&out, nullptr, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_continue(nullptr, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_abort(nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_commit_info(&out, nullptr, "main")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_commit_info(&out, session_, nullptr)), EVCS_EMISUSE);
  EXPECT_NE(message_.find("the commit is NULL"), std::string::npos);
  EXPECT_EQ(failed(evcs_session_commit_info(nullptr, session_, "main")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_base(&out, nullptr, "a", "b")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_base(&out, session_, nullptr, "b")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_merge_base(&out, session_, "a", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_tag(&out, nullptr, "t", nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_tag(&out, session_, nullptr, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_NE(message_.find("the tag name is NULL"), std::string::npos);
  EXPECT_EQ(failed(evcs_session_tag(nullptr, session_, "t", nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_tags(&out, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_tags(nullptr, session_)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_delete_tag(nullptr, "t")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_delete_tag(session_, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_revert_commit(&out, nullptr, "main", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_revert_commit(&out, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_revert_commit(nullptr, session_, "main", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_cherry_pick(&out, nullptr, "main", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_cherry_pick(&out, session_, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_cherry_pick(nullptr, session_, "main", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_diff_history(&out, nullptr, "0", "1", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, nullptr, "1", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_diff_history(&out, session_, "0", nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_session_diff_history(nullptr, session_, "0", "1", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_repository_get_at_commit(&out, nullptr, "x", "main")), EVCS_EMISUSE);
  EXPECT_NE(message_.find("repository is NULL"), std::string::npos);
  EXPECT_EQ(failed(evcs_repository_get_at_commit(&out, repo_, nullptr, "main")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_repository_get_at_commit(&out, repo_, "x", nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_repository_get_at_commit(nullptr, repo_, "x", "main")), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_repository_versions(&out, nullptr, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(failed(evcs_repository_versions(nullptr, repo_, nullptr)), EVCS_EMISUSE);
  EXPECT_EQ(out, nullptr);
  EXPECT_STREQ(evcs_error_code_name(code_), "misuse");
}

} // namespace
