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

}  // namespace
