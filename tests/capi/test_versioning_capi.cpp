// Versioned entities and branches through the C ABI: JSON records in and out, pages with their
// cursors, statuses and last errors for bad input, NULL handles, locked branches and unknown types.
#include "evcs/evcs.h"
#include "capi_support.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;

using evcs_test::last_message;
using evcs_test::take_json;

class CapiVersioningTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("capi_versioning"));
  }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs_options *options = nullptr;
    ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options, "url", url_->c_str()), EVCS_OK);
    ASSERT_EQ(evcs_engine_open(&engine_, options), EVCS_OK) << last_message();
    evcs_options_free(options);
    ASSERT_EQ(evcs_session_open(&session_, engine_, nullptr, "carol"), EVCS_OK);
    run("DROP SCHEMA public CASCADE");
    run("CREATE SCHEMA public");
    ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_create_entity_type(
                  session_, "project",
                  R"json([{"name":"name","type":"text not null"},{"name":"budget","type":"numeric(14,2)"},)json"
                  R"json({"name":"status","type":"text"},{"name":"tags","type":"text[]"}])json"),
              EVCS_OK)
        << last_message();
    ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_repository(&repo_, session_, "project"), EVCS_OK) << last_message();
  }
  void TearDown() override {
    evcs_repository_free(repo_);
    evcs_session_free(session_);
    evcs_engine_free(engine_);
  }

  void run(const char *sql) {
    evcs_result *result = nullptr;
    ASSERT_EQ(evcs_session_execute(&result, session_, sql, nullptr), EVCS_OK) << last_message();
    evcs_result_free(result);
  }
  void commit() { ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message(); }

  json create(const char *values, const char *head_id = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_create(&out, repo_, values, head_id), EVCS_OK) << last_message();
    return take_json(out);
  }
  json update(const std::string &head, const char *values, int64_t expected = -1) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_update(&out, repo_, head.c_str(), values, expected), EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json get(const std::string &head, const int64_t *as_of = nullptr, const char *branch = nullptr) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_get(&out, repo_, head.c_str(), as_of, branch), EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json history(const std::string &head) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_history(&out, repo_, head.c_str(), nullptr), EVCS_OK)
        << last_message();
    return take_json(out);
  }
  json find(const char *options) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_find(&out, repo_, options), EVCS_OK) << last_message();
    return take_json(out);
  }
  int64_t count(const char *options) {
    int64_t value = -1;
    EXPECT_EQ(evcs_repository_count(&value, repo_, options), EVCS_OK) << last_message();
    return value;
  }
  // Writes `values` over entity `head` on `branch`, in a session of its own, and commits.
  void update_on_branch(const char *branch, const std::string &head, const char *values) {
    evcs_session *branch_session = nullptr;
    ASSERT_EQ(evcs_session_open(&branch_session, engine_, branch, "erin"), EVCS_OK);
    evcs_repository *branch_repo = nullptr;
    EXPECT_EQ(evcs_session_repository(&branch_repo, branch_session, "project"), EVCS_OK);
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_update(&out, branch_repo, head.c_str(), values, -1), EVCS_OK)
        << last_message();
    evcs_free(out);
    EXPECT_EQ(evcs_session_commit(branch_session, nullptr), EVCS_OK) << last_message();
    evcs_repository_free(branch_repo);
    evcs_session_free(branch_session);
  }
  json branches() {
    char *out = nullptr;
    EXPECT_EQ(evcs_session_branches(&out, session_), EVCS_OK) << last_message();
    return take_json(out);
  }
  // `count` committed projects to page through, budgets with duplicates and NULLs; their ids.
  std::vector<std::string> create_pageable(int count) {
    std::vector<std::string> ids;
    for (int index = 0; index < count; ++index) {
      json values = {{"name", "item " + std::to_string(index)},
                     {"budget", index % 3 == 0 ? json(nullptr) : json(index % 4)}};
      ids.push_back(create(values.dump().c_str())["head_id"].get<std::string>());
    }
    commit();
    return ids;
  }
  json find_page(const json &options) {
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_find_page(&out, repo_, options.dump().c_str()), EVCS_OK)
        << last_message();
    return take_json(out);
  }

  static std::string *url_;
  evcs_engine *engine_ = nullptr;
  evcs_session *session_ = nullptr;
  evcs_repository *repo_ = nullptr;
};

std::string *CapiVersioningTest::url_ = nullptr;

// The parts of a version that do not depend on the clock or on random ids.
json stable(json version) {
  version.erase("head_id");
  version.erase("valid_from");
  version.erase("valid_to");
  return version;
}

