// References, unique keys and checks through the C ABI: evcs_session_create_entity_type_with,
// reference columns in the columns JSON, EVCS_EINTEGRITY at commit, and bad input (malformed
// declarations, NULL handles) refused with a status and a message.
#include "evcs/evcs.h"
#include "capi_support.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace {

using json = nlohmann::json;

using evcs_test::last_message;
using evcs_test::take_json;

class CapiRelationsTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("capi_relations")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs_options *options = nullptr;
    ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options, "url", url_->c_str()), EVCS_OK);
    ASSERT_EQ(evcs_engine_open(&engine_, options), EVCS_OK) << last_message();
    evcs_options_free(options);
    ASSERT_EQ(evcs_session_open(&session_, engine_, nullptr, "carol"), EVCS_OK);
    execute("DROP SCHEMA public CASCADE");
    execute("CREATE SCHEMA public");
    ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_create_entity_type(session_, "project",
                                              R"([{"name":"title","type":"text"}])"),
              EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_create_entity_type_with(
                  session_, "task",
                  R"([{"name":"title","type":"text"},)"
                  R"({"name":"project_id","references":"project","on_delete":"cascade"}])",
                  R"({"unique":[["title"]],"checks":{"titled":"title <> ''"}})"),
              EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  }

  void TearDown() override {
    evcs_session_free(session_);
    evcs_engine_free(engine_);
  }

  void execute(const char *sql) {
    evcs_result *result = nullptr;
    ASSERT_EQ(evcs_session_execute(&result, session_, sql, nullptr), EVCS_OK) << last_message();
    evcs_result_free(result);
  }

  json write(const char *type, const std::string &values) {
    evcs_repository *repo = nullptr;
    EXPECT_EQ(evcs_session_repository(&repo, session_, type), EVCS_OK) << last_message();
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_create(&out, repo, values.c_str(), nullptr), EVCS_OK) << last_message();
    evcs_repository_free(repo);
    return take_json(out);
  }

  static std::string *url_;
  evcs_engine *engine_ = nullptr;
  evcs_session *session_ = nullptr;
};

std::string *CapiRelationsTest::url_ = nullptr;

TEST_F(CapiRelationsTest, FieldsDescribeReferences) {
  evcs_repository *repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&repo, session_, "task"), EVCS_OK) << last_message();
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_fields(&out, repo), EVCS_OK);
  json fields = take_json(out);
  evcs_repository_free(repo);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_FALSE(fields[0].contains("references"));
  EXPECT_EQ(fields[1]["type"], "uuid");
  EXPECT_EQ(fields[1]["references"], "project");
  EXPECT_EQ(fields[1]["on_delete"], "cascade");
}

TEST_F(CapiRelationsTest, ABrokenRuleFailsTheCommitWithEintegrity) {
  std::string project = write("project", R"({"title":"p"})")["head_id"];
  write("task", R"({"title":"t","project_id":")" + project + "\"}");
  ASSERT_EQ(evcs_session_commit(session_, "a task"), EVCS_OK) << last_message();
  write("task", R"({"title":"t","project_id":")" + project + "\"}");
  EXPECT_EQ(evcs_session_commit(session_, "the same title"), EVCS_EINTEGRITY);
  EXPECT_NE(last_message().find("have the same title"), std::string::npos) << last_message();
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(&result, session_, "SELECT count(*) FROM task_version", nullptr),
            EVCS_OK);
  std::int64_t count = -1;
  ASSERT_EQ(evcs_result_get_int64(&count, result, 0, 0), EVCS_OK);
  EXPECT_EQ(count, 1);
  evcs_result_free(result);
}

