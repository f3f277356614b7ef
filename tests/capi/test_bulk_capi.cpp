// evcs_repository_create_many: JSON rows in, the created ids and the commit stamp out; bad rows
// and a message inside a transaction fail with a status and write nothing.
#include "evcs/evcs.h"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace {

using json = nlohmann::json;

TEST(CapiBulkTest, CreateManyCommitsTheRowsAndReportsThem) {
  std::string url = evcs_test::fresh_database("capi_bulk");
  evcs_options *options = nullptr;
  ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
  ASSERT_EQ(evcs_options_set(options, "url", url.c_str()), EVCS_OK);
  evcs_engine *engine = nullptr;
  ASSERT_EQ(evcs_engine_open(&engine, options), EVCS_OK) << evcs_error_last_message();
  evcs_options_free(options);
  evcs_session *session = nullptr;
  ASSERT_EQ(evcs_session_open(&session, engine, nullptr, "dora"), EVCS_OK);
  ASSERT_EQ(evcs_session_create_entity_type(
                session, "part", R"([{"name":"name","type":"text not null"},)"
                                 R"({"name":"qty","type":"int"}])"),
            EVCS_OK)
      << evcs_error_last_message();
  ASSERT_EQ(evcs_session_commit(session, nullptr), EVCS_OK);
  evcs_repository *repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&repo, session, "part"), EVCS_OK);

  char *out = nullptr;
  ASSERT_EQ(evcs_repository_create_many(&out, repo, R"([{"name":"bolt","qty":3},{"name":"nut"}])",
                                        "two parts"),
            EVCS_OK)
      << evcs_error_last_message();
  json created = json::parse(out);
  evcs_free(out);
  ASSERT_EQ(created["head_ids"].size(), 2u);
  EXPECT_EQ(created["branch"], "main");
  EXPECT_EQ(created["version"], 1);
  EXPECT_EQ(created["author"], "dora");
  EXPECT_LT(created["valid_from"].get<int64_t>(), INT64_MAX);
  std::string bolt = created["head_ids"][0];
  ASSERT_EQ(evcs_repository_get(&out, repo, bolt.c_str(), nullptr, nullptr), EVCS_OK);
  json version = json::parse(out);
  evcs_free(out);
  EXPECT_EQ(version["fields"]["qty"], 3);
  EXPECT_EQ(version["valid_from"], created["valid_from"]);

  out = reinterpret_cast<char *>(1);
  EXPECT_EQ(evcs_repository_create_many(&out, repo, R"([{"qty":"many"}])", nullptr),
            EVCS_EINVALID);
  EXPECT_EQ(out, nullptr);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "22P02");
  EXPECT_EQ(evcs_repository_create_many(&out, repo, R"({"name":"not a list"})", nullptr),
            EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_create_many(&out, repo, "[", nullptr), EVCS_EINVALID);
  EXPECT_EQ(evcs_repository_create_many(&out, nullptr, "[]", nullptr), EVCS_EMISUSE);

  evcs_transaction *transaction = nullptr;
  ASSERT_EQ(evcs_session_begin(&transaction, session), EVCS_OK) << evcs_error_last_message();
  EXPECT_EQ(evcs_repository_create_many(&out, repo, R"([{"name":"washer"}])", "a message"),
            EVCS_EINVALID);
  EXPECT_NE(std::string(evcs_error_last_message()).find("pass the message to commit"),
            std::string::npos);
  ASSERT_EQ(evcs_transaction_rollback(transaction), EVCS_OK);
  evcs_transaction_free(transaction);

  evcs_result *count = nullptr;
  ASSERT_EQ(evcs_session_execute(&count, session, "SELECT count(*) FROM part_version", nullptr),
            EVCS_OK);
  int64_t rows = 0;
  ASSERT_EQ(evcs_result_get_int64(&rows, count, 0, 0), EVCS_OK);
  EXPECT_EQ(rows, 2) << "only the first call wrote";
  evcs_result_free(count);
  evcs_repository_free(repo);
  evcs_session_free(session);
  evcs_engine_free(engine);
}

} // namespace