TEST_F(CapiVersioningTest, CreateUpdateGetAndHistoryAsJson) {
  json created = create(R"({"name":"Bridge","budget":"1000.50","tags":["a","b"]})",
                        "0b7e7a1c-0000-4000-8000-000000000001");
  EXPECT_EQ(created["head_id"], "0b7e7a1c-0000-4000-8000-000000000001");
  EXPECT_EQ(created["valid_from"], INT64_MAX) << "pending until the commit stamps it";
  EXPECT_EQ(stable(created), json::parse(R"({"branch":"main","version":1,"deleted":false,
      "author":"carol","parent_branch":null,"parent_version":null,"merged_from":null,
      "fields":{"name":"Bridge","budget":"1000.50","status":null,"tags":["a","b"]},
      "changed":[],"previous":{}})"));
  commit();
  std::string head = created["head_id"];
  json current = get(head);
  EXPECT_LT(current["valid_from"].get<int64_t>(), INT64_MAX);
  EXPECT_EQ(current["valid_to"], nullptr);
  EXPECT_EQ(current["fields"], created["fields"]);

  json updated = update(head, R"({"budget":1200,"status":"active"})", 1);
  EXPECT_EQ(updated["version"], 2);
  EXPECT_EQ(updated["fields"], json::parse(
      R"({"name":"Bridge","budget":"1200.00","status":"active","tags":["a","b"]})"));
  commit();

  json versions = history(head);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["version"], 1);
  EXPECT_EQ(versions[0]["changed"], json::parse(R"(["name","budget","status","tags"])"));
  EXPECT_EQ(versions[1]["changed"], json::parse(R"(["budget","status"])"));
  EXPECT_EQ(versions[0]["valid_to"], versions[1]["valid_from"]);

  int64_t first = versions[0]["valid_from"];
  int64_t second = versions[1]["valid_from"];
  int64_t before = first - 1;
  EXPECT_EQ(get(head, &before), nullptr) << "\"null\" before creation";
  EXPECT_EQ(get(head, &first)["fields"]["budget"], "1000.50") << "valid_from is inclusive";
  int64_t just_before = second - 1;
  EXPECT_EQ(get(head, &just_before)["version"], 1);
  EXPECT_EQ(get(head, &second)["version"], 2) << "valid_to is exclusive";
  EXPECT_EQ(get("0b7e7a1c-0000-4000-8000-0000000000ff"), nullptr);
}

TEST_F(CapiVersioningTest, DeleteRestoreRevertAndExpectedVersion) {
  std::string head = create(R"({"name":"v1","budget":10})")["head_id"];
  commit();
  update(head, R"({"name":"v2"})");
  commit();

  char *out = nullptr;
  EXPECT_EQ(evcs_repository_update(&out, repo_, head.c_str(), R"({"name":"stale"})", 1),
            EVCS_ECONCURRENT);
  EXPECT_EQ(out, nullptr);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "EVC01");
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  ASSERT_EQ(evcs_repository_delete(&out, repo_, head.c_str()), EVCS_OK) << last_message();
  json tombstone = take_json(out);
  EXPECT_EQ(tombstone["deleted"], true);
  EXPECT_EQ(tombstone["version"], 3);
  commit();
  EXPECT_EQ(get(head), nullptr);
  EXPECT_EQ(evcs_repository_update(&out, repo_, head.c_str(), R"({"name":"x"})", -1),
            EVCS_ENOTFOUND);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "EVN01");
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  ASSERT_EQ(evcs_repository_restore(&out, repo_, head.c_str()), EVCS_OK) << last_message();
  json restored = take_json(out);
  EXPECT_EQ(restored["version"], 4);
  EXPECT_EQ(restored["fields"]["name"], "v2");
  commit();

  ASSERT_EQ(evcs_repository_revert(&out, repo_, head.c_str(), 1, nullptr), EVCS_OK)
      << last_message();
  json reverted = take_json(out);
  EXPECT_EQ(reverted["version"], 5);
  EXPECT_EQ(reverted["fields"]["name"], "v1");
  commit();

  json versions = history(head);
  ASSERT_EQ(versions.size(), 5u);
  int64_t at_v2 = versions[1]["valid_from"];
  ASSERT_EQ(evcs_repository_revert(&out, repo_, head.c_str(), -1, &at_v2), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out)["fields"]["name"], "v2");
  commit();
  EXPECT_EQ(evcs_repository_revert(&out, repo_, head.c_str(), 99, nullptr), EVCS_ENOTFOUND);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(evcs_repository_revert(&out, repo_, head.c_str(), -1, nullptr), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CapiVersioningTest, FindCountAndExistsTakeOptionsAsJson) {
  create(R"({"name":"alpha","budget":50,"status":"active"})");
  create(R"({"name":"beta","budget":150,"status":"active"})");
  create(R"({"name":"gamma","budget":300,"status":"closed"})");
  commit();

  json found = find(R"({"where":{"status":"active","budget":{"gt":100}}})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["fields"]["name"], "beta");

  json ordered = find(R"({"order_by":"-budget","limit":2})");
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0]["fields"]["name"], "gamma");
  EXPECT_EQ(ordered[1]["fields"]["name"], "beta");
  json paged = find(R"({"order_by":["name"],"limit":2,"offset":1,"branch":"main","as_of":null})");
  ASSERT_EQ(paged.size(), 2u);
  EXPECT_EQ(paged[0]["fields"]["name"], "beta");
  EXPECT_EQ(paged[1]["fields"]["name"], "gamma");

  EXPECT_EQ(find(nullptr).size(), 3u);
  EXPECT_EQ(find("null").size(), 3u);
  EXPECT_EQ(find("{}").size(), 3u);
  EXPECT_EQ(count(nullptr), 3);
  EXPECT_EQ(count(R"({"where":{"status":"active"}})"), 2);
  int64_t long_ago = 0;
  std::string at_epoch = "{\"as_of\":" + std::to_string(long_ago) + "}";
  EXPECT_EQ(count(at_epoch.c_str()), 0);

  int exists = -1;
  ASSERT_EQ(evcs_repository_exists(&exists, repo_, R"({"where":{"name":"x' OR '1'='1"}})"),
            EVCS_OK);
  EXPECT_EQ(exists, 0);
  ASSERT_EQ(evcs_repository_exists(&exists, repo_, R"({"where":{"name":{"like":"%mm%"}}})"),
            EVCS_OK);
  EXPECT_EQ(exists, 1);
}