// A merge that would break the unique key: EVCS_EMERGECONFLICT, the violation in the detail
// with its kind, rule and other entity, nothing written; a value resolution settles it.
TEST_F(CapiRelationsTest, AMergeThatBreaksARuleReportsTheViolationAsAConflict) {
  std::string project = write("project", R"({"title":"p"})")["head_id"];
  ASSERT_EQ(evcs_session_commit(session_, "a project"), EVCS_OK) << last_message();
  ASSERT_EQ(evcs_session_create_branch(session_, "b", nullptr, nullptr), EVCS_OK) << last_message();
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  std::string ours = write("task", R"({"title":"t","project_id":")" + project + "\"}")["head_id"];
  ASSERT_EQ(evcs_session_commit(session_, "t on main"), EVCS_OK) << last_message();
  evcs_session *b = nullptr;
  ASSERT_EQ(evcs_session_open(&b, engine_, "b", "carol"), EVCS_OK);
  evcs_repository *repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&repo, b, "task"), EVCS_OK) << last_message();
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_create(&out, repo, (R"({"title":"t","project_id":")" + project + "\"}").c_str(),
                                   nullptr),
            EVCS_OK) << last_message();
  std::string theirs = take_json(out)["head_id"];
  evcs_repository_free(repo);
  ASSERT_EQ(evcs_session_commit(b, "t on b"), EVCS_OK) << last_message();
  evcs_session_free(b);

  out = nullptr;
  ASSERT_EQ(evcs_session_merge_with_options(&out, session_, "b", R"({"strategy":"ours"})"),
            EVCS_EMERGECONFLICT);
  json conflicts = json::parse(evcs_error_last_detail()).at("conflicts");
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0], json({{"entity_type", "task"}, {"head_id", theirs}, {"field", "title"},
                                {"base", nullptr}, {"ours", nullptr}, {"theirs", "t"},
                                {"resolution", nullptr}, {"kind", "unique"},
                                {"constraint", "title"}, {"other_type", "task"},
                                {"other_head_id", ours}}));
  ASSERT_EQ(evcs_session_merge_preview_with_options(&out, session_, "b", nullptr), EVCS_OK)
      << last_message();
  EXPECT_EQ(take_json(out)["conflicts"][0]["kind"], "unique");

  std::string options = R"({"resolutions":[{"entity_type":"task","head_id":")" + theirs +
                        R"(","field":"title","take":"value","value":"t2"}]})";
  ASSERT_EQ(evcs_session_merge_with_options(&out, session_, "b", options.c_str()), EVCS_OK)
      << last_message();
  json merged = take_json(out);
  EXPECT_FALSE(merged["commit"].is_null());
  EXPECT_EQ(merged["conflicts"][0]["resolution"]["value"], "t2");
  EXPECT_EQ(merged["unresolved"], 0);
}

TEST_F(CapiRelationsTest, AnExistingTypesRulesChange) {
  ASSERT_EQ(evcs_session_create_entity_type(session_, "note",
                                            R"([{"name":"body","type":"text"},)"
                                            R"({"name":"project_id","type":"uuid"},)"
                                            R"({"name":"qty","type":"int"}])"),
            EVCS_OK) << last_message();
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  std::string project = write("project", R"({"title":"p"})")["head_id"];
  write("note", R"({"body":"a","qty":0,"project_id":")" + project + "\"}");
  write("note", R"({"body":"a","qty":1})");
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();

  EXPECT_EQ(evcs_session_add_reference(session_, "note", "project_id", "project", nullptr),
            EVCS_OK) << last_message();
  EXPECT_EQ(evcs_session_alter_reference(session_, "note", "project_id", "cascade"), EVCS_OK)
      << last_message();
  EXPECT_EQ(evcs_session_add_check(session_, "note", "sane", "qty >= 0"), EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(&result, session_,
                                 "SELECT columns -> 1 ->> 'on_delete', constraints::text "
                                 "FROM evcs_entity_type WHERE name = 'note'", nullptr),
            EVCS_OK);
  const char *text = nullptr;
  ASSERT_EQ(evcs_result_get_text(&text, nullptr, result, 0, 0), EVCS_OK);
  EXPECT_STREQ(text, "cascade");
  ASSERT_EQ(evcs_result_get_text(&text, nullptr, result, 0, 1), EVCS_OK);
  EXPECT_STREQ(text, R"({"checks": {"sane": "qty >= 0"}})");
  evcs_result_free(result);

  // Rules the data breaks: EVCS_EINTEGRITY naming the entities.
  EXPECT_EQ(evcs_session_add_unique_key(session_, "note", R"(["body"])"), EVCS_EINTEGRITY);
  EXPECT_NE(last_message().find("cannot add the unique key (body) to note: note "),
            std::string::npos) << last_message();
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);
  EXPECT_EQ(evcs_session_add_check(session_, "note", "positive", "qty > 0"), EVCS_EINTEGRITY);
  EXPECT_NE(last_message().find("cannot add the check positive to note: version 1 of note "),
            std::string::npos) << last_message();
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  EXPECT_EQ(evcs_session_add_unique_key(session_, "note", R"(["body","qty"])"), EVCS_OK)
      << last_message();
  EXPECT_EQ(evcs_session_drop_unique_key(session_, "note", R"(["body","qty"])"), EVCS_OK)
      << last_message();
  EXPECT_EQ(evcs_session_drop_check(session_, "note", "sane"), EVCS_OK) << last_message();
  EXPECT_EQ(evcs_session_drop_reference(session_, "note", "project_id"), EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();

  // Bad arguments.
  EXPECT_EQ(evcs_session_add_reference(nullptr, "note", "project_id", "project", nullptr),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_add_reference(session_, "note", "project_id", nullptr, nullptr),
            EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_add_unique_key(session_, "note", R"("body")"), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_add_unique_key(session_, "note", R"([1])"), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_add_unique_key(session_, "note", "not json"), EVCS_EINVALID);
  EXPECT_EQ(evcs_session_drop_check(session_, "note", "sane"), EVCS_ENOTFOUND);
  EXPECT_EQ(evcs_session_alter_reference(session_, "note", "project_id", "cascade"),
            EVCS_EINVALID);
}

