// evcs_session_set_autocommit: each repository write commits by itself with its own stamp;
// switching needs no transaction in progress; NULL handles fail with a status.
#include "evcs/evcs.h"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace {

using json = nlohmann::json;

TEST(CapiAutocommitTest, EachWriteCommitsByItself) {
  std::string url = evcs_test::fresh_database("capi_autocommit");
  evcs_options *options = nullptr;
  ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
  ASSERT_EQ(evcs_options_set(options, "url", url.c_str()), EVCS_OK);
  evcs_engine *engine = nullptr;
  ASSERT_EQ(evcs_engine_open(&engine, options), EVCS_OK) << evcs_error_last_message();
  evcs_options_free(options);
  evcs_session *session = nullptr;
  ASSERT_EQ(evcs_session_open(&session, engine, nullptr, "dora"), EVCS_OK);
  ASSERT_EQ(evcs_session_create_entity_type(session, "part",
                                            R"([{"name":"name","type":"text not null"}])"),
            EVCS_OK)
      << evcs_error_last_message();
  int on = -1;
  ASSERT_EQ(evcs_session_autocommit(&on, session), EVCS_OK);
  EXPECT_EQ(on, 0);
  EXPECT_EQ(evcs_session_set_autocommit(session, 1), EVCS_EMISUSE)
      << "create_entity_type left a transaction in progress";
  ASSERT_EQ(evcs_session_commit(session, nullptr), EVCS_OK);
  ASSERT_EQ(evcs_session_set_autocommit(session, 1), EVCS_OK);
  ASSERT_EQ(evcs_session_autocommit(&on, session), EVCS_OK);
  EXPECT_EQ(on, 1);

  evcs_repository *repo = nullptr;
  ASSERT_EQ(evcs_session_repository(&repo, session, "part"), EVCS_OK);
  char *out = nullptr;
  ASSERT_EQ(evcs_repository_create(&out, repo, R"({"name":"bolt"})", nullptr), EVCS_OK)
      << evcs_error_last_message();
  json created = json::parse(out);
  evcs_free(out);
  EXPECT_LT(created["valid_from"].get<int64_t>(), INT64_MAX) << "stamped, not pending";
  int active = -1;
  ASSERT_EQ(evcs_session_in_transaction(&active, session), EVCS_OK);
  EXPECT_EQ(active, 0);

  evcs_session *other = nullptr;
  ASSERT_EQ(evcs_session_open(&other, engine, nullptr, nullptr), EVCS_OK);
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(&result, other, "SELECT count(*) FROM evcs_commit", nullptr),
            EVCS_OK);
  int64_t commits = 0;
  ASSERT_EQ(evcs_result_get_int64(&commits, result, 0, 0), EVCS_OK);
  EXPECT_EQ(commits, 1);
  evcs_result_free(result);
  evcs_session_free(other);

  EXPECT_EQ(evcs_session_set_autocommit(nullptr, 1), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_autocommit(nullptr, session), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_autocommit(&on, nullptr), EVCS_EMISUSE);
  evcs_repository_free(repo);
  evcs_session_free(session);
  evcs_engine_free(engine);
}

} // namespace