TEST_F(CapiVersioningTest, BadJsonAndBadShapesAreInvalidArgumentAndWriteNothing) {
  char *out = nullptr;
  int64_t number = 0;
  EXPECT_EQ(evcs_repository_create(&out, repo_, "{\"name\": ", nullptr), EVCS_EINVALID);
  EXPECT_NE(last_message().find("the values JSON is not valid JSON"), std::string::npos)
      << last_message();
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(evcs_repository_create(&out, repo_, "[1,2]", nullptr), EVCS_EINVALID);
  EXPECT_NE(last_message().find("must be an object"), std::string::npos) << last_message();
  EXPECT_EQ(evcs_repository_create(&out, repo_, "{\"name\":\"\xff\"}", nullptr), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_create(&out, repo_, R"({"nmae":"typo"})", nullptr), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_create(&out, repo_, R"({"budget":1})", nullptr), EVCS_EINTEGRITY);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "23502");
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"limt":3})"), EVCS_EINVALID);
  EXPECT_NE(last_message().find("unknown find option \"limt\""), std::string::npos)
      << last_message();
  EXPECT_EQ(evcs_repository_count(&number, repo_, R"({"limit":"3"})"), EVCS_EINVALID);
  EXPECT_NE(last_message().find("\"limit\" must be an integer"), std::string::npos);
  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"order_by":[1]})"), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"branch":7})"), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, "[]"), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, "{"), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"where":{"nmae":"alpha"}})"), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"order_by":"name; DROP TABLE project"})"),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_find(&out, repo_, R"({"limit":-1})"), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  EXPECT_EQ(evcs_session_create_entity_type(session_, "other", R"({"x":"text"})"), EVCS_EINVALID);
  EXPECT_NE(last_message().find("must be an array"), std::string::npos) << last_message();
  EXPECT_EQ(evcs_session_create_entity_type(session_, "other", R"([{"name":"x"}])"),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_entity_type(session_, "other", R"([["x","text"]])"),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_entity_type(session_, "other", "not json"), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_entity_type(session_, "Bad-Name", "[]"), EVCS_EINVALID);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(count(nullptr), 0) << "nothing was written";
}

