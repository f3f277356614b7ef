// Sessions, transactions, savepoints, parameters and results against a real server.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace {

class SessionTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_session")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    options.pool_size = 4;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto session = engine_->session();
    session.execute("DROP TABLE IF EXISTS item");
    session.execute("CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)");
    session.commit();
  }

  std::int64_t count_items() {
    auto session = engine_->session();
    return session.scalar<std::int64_t>("SELECT count(*) FROM item").value();
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *SessionTest::url_ = nullptr;

TEST_F(SessionTest, CommitMakesWritesVisibleToOtherSessions) {
  auto session = engine_->session();
  session.execute("INSERT INTO item VALUES ($1, $2)", evcs::Params::of(1, "one"));
  EXPECT_TRUE(session.in_transaction());
  EXPECT_EQ(count_items(), 0);
  session.commit();
  EXPECT_FALSE(session.in_transaction());
  EXPECT_EQ(count_items(), 1);
}

TEST_F(SessionTest, RollbackDiscardsWrites) {
  auto session = engine_->session();
  session.execute("INSERT INTO item VALUES ($1, $2)", evcs::Params::of(1, "one"));
  session.rollback();
  EXPECT_EQ(count_items(), 0);
}

TEST_F(SessionTest, DestroyingASessionRollsBack) {
  {
    auto session = engine_->session();
    session.execute("INSERT INTO item VALUES ($1, $2)", evcs::Params::of(1, "one"));
  }
  EXPECT_EQ(count_items(), 0);
  EXPECT_EQ(engine_->pool_status().checked_out, 0u);
}

TEST_F(SessionTest, ExplicitTransactionCommitsOrRollsBack) {
  auto session = engine_->session();
  {
    auto transaction = session.begin();
    session.execute("INSERT INTO item VALUES (1, 'one')");
    transaction.commit();
    EXPECT_FALSE(transaction.is_active());
  }
  {
    auto transaction = session.begin();
    session.execute("INSERT INTO item VALUES (2, 'two')");
  }
  EXPECT_EQ(count_items(), 1);
}

TEST_F(SessionTest, BeginTwiceIsMisuse) {
  auto session = engine_->session();
  auto transaction = session.begin();
  EXPECT_THROW(session.begin(), evcs::MisuseError);
  session.execute("SELECT 1");
  EXPECT_THROW(session.begin(), evcs::MisuseError);
}

TEST_F(SessionTest, SavepointRollbackKeepsTheOuterTransaction) {
  auto session = engine_->session();
  auto outer = session.begin();
  session.execute("INSERT INTO item VALUES (1, 'one')");
  {
    auto nested = session.begin_nested();
    EXPECT_TRUE(nested.is_nested());
    EXPECT_THROW(session.execute("INSERT INTO item VALUES (1, 'duplicate')"), evcs::IntegrityError);
    nested.rollback();
  }
  session.execute("INSERT INTO item VALUES (2, 'two')");
  {
    auto nested = session.begin_nested();
    session.execute("INSERT INTO item VALUES (3, 'three')");
    nested.commit();
  }
  outer.commit();
  EXPECT_EQ(count_items(), 3);
}

TEST_F(SessionTest, AnUnusedSavepointCostsNothingAndEndsCleanly) {
  auto session = engine_->session();
  auto nested = session.begin_nested();
  nested.commit();
  EXPECT_THROW(nested.commit(), evcs::MisuseError);
  session.commit();
  EXPECT_EQ(session.backend_pid(), 0);
}

TEST_F(SessionTest, CommitAfterAFailedStatementReportsTheRollback) {
  auto session = engine_->session();
  session.execute("INSERT INTO item VALUES (1, 'one')");
  EXPECT_THROW(session.execute("SELECT 1/0"), evcs::InvalidArgument);
  try {
    session.execute("SELECT 1");
    FAIL() << "a statement after a failure must be refused";
  } catch (const evcs::MisuseError &error) {
    EXPECT_EQ(error.sqlstate(), "25P02");
  }
  try {
    session.commit();
    FAIL() << "commit of a failed transaction must not look like success";
  } catch (const evcs::MisuseError &error) {
    EXPECT_EQ(error.sqlstate(), "25P02");
  }
  EXPECT_EQ(count_items(), 0);
}

TEST_F(SessionTest, ParametersRoundTripWithTheirTypes) {
  auto session = engine_->session();
  auto row = session.execute(
      "SELECT $1::int8, $2::float8, $3::bool, $4::text, $5::bytea, $6::timestamptz, $7::jsonb, "
      "$8::text",
      evcs::Params()
          .add(std::int64_t{-9223372036854775807LL})
          .add(0.1)
          .add(true)
          .add("héllo ✓")
          .add_bytes(std::string("\0\x01\xff", 3))
          .add(evcs::Timestamp{1700000000123456})
          .add_json(R"({"a": [1, 2]})")
          .add_null());
  EXPECT_EQ(row.get_int64(0, 0), -9223372036854775807LL);
  EXPECT_DOUBLE_EQ(row.get_double(0, 1), 0.1);
  EXPECT_TRUE(row.get_bool(0, 2));
  EXPECT_EQ(row.get_text(0, 3), "héllo ✓");
  EXPECT_EQ(row.get_bytes(0, 4), std::string("\0\x01\xff", 3));
  EXPECT_EQ(row.get_timestamp(0, 5), 1700000000123456);
  EXPECT_EQ(row.get_text(0, 5), "2023-11-14 22:13:20.123456+00");
  EXPECT_EQ(row.column_type(6), evcs::ColumnType::json);
  EXPECT_EQ(row.get_json(0, 6)["a"][1], 2);
  EXPECT_TRUE(row.is_null(0, 7));
}

// A result's typed columns: each column's values in its storage, NULLs as validity bytes, rows
// cut into batches where asked (the C++ side of the C ABI's evcs_result_batches).
TEST_F(SessionTest, ColumnBatchesTypeEveryColumnAndKeepNulls) {
  auto session = engine_->session();
  auto result = session.execute(
      "SELECT n AS i, CASE WHEN n = 2 THEN NULL ELSE n * 0.5 END::float8 AS d, n > 1 AS b, "
      "to_timestamp(n) - interval '1 microsecond' AS t, 'v' || n AS s, "
      "CASE WHEN n = 3 THEN NULL ELSE decode('000' || n, 'hex') END AS y, "
      "ARRAY[n, NULL] AS a FROM generate_series(1, 3) n");
  evcs::ColumnBatch all(result, 0, 100);
  ASSERT_EQ(all.rows(), 3);
  ASSERT_EQ(all.columns().size(), 7u);
  EXPECT_EQ(all.column(0).storage, evcs::ColumnStorage::integers);
  EXPECT_EQ(all.column(0).integers, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(all.column(1).storage, evcs::ColumnStorage::reals);
  EXPECT_EQ(all.column(1).reals, (std::vector<double>{0.5, 0.0, 1.5}));
  EXPECT_EQ(all.column(1).valid, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(all.column(2).integers, (std::vector<std::int64_t>{0, 1, 1}));
  EXPECT_EQ(all.column(3).integers, (std::vector<std::int64_t>{999999, 1999999, 2999999}));
  EXPECT_EQ(all.column(4).storage, evcs::ColumnStorage::variable);
  EXPECT_EQ(all.column(4).bytes, "v1v2v3");
  EXPECT_EQ(all.column(4).offsets, (std::vector<std::int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(all.column(5).bytes, std::string("\x00\x01\x00\x02", 4));
  EXPECT_EQ(all.column(5).offsets, (std::vector<std::int64_t>{0, 2, 4, 4}));
  EXPECT_EQ(all.column(5).valid, (std::vector<std::uint8_t>{1, 1, 0}));
  EXPECT_EQ(all.column(6).bytes, "[1,null][2,null][3,null]");
  EXPECT_THROW(all.column(7), evcs::InvalidArgument);
  EXPECT_EQ(evcs::ColumnBatch(result, 2, 5).column(4).bytes, "v3");
  EXPECT_EQ(evcs::ColumnBatch(result, 9, 5).rows(), 0);
  EXPECT_THROW(evcs::ColumnBatch(result, -1, 5), evcs::InvalidArgument);

  evcs::ColumnBatches batches(result, 2);
  evcs::ColumnBatch batch;
  std::vector<std::int64_t> sizes;
  while (batches.next(batch)) sizes.push_back(batch.rows());
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{2, 1}));
  EXPECT_THROW(evcs::ColumnBatches(result, 0), evcs::InvalidArgument);
}

TEST_F(SessionTest, ResultTypesAndShape) {
  auto session = engine_->session();
  auto result = session.execute(
      "SELECT 1::int4 AS i, 2.5::numeric AS n, 'a5f1d3c2-0000-4000-8000-000000000001'::uuid AS u, "
      "'2024-02-29'::date AS d, ARRAY['x', 'y,z', NULL]::text[] AS a, '1969-12-31 23:59:59.5+00'::timestamptz AS t");
  ASSERT_EQ(result.rows(), 1);
  ASSERT_EQ(result.columns(), 6);
  EXPECT_EQ(result.column_name(1), "n");
  EXPECT_EQ(result.column_index("u"), 2);
  EXPECT_EQ(result.column_type(0), evcs::ColumnType::int64);
  EXPECT_EQ(result.column_type(1), evcs::ColumnType::numeric);
  EXPECT_EQ(result.column_type(2), evcs::ColumnType::uuid);
  EXPECT_EQ(result.column_type(3), evcs::ColumnType::date);
  EXPECT_EQ(result.column_type(4), evcs::ColumnType::text_array);
  EXPECT_EQ(result.get_text(0, 1), "2.5");
  EXPECT_EQ(result.get_json(0, 4), nlohmann::json::parse(R"(["x", "y,z", null])"));
  EXPECT_EQ(result.get_timestamp(0, 5), -500000);
  EXPECT_THROW(result.get_int64(0, 1), evcs::InvalidArgument);
  EXPECT_THROW(result.get_text(1, 0), evcs::InvalidArgument);
  EXPECT_THROW(result.column_index("missing"), evcs::InvalidArgument);
  auto inserted = session.execute("INSERT INTO item VALUES (1, 'a'), (2, 'b')");
  EXPECT_EQ(inserted.rows_affected(), 2);
  EXPECT_EQ(inserted.command_tag(), "INSERT 0 2");
}

TEST_F(SessionTest, InvalidUtf8IsRefusedBeforeReachingTheServer) {
  auto session = engine_->session();
  EXPECT_THROW(session.execute("SELECT $1", evcs::Params().add(std::string("\xc3\x28"))),
               evcs::InvalidArgument);
  EXPECT_THROW(session.execute(std::string("SELECT '\xff'")), evcs::InvalidArgument);
  EXPECT_THROW(evcs::Params().add_json("{not json"), evcs::InvalidArgument);
  EXPECT_FALSE(session.in_transaction());
}

TEST_F(SessionTest, InjectionInParametersIsJustData) {
  auto session = engine_->session();
  std::string hostile = "x'); DROP TABLE item; --";
  session.execute("INSERT INTO item VALUES ($1, $2)", evcs::Params::of(1, hostile));
  session.commit();
  EXPECT_EQ(session.scalar<std::string>("SELECT name FROM item WHERE id = 1").value(), hostile);
}

TEST_F(SessionTest, StatementCacheEvictionKeepsWorking) {
  evcs::EngineOptions options;
  options.url = *url_;
  options.statement_cache_size = 2;
  evcs::Engine small_cache(options);
  auto session = small_cache.session();
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(session.scalar<std::int64_t>("SELECT $1::int8 + " + std::to_string(i),
                                             evcs::Params::of(10)).value(), 10 + i);
  auto prepared = session.scalar<std::int64_t>(
      "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'evcs_s%'");
  EXPECT_LE(prepared.value(), 2);
}

TEST_F(SessionTest, RunInTransactionRetriesSerializationFailures) {
  int attempts = 0;
  auto session = engine_->session();
  session.run_in_transaction(
      [&](evcs::Session &s) {
        ++attempts;
        s.execute("INSERT INTO item VALUES ($1, 'x')", evcs::Params::of(attempts));
        if (attempts < 3) throw evcs::SerializationFailure("forced");
      },
      3);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(count_items(), 1);
  EXPECT_EQ(session.scalar<std::int64_t>("SELECT id FROM item").value(), 3);
}

TEST_F(SessionTest, RunInTransactionDoesNotRetryOtherErrors) {
  int attempts = 0;
  auto session = engine_->session();
  EXPECT_THROW(session.run_in_transaction(
                   [&](evcs::Session &s) {
                     ++attempts;
                     s.execute("INSERT INTO item VALUES (1, 'x'), (1, 'y')");
                   },
                   5),
               evcs::IntegrityError);
  EXPECT_EQ(attempts, 1);
  evcs::ConnectionLost in_doubt("lost during commit", "08007", true);
  EXPECT_FALSE(in_doubt.retryable());
  EXPECT_TRUE(evcs::ConnectionLost("lost", "08006", false).retryable());
}

TEST_F(SessionTest, RunInTransactionRetriesARealSerializationConflict) {
  {
    auto setup = engine_->session();
    setup.execute("INSERT INTO item VALUES (1, '0')");
    setup.commit();
  }
  int attempts = 0;
  auto session = engine_->session();
  session.run_in_transaction(
      [&](evcs::Session &s) {
        ++attempts;
        s.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        auto value = s.scalar<std::string>("SELECT name FROM item WHERE id = 1").value();
        if (attempts == 1) {
          auto other = engine_->session();
          other.execute("UPDATE item SET name = 'other' WHERE id = 1");
          other.commit();
        }
        s.execute("UPDATE item SET name = $1 WHERE id = 1", evcs::Params::of(value + "+1"));
      },
      3);
  EXPECT_EQ(attempts, 2);
  auto check = engine_->session();
  EXPECT_EQ(check.scalar<std::string>("SELECT name FROM item WHERE id = 1").value(), "other+1");
}

TEST_F(SessionTest, ConcurrentUseFromTwoThreadsIsMisuse) {
  auto session = engine_->session();
  session.execute("SELECT 1");
  std::thread sleeper([&] { session.execute("SELECT pg_sleep(1), 'misuse probe'"); });
  // Proceed once the other thread's statement is running on the server (a new transaction per
  // look: pg_stat_activity is a per-transaction snapshot).
  auto observer = engine_->session();
  auto running = [&] {
    auto count = observer.scalar<std::int64_t>(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%misuse probe%' AND pid <> "
        "pg_backend_pid()");
    observer.rollback();
    return count.value() > 0;
  };
  while (!running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_THROW(session.execute("SELECT 2"), evcs::MisuseError);
  sleeper.join();
  EXPECT_EQ(session.scalar<std::int64_t>("SELECT 3").value(), 3);
}

} // namespace

// The server's text of timestamps, in several time zones and eras, reads back as the instant the
// server itself computes; anything else is InvalidArgument.
TEST(ParseTimestamp, ReadsEveryFormTheServerWrites) {
  const std::string url = evcs_test::fresh_database("core_parse_timestamp");
  evcs::EngineOptions options;
  options.url = url;
  evcs::Engine engine(options);
  auto session = engine.session();
  for (const char *zone : {"UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam"}) {
    session.execute(std::string("SET TIME ZONE '") + zone + "'");
    auto result = session.execute(
        "SELECT t::text, (extract(epoch FROM t) * 1000000)::bigint FROM unnest(ARRAY["
        "'2023-11-14 22:13:20.123456+00', '1970-01-01 00:00:00+00', '1969-12-31 23:59:59.5+00', "
        "'2000-02-29 12:00:00.000001+00', '1900-01-01 00:00:00+00', '0044-03-15 12:00:00+00 BC', "
        "'9999-12-31 23:59:59.999999+00', '1800-06-01 00:00:00+00']::timestamptz[]) AS t");
    ASSERT_EQ(result.rows(), 8);
    for (std::int64_t row = 0; row < result.rows(); ++row)
      EXPECT_EQ(evcs::parse_timestamp(result.get_text(row, 0)), result.get_int64(row, 1))
          << zone << ": " << result.get_text(row, 0);
  }
  EXPECT_EQ(evcs::parse_timestamp("infinity"), INT64_MAX);
  EXPECT_EQ(evcs::parse_timestamp("-infinity"), INT64_MIN);
  for (const char *bad : {"", "2024", "2024-05-01", "2024-05-01T12:00:00+00", "noon"})
    EXPECT_THROW(evcs::parse_timestamp(bad), evcs::InvalidArgument) << bad;
}