TEST_F(CapiRelationsTest, BadDeclarationsAndHandlesAreRefused) {
  EXPECT_EQ(evcs_session_create_entity_type_with(nullptr, "a", "[]", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_create_entity_type_with(session_, "a", nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_create_entity_type_with(session_, "a", R"([{"name":"x","type":"int"}])",
                                                 R"({"unique":"x"})"),
            EVCS_EINVALID);
  EXPECT_NE(last_message().find("constraints must be"), std::string::npos) << last_message();
  EXPECT_EQ(evcs_session_create_entity_type_with(session_, "a",
                                                 R"([{"name":"x","references":7}])", nullptr),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_entity_type_with(
                session_, "a", R"([{"name":"x","references":"project","on_delete":"explode"}])",
                "{}"),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_session_create_entity_type_with(session_, "a", R"([{"name":"x","type":"int"}])",
                                                 "not json"),
            EVCS_EINVALID);
  // The session is still usable: a valid declaration after the refusals lands.
  EXPECT_EQ(evcs_session_create_entity_type_with(session_, "a", R"([{"name":"x","type":"int"}])",
                                                 nullptr),
            EVCS_OK) << last_message();
  EXPECT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
}

TEST_F(CapiRelationsTest, FindPagesIncludeRelatedVersionsAndFilterOnThem) {
  json project = write("project", R"({"title":"apollo"})");
  const std::string id = project["head_id"];
  write("task", R"({"title":"t1","project_id":")" + id + R"("})");
  write("task", R"({"title":"t2","project_id":")" + id + R"("})");
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  evcs_repository *projects = nullptr;
  ASSERT_EQ(evcs_session_repository(&projects, session_, "project"), EVCS_OK);
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_find_page(&out, projects, R"({"include":["tasks"]})"), EVCS_OK)
      << last_message();
  json page = take_json(out);
  EXPECT_EQ(page["relations"], json::parse(R"({"tasks":{"entity_type":"task","to_one":false}})"));
  ASSERT_EQ(page["versions"].size(), 1u);
  json tasks = page["versions"][0]["included"]["tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0]["fields"]["project_id"], id);
  ASSERT_EQ(evcs_repository_find_page(&out, projects, R"({"where":{"tasks.title":"t2"}})"),
            EVCS_OK) << last_message();
  EXPECT_EQ(take_json(out)["versions"].size(), 1u);
  EXPECT_EQ(evcs_repository_find_page(&out, projects, R"({"include":"owner"})"), EVCS_EINVALID);
  EXPECT_EQ(last_message(), "entity type 'project' has no relation 'owner' (relations: "
                            "task.project_id)");
  EXPECT_EQ(evcs_repository_find_page(&out, projects, R"({"include":[1]})"), EVCS_EINVALID);
  EXPECT_EQ(last_message(), "include must be a relation name or an array of them, not [1]");
  evcs_repository_free(projects);
}

TEST_F(CapiRelationsTest, FoundRowsHandTheSamePageOverWithoutJson) {
  json project = write("project", R"({"title":"apollo"})");
  const std::string id = project["head_id"];
  write("task", R"({"title":"t1","project_id":")" + id + R"("})");
  write("task", R"({"title":"t2","project_id":")" + id + R"("})");
  write("project", R"({"title":"empty"})");
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  evcs_repository *projects = nullptr;
  ASSERT_EQ(evcs_session_repository(&projects, session_, "project"), EVCS_OK);
  evcs_found *found = nullptr;
  ASSERT_EQ(evcs_repository_find_rows(&found, projects,
                                      R"({"include":"tasks","order_by":"title","limit":1})"),
            EVCS_OK) << last_message();
  const evcs_result *rows = nullptr;
  int64_t count = 0;
  ASSERT_EQ(evcs_found_rows(&rows, &count, found), EVCS_OK);
  EXPECT_EQ(count, 1);
  const char *text = nullptr;
  size_t length = 0;
  ASSERT_EQ(evcs_result_get_text(&text, &length, rows, 0, 0), EVCS_OK);
  EXPECT_EQ(std::string(text, length), id);
  ASSERT_EQ(evcs_result_get_text(&text, &length, rows, 0, 10), EVCS_OK);  // the first field
  EXPECT_EQ(std::string(text, length), "apollo");
  const char *cursor = nullptr;
  ASSERT_EQ(evcs_found_cursor(&cursor, found), EVCS_OK);
  ASSERT_NE(cursor, nullptr);
  size_t relations = 0;
  ASSERT_EQ(evcs_found_relation_count(&relations, found), EVCS_OK);
  ASSERT_EQ(relations, 1u);
  const char *name = nullptr, *entity_type = nullptr;
  int to_one = -1;
  const evcs_result *related = nullptr;
  ASSERT_EQ(evcs_found_relation(&name, &entity_type, &to_one, &related, found, 0), EVCS_OK);
  EXPECT_STREQ(name, "tasks");
  EXPECT_STREQ(entity_type, "task");
  EXPECT_EQ(to_one, 0);
  const int64_t *indexes = nullptr;
  size_t related_count = 0;
  ASSERT_EQ(evcs_found_related(&indexes, &related_count, found, 0, 0), EVCS_OK);
  ASSERT_EQ(related_count, 2u);
  for (size_t at = 0; at < related_count; ++at) {
    ASSERT_EQ(evcs_result_get_text(&text, &length, related, indexes[at], 11), EVCS_OK);
    EXPECT_EQ(std::string(text, length), id);  // the task's project_id
  }
  EXPECT_EQ(evcs_found_related(&indexes, &related_count, found, 0, 1), EVCS_EINVALID);
  EXPECT_EQ(last_message(), "row 1 of a page of 1");
  EXPECT_EQ(evcs_found_relation(&name, &entity_type, &to_one, &related, found, 1), EVCS_EINVALID);
  EXPECT_EQ(evcs_found_rows(&rows, &count, nullptr), EVCS_EMISUSE);
  evcs_found_free(found);
  evcs_found_free(nullptr);
  EXPECT_EQ(evcs_repository_find_rows(nullptr, projects, nullptr), EVCS_EMISUSE);
  evcs_repository_free(projects);
}

// Each on_delete action through the C ABI: cascade and set null write in the deleting commit,
// restrict refuses it (EVCS_EINTEGRITY, nothing written); the versions before stay readable.
TEST_F(CapiRelationsTest, EveryOnDeleteActionHoldsAtCommit) {
  ASSERT_EQ(evcs_session_create_entity_type(session_, "person",
                                            R"([{"name":"email","type":"text"}])"),
            EVCS_OK) << last_message();
  ASSERT_EQ(evcs_session_create_entity_type(
                session_, "ticket",
                R"([{"name":"title","type":"text"},)"
                R"({"name":"owner","references":"person","on_delete":"set null"},)"
                R"({"name":"project_id","references":"project","on_delete":"restrict"}])"),
            EVCS_OK) << last_message();
  ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message();
  const std::string kept = write("project", R"({"title":"kept"})")["head_id"];
  const std::string gone = write("project", R"({"title":"gone"})")["head_id"];
  const std::string ann = write("person", R"({"email":"ann@x"})")["head_id"];
  const std::string task = write("task", R"({"title":"t","project_id":")" + gone + R"("})")["head_id"];
  const std::string ticket = write("ticket", R"({"title":"k","owner":")" + ann +
                                                 R"(","project_id":")" + kept + R"("})")["head_id"];
  ASSERT_EQ(evcs_session_commit(session_, "the rows"), EVCS_OK) << last_message();
  auto repository = [&](const char *type) {
    evcs_repository *repo = nullptr;
    EXPECT_EQ(evcs_session_repository(&repo, session_, type), EVCS_OK) << last_message();
    return repo;
  };
  auto get = [&](const char *type, const std::string &id, const int64_t *as_of = nullptr) {
    evcs_repository *repo = repository(type);
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_get(&out, repo, id.c_str(), as_of, nullptr), EVCS_OK)
        << last_message();
    evcs_repository_free(repo);
    return take_json(out);
  };
  auto remove = [&](const char *type, const std::string &id) {
    evcs_repository *repo = repository(type);
    char *out = nullptr;
    EXPECT_EQ(evcs_repository_delete(&out, repo, id.c_str()), EVCS_OK) << last_message();
    evcs_free(out);
    evcs_repository_free(repo);
  };
  const int64_t before = get("task", task)["valid_from"];
  remove("project", gone);
  remove("person", ann);
  ASSERT_EQ(evcs_session_commit(session_, "cascade and set null"), EVCS_OK) << last_message();
  EXPECT_TRUE(get("task", task).is_null());
  EXPECT_TRUE(get("ticket", ticket)["fields"]["owner"].is_null());
  EXPECT_EQ(get("task", task, &before)["fields"]["project_id"], gone);
  EXPECT_EQ(get("ticket", ticket, &before)["fields"]["owner"], ann);
  remove("project", kept);
  EXPECT_EQ(evcs_session_commit(session_, "restricted"), EVCS_EINTEGRITY);
  EXPECT_NE(last_message().find(ticket), std::string::npos) << last_message();
  EXPECT_EQ(get("project", kept)["fields"]["title"], "kept");
}

}  // namespace