TEST_F(CapiVersioningTest, UnknownTypesAndNullHandles) {
  evcs_repository *repo = nullptr;
  EXPECT_EQ(evcs_session_repository(&repo, session_, "no_such_type"), EVCS_ENOTFOUND);
  EXPECT_EQ(repo, nullptr);
  EXPECT_NE(last_message().find("no_such_type"), std::string::npos) << last_message();
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  char *out = nullptr;
  int64_t number = 0;
  int flag = 0;
  EXPECT_EQ(evcs_session_repository(&repo, nullptr, "project"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_repository(nullptr, session_, "project"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_repository(&repo, session_, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_create(&out, nullptr, "{}", nullptr), EVCS_EMISUSE);
  EXPECT_NE(last_message().find("repository is NULL"), std::string::npos);
  EXPECT_EQ(evcs_repository_create(&out, repo_, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_update(&out, repo_, nullptr, "{}", -1), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_get(nullptr, repo_, "x", nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_history(&out, nullptr, "x", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_find(&out, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_count(&number, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_exists(&flag, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_delete(&out, nullptr, "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_restore(&out, nullptr, "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_revert(&out, nullptr, "x", 1, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_create_entity_type(nullptr, "x", "[]"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_create_branch(nullptr, "x", nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_branches(&out, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_lock_branch(nullptr, "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_lock_branch(session_, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_unlock_branch(nullptr, "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_archive_branch(nullptr, "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_diff(&out, nullptr, "x", nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge(&out, nullptr, "x", nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge_preview(&out, nullptr, "x", nullptr), EVCS_EMISUSE);
  const int64_t instant = 0;
  EXPECT_EQ(evcs_session_create_branch_as_of(nullptr, "x", nullptr, nullptr, &instant),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_create_branch_as_of(session_, nullptr, nullptr, nullptr, &instant),
            EVCS_EMISUSE);
  EXPECT_NE(last_message().find("the branch name is NULL"), std::string::npos);
  EXPECT_EQ(evcs_session_merge_with_message(&out, nullptr, "x", nullptr, nullptr, "m"),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge_with_message(nullptr, session_, "x", nullptr, nullptr, "m"),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge_with_message(&out, session_, nullptr, nullptr, nullptr, "m"),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge_preview_with_strategy(&out, nullptr, "x", nullptr, "theirs"),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_merge_preview_with_strategy(&out, session_, nullptr, nullptr, "theirs"),
            EVCS_EMISUSE);
  EXPECT_NE(last_message().find("the source branch name is NULL"), std::string::npos);
  EXPECT_EQ(out, nullptr);
  evcs_repository_free(nullptr);
}

TEST_F(CapiVersioningTest, ARepositoryOutlivesItsSession) {
  evcs_session *session = nullptr;
  ASSERT_EQ(evcs_session_open(&session, engine_, nullptr, "dave"), EVCS_OK);
  evcs_repository *repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&repo, session, "project"), EVCS_OK) << last_message();
  evcs_session_free(session);
  int64_t number = -1;
  EXPECT_EQ(evcs_repository_count(&number, repo, nullptr), EVCS_OK) << last_message();
  EXPECT_EQ(number, 0);
  evcs_repository_free(repo);
}

TEST_F(CapiVersioningTest, BranchesReadThroughAndLockedBranchesRejectWrites) {
  std::string head = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit();
  ASSERT_EQ(evcs_session_create_branch(session_, "change-order", nullptr, nullptr), EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_create_branch(session_, "what-if", "change-order", "live"), EVCS_OK)
      << last_message();
  commit();

  json listed = branches();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0]["name"], "main");
  EXPECT_EQ(listed[0]["parent"], nullptr);
  EXPECT_EQ(listed[1]["name"], "change-order");
  EXPECT_EQ(listed[1]["parent"], "main");
  EXPECT_EQ(listed[1]["mode"], "snapshot");
  EXPECT_EQ(listed[1]["status"], "active");
  EXPECT_EQ(listed[1]["created_by"], "carol");
  EXPECT_TRUE(listed[1]["fork_stamp"].is_number_integer());
  EXPECT_TRUE(listed[1]["created_at"].is_number_integer());
  EXPECT_EQ(listed[2]["name"], "what-if");
  EXPECT_EQ(listed[2]["mode"], "live");

  EXPECT_EQ(get(head, nullptr, "change-order")["fields"]["budget"], "100.00") << "read-through";

  evcs_session *branch_session = nullptr;
  ASSERT_EQ(evcs_session_open(&branch_session, engine_, "change-order", "erin"), EVCS_OK);
  evcs_repository *branch_repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&branch_repo, branch_session, "project"), EVCS_OK);
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_update(&out, branch_repo, head.c_str(), R"({"budget":150})", -1),
            EVCS_OK)
      << last_message();
  json changed = take_json(out);
  EXPECT_EQ(changed["branch"], "change-order");
  EXPECT_EQ(changed["parent_branch"], "main");
  EXPECT_EQ(changed["parent_version"], 1);
  ASSERT_EQ(evcs_session_commit(branch_session, nullptr), EVCS_OK) << last_message();
  EXPECT_EQ(get(head, nullptr, "change-order")["fields"]["budget"], "150.00");
  EXPECT_EQ(get(head)["fields"]["budget"], "100.00") << "main is untouched";

  ASSERT_EQ(evcs_session_lock_branch(session_, "change-order"), EVCS_OK) << last_message();
  commit();
  EXPECT_EQ(branches()[1]["status"], "locked");
  EXPECT_EQ(evcs_repository_update(&out, branch_repo, head.c_str(), R"({"budget":5})", -1),
            EVCS_ELOCKED);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "EVL01");
  EXPECT_STREQ(evcs_error_code_name(evcs_error_last_code()), "branch_locked");
  ASSERT_EQ(evcs_session_rollback(branch_session), EVCS_OK);
  ASSERT_EQ(evcs_session_unlock_branch(session_, "change-order"), EVCS_OK) << last_message();
  commit();
  ASSERT_EQ(evcs_repository_update(&out, branch_repo, head.c_str(), R"({"budget":5})", -1),
            EVCS_OK)
      << last_message();
  evcs_free(out);
  ASSERT_EQ(evcs_session_commit(branch_session, nullptr), EVCS_OK);
  ASSERT_EQ(evcs_session_archive_branch(session_, "what-if"), EVCS_OK) << last_message();
  commit();
  EXPECT_EQ(branches()[2]["status"], "archived");

  EXPECT_EQ(evcs_session_create_branch(session_, "bad name", nullptr, nullptr), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_branch(session_, "x", nullptr, "sideways"), EVCS_EINVALID);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(evcs_session_lock_branch(session_, "ghost"), EVCS_ENOTFOUND);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  evcs_repository_free(branch_repo);
  evcs_session_free(branch_session);
}

TEST_F(CapiVersioningTest, DiffAndMergeAsJson) {
  std::string head = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit();
  ASSERT_EQ(evcs_session_create_branch(session_, "change-order", nullptr, nullptr), EVCS_OK);
  commit();
  update_on_branch("change-order", head, R"({"budget":150})");

  char *out = nullptr;
  ASSERT_EQ(evcs_session_diff(&out, session_, "change-order", nullptr, nullptr), EVCS_OK)
      << last_message();
  json diff = take_json(out);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0], json({{"entity_type", "project"}, {"head_id", head}, {"kind", "modified"},
                           {"fields", {{"budget", {{"old", "100.00"}, {"new", "150.00"}}}}}}));

  update(head, R"({"budget":120})");
  commit();
  ASSERT_EQ(evcs_session_merge_preview(&out, session_, "change-order", nullptr), EVCS_OK)
      << last_message();
  json preview = take_json(out);
  EXPECT_EQ(preview["stamp"], nullptr);
  ASSERT_EQ(preview["conflicts"].size(), 1u);
  EXPECT_EQ(preview["conflicts"][0],
            json({{"entity_type", "project"}, {"head_id", head}, {"field", "budget"},
                  {"base", "100.00"}, {"ours", "120.00"}, {"theirs", "150.00"},
                  {"resolution", nullptr}, {"kind", "field"}, {"constraint", nullptr},
                  {"other_type", nullptr}, {"other_head_id", nullptr}}));

  EXPECT_EQ(evcs_session_merge(&out, session_, "change-order", nullptr, nullptr),
            EVCS_EMERGECONFLICT);
  EXPECT_EQ(out, nullptr);
  json detail = json::parse(evcs_error_last_detail());
  EXPECT_EQ(detail["conflicts"], preview["conflicts"]);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(evcs_session_merge(&out, session_, "change-order", nullptr, "sideways"),
            EVCS_EINVALID);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  ASSERT_EQ(evcs_session_merge(&out, session_, "change-order", "main", "theirs"), EVCS_OK)
      << last_message();
  json merged = take_json(out);
  EXPECT_TRUE(merged["stamp"].is_number_integer());
  EXPECT_EQ(merged["conflicts"].size(), 1u);
  ASSERT_EQ(merged["changes"].size(), 1u);
  EXPECT_EQ(merged["changes"][0]["head_id"], head);
  EXPECT_EQ(get(head)["fields"]["budget"], "150.00");
  EXPECT_EQ(get(head)["merged_from"], "change-order");
}

TEST_F(CapiVersioningTest, ASnapshotBranchForksFromAPastInstant) {
  std::string head = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit();
  const int64_t before_raise = get(head)["valid_from"];
  update(head, R"({"budget":120})");
  commit();
  ASSERT_EQ(evcs_session_create_branch_as_of(session_, "audit", "main", "snapshot", &before_raise),
            EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_create_branch_as_of(session_, "now", nullptr, nullptr, nullptr), EVCS_OK)
      << last_message();
  commit();
  json listed = branches();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1]["name"], "audit");
  EXPECT_EQ(listed[1]["fork_stamp"], before_raise);
  EXPECT_EQ(listed[2]["name"], "now");
  EXPECT_EQ(listed[2]["mode"], "snapshot");
  EXPECT_GT(listed[2]["fork_stamp"].get<int64_t>(), before_raise);
  EXPECT_EQ(get(head, nullptr, "audit")["fields"]["budget"], "100.00") << "before the raise";
  EXPECT_EQ(get(head, nullptr, "now")["fields"]["budget"], "120.00");
  EXPECT_EQ(get(head)["fields"]["budget"], "120.00");

  const int64_t in_an_hour = get(head)["valid_from"].get<int64_t>() + 3600LL * 1000000;
  EXPECT_EQ(evcs_session_create_branch_as_of(session_, "later", nullptr, nullptr, &in_an_hour),
            EVCS_EINVALID);
  EXPECT_NE(last_message().find("in the future"), std::string::npos) << last_message();
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(evcs_session_create_branch_as_of(session_, "live-past", nullptr, "live", &before_raise),
            EVCS_EINVALID);
  EXPECT_NE(last_message().find("live branch"), std::string::npos) << last_message();
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(branches().size(), 3u) << "nothing was created";
}

TEST_F(CapiVersioningTest, AMergeRecordsItsMessageAndAPreviewTakesAStrategy) {
  std::string head = create(R"({"name":"bridge","budget":100})")["head_id"];
  commit();
  ASSERT_EQ(evcs_session_create_branch(session_, "co", nullptr, nullptr), EVCS_OK);
  commit();
  update_on_branch("co", head, R"({"budget":150,"status":"approved"})");
  update(head, R"({"budget":120})");
  commit();

  char *out = nullptr;

  const json status_only = {{"status", {{"old", nullptr}, {"new", "approved"}}}};
  for (const char *strategy : {static_cast<const char *>(nullptr), "fail", "ours"}) {
    ASSERT_EQ(evcs_session_merge_preview_with_strategy(&out, session_, "co", nullptr, strategy),
              EVCS_OK)
        << last_message();
    json preview = take_json(out);
    ASSERT_EQ(preview["changes"].size(), 1u) << (strategy ? strategy : "NULL");
    EXPECT_EQ(preview["changes"][0]["fields"], status_only) << (strategy ? strategy : "NULL");
    EXPECT_EQ(preview["conflicts"].size(), 1u);
  }
  ASSERT_EQ(evcs_session_merge_preview_with_strategy(&out, session_, "co", "main", "theirs"),
            EVCS_OK)
      << last_message();
  json theirs = take_json(out);
  EXPECT_EQ(theirs["stamp"], nullptr);
  ASSERT_EQ(theirs["changes"].size(), 1u);
  EXPECT_EQ(theirs["changes"][0]["fields"],
            json({{"budget", {{"old", "120.00"}, {"new", "150.00"}}},
                  {"status", {{"old", nullptr}, {"new", "approved"}}}}));
  EXPECT_EQ(theirs["conflicts"].size(), 1u);
  EXPECT_EQ(evcs_session_merge_preview_with_strategy(&out, session_, "co", nullptr, "sideways"),
            EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(get(head)["fields"]["budget"], "120.00") << "a preview writes nothing";

  ASSERT_EQ(evcs_session_merge_with_message(&out, session_, "co", nullptr, "theirs",
                                            "approve the change order"),
            EVCS_OK)
      << last_message();
  json merged = take_json(out);
  ASSERT_EQ(evcs_session_commit_log(&out, session_, R"({"limit":1})"), EVCS_OK) << last_message();
  json last = take_json(out)[0];
  EXPECT_EQ(last["message"], "approve the change order");
  EXPECT_EQ(last["merged_from"], "co");
  EXPECT_EQ(last["stamp"], merged["stamp"]);
  EXPECT_EQ(get(head)["fields"]["budget"], "150.00");
}

TEST_F(CapiVersioningTest, FieldsCarryTheirDeclaredTypeAndValueType) {
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_fields(&out, repo_), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out),
            json::parse(R"json([{"name":"name","type":"text not null","value_type":0},)json"
                        R"json({"name":"budget","type":"numeric(14,2)","value_type":6},)json"
                        R"json({"name":"status","type":"text","value_type":0},)json"
                        R"json({"name":"tags","type":"text[]","value_type":10}])json"));
  ASSERT_EQ(evcs_session_create_entity_type(
                session_, "typed",
                R"json([{"name":"id","type":"uuid"},{"name":"day","type":"date"},)json"
                R"json({"name":"at","type":"timestamptz"},{"name":"raw","type":"bytea"},)json"
                R"json({"name":"counts","type":"int[]"},{"name":"big","type":"bigint"},)json"
                R"json({"name":"ratio","type":"float8"},{"name":"ok","type":"bool"},)json"
                R"json({"name":"doc","type":"jsonb"}])json"),
            EVCS_OK)
      << last_message();
  evcs_repository *typed = nullptr;
  ASSERT_EQ(evcs_session_repository(&typed, session_, "typed"), EVCS_OK) << last_message();
  ASSERT_EQ(evcs_repository_fields(&out, typed), EVCS_OK) << last_message();
  json value_types = json::object();
  for (const auto &field : take_json(out)) value_types[field["name"].get<std::string>()] = field["value_type"];
  EXPECT_EQ(value_types, json({{"id", EVCS_TYPE_UUID}, {"day", EVCS_TYPE_DATE},
                               {"at", EVCS_TYPE_TIMESTAMP}, {"raw", EVCS_TYPE_BYTES},
                               {"counts", EVCS_TYPE_INT_ARRAY}, {"big", EVCS_TYPE_INT64},
                               {"ratio", EVCS_TYPE_DOUBLE}, {"ok", EVCS_TYPE_BOOL},
                               {"doc", EVCS_TYPE_JSON}}));
  ASSERT_EQ(evcs_repository_create(&out, typed,
                                   R"({"counts":[3,null,-4],"raw":"\\x00ff","at":"2024-05-01T12:00:00.5Z"})",
                                   nullptr),
            EVCS_OK)
      << last_message();
  json fields = take_json(out)["fields"];
  EXPECT_EQ(fields["counts"], json::parse("[3,null,-4]"));
  EXPECT_EQ(fields["raw"], "\\x00ff");
  EXPECT_EQ(fields["at"], "2024-05-01 12:00:00.5+00");
  evcs_repository_free(typed);
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  EXPECT_EQ(evcs_repository_fields(&out, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_fields(nullptr, repo_), EVCS_EMISUSE);
}

TEST_F(CapiVersioningTest, IntegerArraysAreJsonArraysOfIntegers) {
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(&result, session_,
                                 "SELECT '{{1,2},{NULL,-9223372036854775808}}'::int8[], '{}'::int2[]",
                                 nullptr),
            EVCS_OK)
      << last_message();
  int type = -1;
  ASSERT_EQ(evcs_result_column_type(&type, result, 0), EVCS_OK);
  EXPECT_EQ(type, EVCS_TYPE_INT_ARRAY);
  char *out = nullptr;
  ASSERT_EQ(evcs_result_get_json(&out, result, 0, 0), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out), json::parse("[[1,2],[null,-9223372036854775808]]"));
  ASSERT_EQ(evcs_result_get_json(&out, result, 0, 1), EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out), json::array());
  evcs_result_free(result);
}

} // namespace

namespace {

TEST_F(CapiVersioningTest, CommitLogAsJsonWithFilters) {
  json created = create(R"({"name":"Log"})");
  ASSERT_EQ(evcs_session_commit(session_, "add Log"), EVCS_OK) << last_message();
  std::string head = created["head_id"];
  update(head, R"({"status":"open"})");
  ASSERT_EQ(evcs_session_commit(session_, "open Log"), EVCS_OK) << last_message();
  char *out = nullptr;
  std::string options = R"({"entity_type":"project","head_id":")" + head + R"("})";
  ASSERT_EQ(evcs_session_commit_log(&out, session_, options.c_str()), EVCS_OK) << last_message();
  json log = take_json(out);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["message"], "open Log");
  EXPECT_EQ(log[1]["message"], "add Log");
  EXPECT_GT(log[0]["stamp"].get<int64_t>(), log[1]["stamp"].get<int64_t>());
  EXPECT_EQ(log[0]["author"], "carol");
  EXPECT_EQ(log[0]["branch"], "main");
  EXPECT_EQ(log[0]["changes"], 1);
  EXPECT_EQ(log[0]["merged_from"], nullptr);
  ASSERT_EQ(evcs_session_commit_log(&out, session_, R"({"limit":1})"), EVCS_OK);
  log = take_json(out);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["message"], "open Log");
  ASSERT_EQ(evcs_session_commit_log(&out, session_, nullptr), EVCS_OK);
  EXPECT_EQ(take_json(out).size(), 2u);
  EXPECT_EQ(evcs_session_commit_log(&out, session_, R"({"color":"red"})"), EVCS_EINVALID);
  EXPECT_NE(last_message().find("color"), std::string::npos);
  EXPECT_EQ(evcs_session_commit_log(&out, session_, R"({"limit":"1"})"), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_commit_log(&out, session_, "[1]"), EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(evcs_session_commit_log(&out, nullptr, nullptr), EVCS_EMISUSE);
}

// ---- keyset pagination: {"versions", "cursor"} pages ----------------------------------------

TEST_F(CapiVersioningTest, FindPagesCarryTheCursorOfTheNextPage) {
  create_pageable(11);
  json options = {{"order_by", {"-budget", "name"}}, {"limit", 4}};
  json walked = json::array();
  std::vector<std::size_t> sizes;
  for (;;) {
    json page = find_page(options);
    ASSERT_TRUE(page.is_object());
    ASSERT_EQ(page.size(), 2u) << page.dump();
    sizes.push_back(page["versions"].size());
    for (const auto &version : page["versions"]) walked.push_back(version);
    if (page["cursor"].is_null()) break;
    ASSERT_TRUE(page["cursor"].is_string());
    options["after"] = page["cursor"];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 3}));
  EXPECT_EQ(walked, find(json({{"order_by", {"-budget", "name"}}}).dump().c_str()));
  // evcs_repository_find takes "after" too and hands back the versions alone.
  json first = find_page({{"limit", 5}});
  json second = find(json({{"limit", 5}, {"after", first["cursor"]}}).dump().c_str());
  EXPECT_EQ(second, find_page({{"limit", 5}, {"after", first["cursor"]}})["versions"]);
  EXPECT_EQ(second.size(), 5u);
  EXPECT_TRUE(find_page(json(nullptr))["cursor"].is_null());
}

