// Every error class is mapped once from SQLSTATE (or the engine's own condition).
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

namespace {

struct ServerError {
  const char *sql;
  evcs::ErrorCode code;
  const char *sqlstate;
};

class ErrorTest : public ::testing::TestWithParam<ServerError> {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("core_errors"));
    evcs::EngineOptions options;
    options.url = *url_;
    evcs::Engine engine(options);
    auto session = engine.session();
    session.execute("CREATE TABLE unique_thing (id int PRIMARY KEY, positive int CHECK (positive > 0))");
    session.execute(
        "CREATE FUNCTION raise_evcs(state text) RETURNS void LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'raised %', state USING ERRCODE = state; END $$");
    session.commit();
  }
  static void TearDownTestSuite() { delete url_; }
  static std::string *url_;
};

std::string *ErrorTest::url_ = nullptr;

TEST_P(ErrorTest, MapsSqlstateToTheHierarchy) {
  const ServerError &expected = GetParam();
  evcs::EngineOptions options;
    options.url = *url_;
    evcs::Engine engine(options);
  auto session = engine.session();
  try {
    session.execute(expected.sql);
    FAIL() << expected.sql << " should fail";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), expected.code) << error.what();
    EXPECT_EQ(error.sqlstate(), expected.sqlstate);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sqlstates, ErrorTest,
    ::testing::Values(
        ServerError{"INSERT INTO unique_thing VALUES (1, 1), (1, 1)", evcs::ErrorCode::integrity_error, "23505"},
        ServerError{"INSERT INTO unique_thing VALUES (2, -1)", evcs::ErrorCode::integrity_error, "23514"},
        ServerError{"SELEC 1", evcs::ErrorCode::invalid_argument, "42601"},
        ServerError{"SELECT * FROM no_such_table", evcs::ErrorCode::invalid_argument, "42P01"},
        ServerError{"SELECT 1/0", evcs::ErrorCode::invalid_argument, "22012"},
        ServerError{"SELECT raise_evcs('40001')", evcs::ErrorCode::serialization_failure, "40001"},
        ServerError{"SELECT raise_evcs('40P01')", evcs::ErrorCode::serialization_failure, "40P01"},
        ServerError{"SELECT raise_evcs('EVL01')", evcs::ErrorCode::branch_locked, "EVL01"},
        ServerError{"SELECT raise_evcs('EVN01')", evcs::ErrorCode::not_found, "EVN01"},
        ServerError{"SELECT raise_evcs('EVC01')", evcs::ErrorCode::concurrent_modification, "EVC01"},
        ServerError{"SELECT raise_evcs('P0001')", evcs::ErrorCode::error, "P0001"}),
    [](const ::testing::TestParamInfo<ServerError> &info) {
      return std::string("sqlstate_") + info.param.sqlstate;
    });

TEST(ErrorClasses, ThrowErrorBuildsTheRightClass) {
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::merge_conflict, "m"), evcs::MergeConflict);
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::merge_conflict, "m"), evcs::Conflict);
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::concurrent_modification, "m"), evcs::Conflict);
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::migration_error, "m"), evcs::MigrationError);
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::not_found, "m"), evcs::NotFound);
  EXPECT_THROW(evcs::throw_error(evcs::ErrorCode::pool_timeout, "m"), evcs::PoolTimeout);
  try {
    evcs::throw_error(evcs::ErrorCode::connection_lost, "m", "08006", true);
  } catch (const evcs::ConnectionLost &error) {
    EXPECT_TRUE(error.retryable());
    EXPECT_FALSE(error.in_doubt());
  }
  EXPECT_STREQ(evcs::code_name(evcs::ErrorCode::branch_locked), "branch_locked");
}

} // namespace
