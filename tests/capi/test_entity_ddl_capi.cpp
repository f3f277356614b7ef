// Column changes of an entity type through the C ABI: statuses, last errors, NULL arguments,
// and the history kept across add, rename and drop.
#include "evcs/evcs.h"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace {

using json = nlohmann::json;

std::string last_message() { return evcs_error_last_message(); }

class CapiEntityDdl : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("capi_entity_ddl")); }
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
    commit();
    ASSERT_EQ(evcs_session_create_entity_type(
                  session_, "project",
                  R"json([{"name":"name","type":"text not null"},{"name":"budget","type":"numeric(14,2)"}])json"),
              EVCS_OK)
        << last_message();
    commit();
  }
  void TearDown() override {
    evcs_session_free(session_);
    evcs_engine_free(engine_);
  }

  void run(const char *sql) {
    evcs_result *result = nullptr;
    ASSERT_EQ(evcs_session_execute(&result, session_, sql, nullptr), EVCS_OK) << last_message();
    evcs_result_free(result);
  }
  void commit() { ASSERT_EQ(evcs_session_commit(session_, nullptr), EVCS_OK) << last_message(); }

  // Runs `call` on a fresh repository of "project" and returns the JSON it wrote to `out`.
  template <typename Call> json with_repository(Call call) {
    evcs_repository *repo = nullptr;
    EXPECT_EQ(evcs_session_repository(&repo, session_, "project"), EVCS_OK) << last_message();
    char *out = nullptr;
    EXPECT_EQ(call(&out, repo), EVCS_OK) << last_message();
    evcs_repository_free(repo);
    json parsed = out == nullptr ? json("no output") : json::parse(out);
    evcs_free(out);
    return parsed;
  }
  json catalog_columns() {
    evcs_result *result = nullptr;
    EXPECT_EQ(evcs_session_execute(&result, session_,
                                   "SELECT columns::text FROM evcs_entity_type WHERE name = 'project'",
                                   nullptr),
              EVCS_OK);
    const char *text = nullptr;
    size_t length = 0;
    EXPECT_EQ(evcs_result_get_text(&text, &length, result, 0, 0), EVCS_OK) << last_message();
    json columns = json::parse(std::string(text, length));
    evcs_result_free(result);
    return columns;
  }

  static std::string *url_;
  evcs_engine *engine_ = nullptr;
  evcs_session *session_ = nullptr;
};

std::string *CapiEntityDdl::url_ = nullptr;

TEST_F(CapiEntityDdl, AddRenameAndDropKeepTheHistory) {
  json created = with_repository([](char **out, evcs_repository *repo) {
    return evcs_repository_create(out, repo, R"({"name": "Bridge", "budget": "10.00"})", nullptr);
  });
  commit();
  const std::string head = created["head_id"];

  ASSERT_EQ(evcs_session_add_column(session_, "project", "status", "text", "planned"), EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_add_column(session_, "project", "note", "text", nullptr), EVCS_OK)
      << last_message();
  commit();
  json fresh = with_repository([](char **out, evcs_repository *repo) {
    return evcs_repository_create(out, repo, R"({"name": "Tunnel"})", nullptr);
  });
  EXPECT_EQ(fresh["fields"], json({{"name", "Tunnel"}, {"budget", nullptr}, {"status", "planned"},
                                   {"note", nullptr}}));
  commit();

  ASSERT_EQ(evcs_session_rename_column(session_, "project", "budget", "cost"), EVCS_OK)
      << last_message();
  ASSERT_EQ(evcs_session_drop_column(session_, "project", "note"), EVCS_OK) << last_message();
  commit();
  json history = with_repository([&](char **out, evcs_repository *repo) {
    return evcs_repository_history(out, repo, head.c_str(), nullptr);
  });
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["version"], 1);
  EXPECT_EQ(history[0]["fields"], json({{"name", "Bridge"}, {"cost", "10.00"}, {"status", nullptr}}));
  EXPECT_EQ(catalog_columns(),
            json::parse(R"json([{"name": "name", "type": "text not null"},
                            {"name": "cost", "type": "numeric(14,2)"},
                            {"name": "status", "type": "text", "default": "planned"}])json"));
}

TEST_F(CapiEntityDdl, BadChangesFailWithTheirCodeAndChangeNothing) {
  const json before = catalog_columns();
  struct Case {
    std::function<int()> change;
    int status;
    const char *sqlstate;
    const char *message;
  };
  evcs_session *s = session_;
  const Case cases[] = {
      {[&] { return evcs_session_add_column(s, "nope", "x", "text", nullptr); }, EVCS_ENOTFOUND,
       "EVN01", "unknown entity type 'nope'"},
      {[&] { return evcs_session_drop_column(s, "project", "nope"); }, EVCS_ENOTFOUND, "EVN01",
       "has no column 'nope'"},
      {[&] { return evcs_session_rename_column(s, "project", "nope", "x"); }, EVCS_ENOTFOUND,
       "EVN01", "has no column 'nope'"},
      {[&] { return evcs_session_add_column(s, "project", "x", "text); DROP TABLE project; --", nullptr); },
       EVCS_EINVALID, "EVI01", "has an invalid type"},
      {[&] { return evcs_session_rename_column(s, "project", "name", "budget"); }, EVCS_EINVALID,
       "EVI01", "already has a column 'budget'"},
      {[&] { return evcs_session_drop_column(s, "project", "version"); }, EVCS_EINVALID, "EVI01",
       "column 'version' is evcs's version metadata"},
      {[&] { return evcs_session_add_column(s, "project", nullptr, "text", nullptr); }, EVCS_EMISUSE,
       "", "the column name is NULL"},
      {[&] { return evcs_session_drop_column(nullptr, "project", "name"); }, EVCS_EMISUSE, "",
       "session is NULL"},
  };
  for (const auto &c : cases) {
    EXPECT_EQ(c.change(), c.status) << c.message;
    EXPECT_EQ(evcs_error_last_code(), c.status) << c.message;
    EXPECT_STREQ(evcs_error_last_sqlstate(), c.sqlstate) << c.message;
    EXPECT_NE(last_message().find(c.message), std::string::npos) << last_message();
  }
  EXPECT_EQ(catalog_columns(), before);
}

} // namespace