TEST_F(CapiVersioningTest, HistoryAndVersionsPages) {
  const std::string id = create_pageable(11).front();
  for (int budget = 10; budget < 14; ++budget) {
    update(id, json({{"budget", budget}}).dump().c_str());
    commit();
  }
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_history_page(&out, repo_, id.c_str(), R"({"limit": 3})"), EVCS_OK)
      << last_message();
  json first = take_json(out);
  ASSERT_EQ(first["versions"].size(), 3u);
  EXPECT_EQ(first["versions"][0]["version"], 1);
  json options = {{"limit", 3}, {"after", first["cursor"]}};
  ASSERT_EQ(evcs_repository_history_page(&out, repo_, id.c_str(), options.dump().c_str()),
            EVCS_OK)
      << last_message();
  json second = take_json(out);
  ASSERT_EQ(second["versions"].size(), 2u);
  EXPECT_EQ(second["versions"][1]["version"], 5);
  EXPECT_EQ(second["versions"][1]["changed"], json::array({"budget"}));
  EXPECT_TRUE(second["cursor"].is_null());

  ASSERT_EQ(evcs_repository_versions_page(&out, repo_, R"({"limit": 10})"), EVCS_OK)
      << last_message();
  json versions = take_json(out);
  ASSERT_EQ(versions["versions"].size(), 10u);
  json range = {{"limit", 10}, {"after", versions["cursor"]}};
  ASSERT_EQ(evcs_repository_versions_page(&out, repo_, range.dump().c_str()), EVCS_OK)
      << last_message();
  json rest = take_json(out);
  EXPECT_EQ(rest["versions"].size(), 5u) << "11 creations and 4 updates";
  EXPECT_TRUE(rest["cursor"].is_null());
}

// A history page as rows: the history up to the page's end in order, the page's range, what
// each version changed (by field index), and the cursor, as the JSON page says them.
TEST_F(CapiVersioningTest, HistoryRowsMatchTheJsonPage) {
  const std::string id = create_pageable(1).front();
  for (int budget = 10; budget < 14; ++budget) {
    update(id, json({{"budget", budget}, {"status", budget == 12 ? "hot" : "cold"}}).dump().c_str());
    commit();
  }
  evcs_history *history = nullptr;
  ASSERT_EQ(evcs_repository_history_rows(&history, repo_, id.c_str(), R"({"limit": 3})"),
            EVCS_OK)
      << last_message();
  const evcs_result *rows = nullptr;
  int64_t first = -1, count = -1;
  ASSERT_EQ(evcs_history_rows(&rows, &first, &count, history), EVCS_OK);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(count, 3);
  const char *cursor = nullptr;
  ASSERT_EQ(evcs_history_cursor(&cursor, history), EVCS_OK);
  ASSERT_NE(cursor, nullptr);
  json options = {{"limit", 3}, {"after", cursor}};
  evcs_history_free(history);

  ASSERT_EQ(evcs_repository_history_rows(&history, repo_, id.c_str(), options.dump().c_str()),
            EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_history_rows(&rows, &first, &count, history), EVCS_OK);
  EXPECT_EQ(first, 3) << "the rows before the page come too: the page's changes need them";
  EXPECT_EQ(count, 2);
  int64_t total = 0;
  ASSERT_EQ(evcs_result_row_count(&total, rows), EVCS_OK);
  EXPECT_EQ(total, 5);
  auto changed_of = [&](int64_t row) {
    const size_t *fields = nullptr;
    size_t changed = 0;
    EXPECT_EQ(evcs_history_changed(&fields, &changed, history, row), EVCS_OK) << last_message();
    return std::vector<size_t>(fields, fields + changed);
  };
  EXPECT_EQ(changed_of(0), (std::vector<size_t>{0, 1, 2, 3})) << "a first version changes all";
  EXPECT_EQ(changed_of(1), (std::vector<size_t>{1, 2})) << "budget and status";
  EXPECT_EQ(changed_of(2), (std::vector<size_t>{1})) << "cold stays cold";
  EXPECT_EQ(changed_of(3), (std::vector<size_t>{1, 2})) << "cold to hot";
  EXPECT_EQ(changed_of(4), (std::vector<size_t>{1, 2})) << "hot back to cold";
  const size_t *fields = nullptr;
  size_t changed = 0;
  EXPECT_EQ(evcs_history_changed(&fields, &changed, history, 5), EVCS_EINVALID);
  ASSERT_EQ(evcs_history_cursor(&cursor, history), EVCS_OK);
  EXPECT_EQ(cursor, nullptr);
  int64_t version = 0;
  ASSERT_EQ(evcs_result_get_int64(&version, rows, 4, 2), EVCS_OK);
  EXPECT_EQ(version, 5);
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_history_page(&out, repo_, id.c_str(), options.dump().c_str()),
            EVCS_OK);
  json page = take_json(out);
  ASSERT_EQ(page["versions"].size(), 2u);
  EXPECT_EQ(page["versions"][0]["changed"], json::array({"budget", "status"}));
  EXPECT_EQ(page["versions"][0]["previous"]["status"], "cold");
  EXPECT_EQ(page["versions"][1]["previous"]["status"], "hot");
  evcs_history_free(history);

  EXPECT_EQ(evcs_repository_history_rows(&history, nullptr, id.c_str(), nullptr), EVCS_EMISUSE);
  EXPECT_EQ(history, nullptr);
  EXPECT_EQ(evcs_history_rows(&rows, &first, &count, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_history_changed(&fields, &changed, nullptr, 0), EVCS_EMISUSE);
  EXPECT_EQ(evcs_history_cursor(&cursor, nullptr), EVCS_EMISUSE);
  evcs_history_free(nullptr);
}

TEST_F(CapiVersioningTest, BadCursorsAndMisuseAreErrorsWithTheirCodes) {
  const std::vector<std::string> head_ids = create_pageable(5);
  json first = find_page({{"limit", 2}, {"order_by", "name"}});
  const std::string cursor = first["cursor"].get<std::string>();
  char *out = reinterpret_cast<char *>(1);
  auto refused = [&](const json &options, int code, const char *sqlstate) {
    out = reinterpret_cast<char *>(1);
    EXPECT_EQ(evcs_repository_find_page(&out, repo_, options.dump().c_str()), code)
        << options.dump();
    EXPECT_EQ(out, nullptr);
    EXPECT_STREQ(evcs_error_last_sqlstate(), sqlstate) << last_message();
  };
  refused({{"limit", 2}, {"order_by", "-name"}, {"after", cursor}}, EVCS_EINVALID, "EVK01");
  refused({{"limit", 2}, {"order_by", "name"}, {"after", "%%%"}}, EVCS_EINVALID, "EVK01");
  refused({{"limit", 2}, {"order_by", "name"}, {"after", cursor.substr(1)}}, EVCS_EINVALID,
          "EVK01");
  refused({{"order_by", "name"}, {"after", cursor}, {"offset", 1}}, EVCS_EINVALID, "");
  refused({{"after", 7}}, EVCS_EINVALID, "");
  EXPECT_NE(last_message().find("\"after\" must be a string"), std::string::npos);
  EXPECT_EQ(evcs_repository_history_page(&out, repo_, head_ids[0].c_str(),
                                         R"({"after": 1})"),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_history_page(&out, repo_, head_ids[0].c_str(),
                                         R"({"sideways": 1})"),
            EVCS_EINVALID);
  EXPECT_NE(last_message().find("unknown history option"), std::string::npos);

  EXPECT_EQ(evcs_repository_find_page(nullptr, repo_, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_find_page(&out, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_history_page(&out, nullptr, head_ids[0].c_str(), nullptr),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_history_page(&out, repo_, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_versions_page(&out, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_repository_versions_page(nullptr, repo_, nullptr), EVCS_EMISUSE);
}

} // namespace
