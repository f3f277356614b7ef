// The C ABI: statuses and last errors for every error class, NULL handles, bad input, async
// callbacks and futures. Runs under ASan/UBSan in the sanitizer build.
#include "evcs/evcs.h"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

std::string last_message() { return evcs_error_last_message(); }

// A tiny RAII tester in DuckDB's style: owns an engine and a session on a fresh database.
class CapiTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("capi")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    ASSERT_EQ(evcs_options_new(&options_), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options_, "url", url_->c_str()), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options_, "pool_size", "2"), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options_, "max_overflow", "0"), EVCS_OK);
    ASSERT_EQ(evcs_options_set(options_, "pool_timeout", "0.3"), EVCS_OK);
    ASSERT_EQ(evcs_engine_open(&engine_, options_), EVCS_OK) << last_message();
    ASSERT_EQ(evcs_session_open(&session_, engine_, nullptr, "tester"), EVCS_OK);
  }
  void TearDown() override {
    evcs_session_free(session_);
    evcs_engine_free(engine_);
    evcs_options_free(options_);
  }

  int run(const char *sql, evcs_params *params = nullptr) {
    evcs_result *result = nullptr;
    int status = evcs_session_execute(&result, session_, sql, params);
    evcs_result_free(result);
    return status;
  }

  int64_t scalar_int(const char *sql) {
    evcs_result *result = nullptr;
    EXPECT_EQ(evcs_session_execute(&result, session_, sql, nullptr), EVCS_OK) << last_message();
    int64_t value = -1;
    EXPECT_EQ(evcs_result_get_int64(&value, result, 0, 0), EVCS_OK) << last_message();
    evcs_result_free(result);
    return value;
  }

  static std::string *url_;
  evcs_options *options_ = nullptr;
  evcs_engine *engine_ = nullptr;
  evcs_session *session_ = nullptr;
};

std::string *CapiTest::url_ = nullptr;

TEST(CapiLibrary, VersionAndCodeNames) {
  EXPECT_STREQ(evcs_version(), EVCS_VERSION_STRING);
  EXPECT_STREQ(evcs_error_code_name(EVCS_ENOTFOUND), "not_found");
  EXPECT_STREQ(evcs_error_code_name(EVCS_ETIMEOUT), "pool_timeout");
  EXPECT_STREQ(evcs_error_code_name(EVCS_EMERGECONFLICT), "merge_conflict");
  EXPECT_STREQ(evcs_error_code_name(EVCS_ITEROVER), "iteration_over");
  EXPECT_STREQ(evcs_error_code_name(12345), "unknown");
  const char *key = nullptr;
  EXPECT_EQ(evcs_options_known_key(&key, 0), EVCS_OK);
  EXPECT_STREQ(key, "url");
  EXPECT_EQ(evcs_options_known_key(&key, 1000), EVCS_ITEROVER);
}

TEST(CapiLibrary, NullHandlesAreMisuseNeverACrash) {
  evcs_result *result = nullptr;
  evcs_session *session = nullptr;
  evcs_transaction *transaction = nullptr;
  int64_t number = 0;
  int flag = 0;
  const char *text = nullptr;
  EXPECT_EQ(evcs_session_execute(&result, nullptr, "SELECT 1", nullptr), EVCS_EMISUSE);
  EXPECT_NE(last_message().find("session is NULL"), std::string::npos);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "");
  EXPECT_EQ(evcs_session_execute(nullptr, nullptr, "SELECT 1", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_open(&session, nullptr, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(evcs_session_commit(nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_rollback(nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_begin(&transaction, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_transaction_commit(nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_result_row_count(&number, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_result_is_null(&flag, nullptr, 0, 0), EVCS_EMISUSE);
  EXPECT_EQ(evcs_engine_url(&text, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_params_add_int64(nullptr, 1), EVCS_EMISUSE);
  EXPECT_EQ(evcs_options_set(nullptr, "url", "x"), EVCS_EMISUSE);
  EXPECT_EQ(evcs_future_ready(&flag, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_session_execute_async(nullptr, "SELECT 1", nullptr, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_engine_execute(&result, nullptr, "SELECT 1", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_engine_execute(nullptr, nullptr, "SELECT 1", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_engine_execute_async(nullptr, "SELECT 1", nullptr, nullptr, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_engine_execute_future(nullptr, nullptr, "SELECT 1", nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_embedded_url(&text, nullptr), EVCS_EMISUSE);
  evcs_session_free(nullptr);
  evcs_engine_free(nullptr);
  evcs_result_free(nullptr);
  evcs_params_free(nullptr);
  evcs_options_free(nullptr);
  evcs_transaction_free(nullptr);
  evcs_future_free(nullptr);
  evcs_embedded_free(nullptr);
  evcs_free(nullptr);
}

TEST(CapiLibrary, BadOptionsAndUrls) {
  evcs_options *options = nullptr;
  ASSERT_EQ(evcs_options_new(&options), EVCS_OK);
  EXPECT_EQ(evcs_options_set(options, "pool_sise", "3"), EVCS_EINVALID);
  EXPECT_NE(last_message().find("pool_sise"), std::string::npos);
  EXPECT_EQ(evcs_options_set(options, "pool_size", "-3"), EVCS_EINVALID);
  EXPECT_EQ(evcs_options_set(options, "url", "\xff\xfe"), EVCS_EINVALID);
  EXPECT_EQ(evcs_options_set(options, "persist", "perhaps"), EVCS_EINVALID);
  const char *value = nullptr;
  EXPECT_EQ(evcs_options_get(&value, options, "pool_size"), EVCS_OK);
  EXPECT_EQ(value, nullptr);
  ASSERT_EQ(evcs_options_set(options, "url", "postgresql://host:notaport:/x?sslmode"), EVCS_OK);
  evcs_engine *engine = nullptr;
  EXPECT_EQ(evcs_engine_open(&engine, options), EVCS_EINVALID);
  EXPECT_NE(last_message().find("malformed database URL"), std::string::npos);
  EXPECT_EQ(engine, nullptr);

  ASSERT_EQ(evcs_options_set(options, "url", "postgresql:///x?host=/nonexistent-evcs-dir"), EVCS_OK);
  ASSERT_EQ(evcs_engine_open(&engine, options), EVCS_OK);
  evcs_session *session = nullptr;
  ASSERT_EQ(evcs_session_open(&session, engine, nullptr, nullptr), EVCS_OK);
  evcs_result *result = nullptr;
  EXPECT_EQ(evcs_session_execute(&result, session, "SELECT 1", nullptr), EVCS_ECONNLOST);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "08001");
  EXPECT_EQ(evcs_error_last_retryable(), 1);
  evcs_engine_free(engine);
  evcs_session_free(session);
  evcs_options_free(options);
}

struct ForcedError {
  const char *sql;
  int status;
  const char *sqlstate;
};

class CapiErrorClasses : public CapiTest, public ::testing::WithParamInterface<ForcedError> {};

TEST_P(CapiErrorClasses, EachClassCrossesAsItsCodeAndSqlstate) {
  ASSERT_EQ(run("CREATE TEMP TABLE u (id int PRIMARY KEY)"), EVCS_OK);
  ASSERT_EQ(run("CREATE FUNCTION pg_temp.raise_state(state text) RETURNS void LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'forced %', state USING ERRCODE = state; END $$"),
            EVCS_OK);
  const ForcedError &forced = GetParam();
  EXPECT_EQ(run(forced.sql), forced.status) << last_message();
  EXPECT_EQ(evcs_error_last_code(), forced.status);
  EXPECT_STREQ(evcs_error_last_sqlstate(), forced.sqlstate);
  EXPECT_FALSE(last_message().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Forced, CapiErrorClasses,
    ::testing::Values(ForcedError{"INSERT INTO u VALUES (1), (1)", EVCS_EINTEGRITY, "23505"},
                      ForcedError{"SELEC", EVCS_EINVALID, "42601"},
                      ForcedError{"SELECT pg_temp.raise_state('40001')", EVCS_ESERIALIZATION, "40001"},
                      ForcedError{"SELECT pg_temp.raise_state('40P01')", EVCS_ESERIALIZATION, "40P01"},
                      ForcedError{"SELECT pg_temp.raise_state('EVL01')", EVCS_ELOCKED, "EVL01"},
                      ForcedError{"SELECT pg_temp.raise_state('EVN01')", EVCS_ENOTFOUND, "EVN01"},
                      ForcedError{"SELECT pg_temp.raise_state('EVC01')", EVCS_ECONCURRENT, "EVC01"},
                      ForcedError{"SELECT pg_temp.raise_state('XX000')", EVCS_ERROR, "XX000"},
                      ForcedError{"SELECT pg_temp.raise_state('57P01')", EVCS_ECONNLOST, "08006"}),
    [](const ::testing::TestParamInfo<ForcedError> &info) {
      return std::string("sqlstate_") + info.param.sqlstate + "_" + std::to_string(info.index);
    });

TEST_F(CapiTest, PoolTimeoutAndMisuseCodes) {
  evcs_session *second = nullptr;
  evcs_session *third = nullptr;
  ASSERT_EQ(evcs_session_open(&second, engine_, nullptr, nullptr), EVCS_OK);
  ASSERT_EQ(evcs_session_open(&third, engine_, nullptr, nullptr), EVCS_OK);
  evcs_result *result = nullptr;
  ASSERT_EQ(run("SELECT 1"), EVCS_OK);
  ASSERT_EQ(evcs_session_execute(&result, second, "SELECT 1", nullptr), EVCS_OK);
  evcs_result_free(result);
  EXPECT_EQ(evcs_session_execute(&result, third, "SELECT 1", nullptr), EVCS_ETIMEOUT);
  EXPECT_NE(last_message().find("pool_size=2"), std::string::npos);
  EXPECT_EQ(result, nullptr);
  evcs_transaction *transaction = nullptr;
  EXPECT_EQ(evcs_session_begin(&transaction, session_), EVCS_EMISUSE);
  EXPECT_EQ(transaction, nullptr);
  evcs_session_free(second);
  evcs_session_free(third);
}

TEST_F(CapiTest, ParamsAndTypedResults) {
  evcs_params *params = nullptr;
  ASSERT_EQ(evcs_params_new(&params), EVCS_OK);
  ASSERT_EQ(evcs_params_add_int64(params, 42), EVCS_OK);
  ASSERT_EQ(evcs_params_add_double(params, 2.5), EVCS_OK);
  ASSERT_EQ(evcs_params_add_bool(params, 1), EVCS_OK);
  ASSERT_EQ(evcs_params_add_text(params, "tëxt", -1), EVCS_OK);
  ASSERT_EQ(evcs_params_add_bytes(params, "\0\1", 2), EVCS_OK);
  ASSERT_EQ(evcs_params_add_timestamp(params, 86400000000LL), EVCS_OK);
  ASSERT_EQ(evcs_params_add_json(params, "{\"k\": [true]}"), EVCS_OK);
  ASSERT_EQ(evcs_params_add_null(params), EVCS_OK);
  EXPECT_EQ(evcs_params_add_text(params, "\xc3", -1), EVCS_EINVALID);
  EXPECT_EQ(evcs_params_add_json(params, "{oops"), EVCS_EINVALID);
  size_t count = 0;
  ASSERT_EQ(evcs_params_count(&count, params), EVCS_OK);
  EXPECT_EQ(count, 8u);
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(&result, session_,
                                 "SELECT $1::int8 AS i, $2::float8 AS d, $3::bool AS b, $4::text AS t, "
                                 "$5::bytea AS y, $6::timestamptz AS ts, $7::jsonb AS j, $8::int AS n",
                                 params),
            EVCS_OK)
      << last_message();
  int64_t i = 0, ts = 0;
  double d = 0;
  int b = 0, type = -1, null = 0;
  const char *text = nullptr;
  size_t length = 0;
  void *bytes = nullptr;
  EXPECT_EQ(evcs_result_get_int64(&i, result, 0, 0), EVCS_OK);
  EXPECT_EQ(i, 42);
  EXPECT_EQ(evcs_result_get_double(&d, result, 0, 1), EVCS_OK);
  EXPECT_EQ(d, 2.5);
  EXPECT_EQ(evcs_result_get_bool(&b, result, 0, 2), EVCS_OK);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(evcs_result_get_text(&text, &length, result, 0, 3), EVCS_OK);
  EXPECT_EQ(std::string(text, length), "tëxt");
  EXPECT_EQ(evcs_result_get_bytes(&bytes, &length, result, 0, 4), EVCS_OK);
  EXPECT_EQ(std::string(static_cast<char *>(bytes), length), std::string("\0\1", 2));
  evcs_free(bytes);
  EXPECT_EQ(evcs_result_get_timestamp(&ts, result, 0, 5), EVCS_OK);
  EXPECT_EQ(ts, 86400000000LL);
  EXPECT_EQ(evcs_result_column_type(&type, result, 6), EVCS_OK);
  EXPECT_EQ(type, EVCS_TYPE_JSON);
  EXPECT_EQ(evcs_result_is_null(&null, result, 0, 7), EVCS_OK);
  EXPECT_EQ(null, 1);
  EXPECT_EQ(evcs_result_get_int64(&i, result, 0, 7), EVCS_EINVALID);
  EXPECT_EQ(evcs_result_get_int64(&i, result, 0, 3), EVCS_EINVALID);
  EXPECT_EQ(evcs_result_get_int64(&i, result, 5, 0), EVCS_EINVALID);
  EXPECT_EQ(evcs_result_column_name(&text, result, 99), EVCS_EINVALID);
  EXPECT_EQ(evcs_result_column_name(&text, result, 5), EVCS_OK);
  EXPECT_STREQ(text, "ts");
  char *json = nullptr;
  ASSERT_EQ(evcs_result_to_json(&json, result), EVCS_OK);
  EXPECT_EQ(std::string(json),
            R"([{"b":true,"d":2.5,"i":42,"j":{"k":[true]},"n":null,"t":"tëxt","ts":"1970-01-02 00:00:00+00","y":"\\x0001"}])");
  evcs_free(json);
  ASSERT_EQ(evcs_result_get_json(&json, result, 0, 6), EVCS_OK);
  EXPECT_STREQ(json, R"({"k":[true]})");
  evcs_free(json);
  ASSERT_EQ(evcs_result_get_json(&json, result, 0, 7), EVCS_OK);
  EXPECT_STREQ(json, "null");
  evcs_free(json);
  evcs_result_free(result);
  evcs_params_free(params);
}

// Typed batches carry what the per-cell getters return, column by column, NULLs as validity
// bytes, in batches that cut the rows where asked; a wrong accessor is EVCS_EINVALID.
TEST_F(CapiTest, TypedBatchesHoldWhatTheGettersReturn) {
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_session_execute(
                &result, session_,
                "SELECT n::int8 AS i, n / 4.0::float8 AS d, n % 2 = 0 AS b, "
                "CASE WHEN n % 3 = 0 THEN NULL ELSE 'tëxt ' || n END AS t, "
                "'\\x00ff'::bytea AS y, to_timestamp(n) AS ts, (n * 1.5)::numeric(8,2) AS num, "
                "jsonb_build_object('n', n) AS j, ARRAY['a', NULL] AS ta "
                "FROM generate_series(1, 5) n ORDER BY n",
                nullptr),
            EVCS_OK)
      << last_message();
  evcs_batches *batches = nullptr;
  ASSERT_EQ(evcs_result_batches(&batches, result, 2), EVCS_OK) << last_message();
  evcs_result_free(result); // the iterator keeps the rows
  std::vector<int64_t> sizes, integers, micros;
  std::vector<double> reals;
  std::vector<int> flags;
  std::vector<std::string> texts, raw, decimals, json, arrays;
  const evcs_batch *batch = nullptr;
  int status = EVCS_OK;
  while ((status = evcs_batches_next(&batch, batches)) == EVCS_OK) {
    int64_t rows = 0, columns = 0;
    ASSERT_EQ(evcs_batch_row_count(&rows, batch), EVCS_OK);
    ASSERT_EQ(evcs_batch_column_count(&columns, batch), EVCS_OK);
    ASSERT_EQ(columns, 9);
    sizes.push_back(rows);
    const int64_t *int64s = nullptr;
    const double *doubles = nullptr;
    const uint8_t *valid = nullptr;
    ASSERT_EQ(evcs_batch_column_int64s(&int64s, batch, 0), EVCS_OK);
    ASSERT_EQ(evcs_batch_column_doubles(&doubles, batch, 1), EVCS_OK);
    integers.insert(integers.end(), int64s, int64s + rows);
    reals.insert(reals.end(), doubles, doubles + rows);
    ASSERT_EQ(evcs_batch_column_int64s(&int64s, batch, 2), EVCS_OK);
    flags.insert(flags.end(), int64s, int64s + rows);
    ASSERT_EQ(evcs_batch_column_int64s(&int64s, batch, 5), EVCS_OK);
    micros.insert(micros.end(), int64s, int64s + rows);
    auto strings = [&](int64_t column, std::vector<std::string> &into) {
      const int64_t *offsets = nullptr;
      const char *data = nullptr;
      ASSERT_EQ(evcs_batch_column_bytes(&offsets, &data, batch, column), EVCS_OK);
      ASSERT_EQ(evcs_batch_column_validity(&valid, batch, column), EVCS_OK);
      for (int64_t row = 0; row < rows; ++row)
        into.push_back(valid[row] ? std::string(data + offsets[row],
                                                static_cast<size_t>(offsets[row + 1] - offsets[row]))
                                  : "<null>");
    };
    strings(3, texts);
    strings(4, raw);
    strings(6, decimals);
    strings(7, json);
    strings(8, arrays);
  }
  EXPECT_EQ(status, EVCS_ITEROVER);
  EXPECT_EQ(batch, nullptr);
  EXPECT_EQ(evcs_batches_next(&batch, batches), EVCS_ITEROVER) << "and stays over";
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(integers, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(reals, (std::vector<double>{0.25, 0.5, 0.75, 1.0, 1.25}));
  EXPECT_EQ(flags, (std::vector<int>{0, 1, 0, 1, 0}));
  EXPECT_EQ(micros, (std::vector<int64_t>{1000000, 2000000, 3000000, 4000000, 5000000}));
  EXPECT_EQ(texts, (std::vector<std::string>{"tëxt 1", "tëxt 2", "<null>", "tëxt 4", "tëxt 5"}));
  EXPECT_EQ(raw, std::vector<std::string>(5, std::string("\0\xff", 2)));
  EXPECT_EQ(decimals, (std::vector<std::string>{"1.50", "3.00", "4.50", "6.00", "7.50"}));
  EXPECT_EQ(json[2], R"({"n": 3})");
  EXPECT_EQ(arrays[0], R"(["a",null])");
  evcs_batches_free(batches);

  ASSERT_EQ(evcs_session_execute(&result, session_, "SELECT 1 AS one", nullptr), EVCS_OK);
  EXPECT_EQ(evcs_result_batches(&batches, result, 0), EVCS_EINVALID);
  EXPECT_EQ(batches, nullptr);
  ASSERT_EQ(evcs_result_batches(&batches, result, 100), EVCS_OK);
  ASSERT_EQ(evcs_batches_next(&batch, batches), EVCS_OK);
  const double *doubles = nullptr;
  const int64_t *offsets = nullptr;
  const char *data = nullptr, *name = nullptr;
  int type = -1;
  EXPECT_EQ(evcs_batch_column_doubles(&doubles, batch, 0), EVCS_EINVALID);
  EXPECT_NE(last_message().find("does not hold its values as doubles"), std::string::npos);
  EXPECT_EQ(evcs_batch_column_bytes(&offsets, &data, batch, 0), EVCS_EINVALID);
  EXPECT_EQ(evcs_batch_column_type(&type, batch, 1), EVCS_EINVALID);
  ASSERT_EQ(evcs_batch_column_name(&name, batch, 0), EVCS_OK);
  EXPECT_STREQ(name, "one");
  ASSERT_EQ(evcs_batch_column_type(&type, batch, 0), EVCS_OK);
  EXPECT_EQ(type, EVCS_TYPE_INT64);
  evcs_batches *unopened = nullptr;
  EXPECT_EQ(evcs_result_batches(&unopened, nullptr, 10), EVCS_EMISUSE);
  EXPECT_EQ(unopened, nullptr);
  EXPECT_EQ(evcs_batches_next(&batch, nullptr), EVCS_EMISUSE);
  EXPECT_EQ(evcs_batch_row_count(nullptr, batch), EVCS_EMISUSE);
  int64_t rows = 0;
  EXPECT_EQ(evcs_batch_row_count(&rows, nullptr), EVCS_EMISUSE);
  evcs_batches_free(batches);
  evcs_batches_free(nullptr);
  evcs_result_free(result);
}

TEST_F(CapiTest, TransactionsAndSavepoints) {
  ASSERT_EQ(run("CREATE TEMP TABLE s (v int PRIMARY KEY) ON COMMIT PRESERVE ROWS"), EVCS_OK);
  ASSERT_EQ(evcs_session_commit(session_, "create"), EVCS_OK);
  evcs_transaction *outer = nullptr, *nested = nullptr;
  ASSERT_EQ(evcs_session_begin(&outer, session_), EVCS_OK);
  ASSERT_EQ(run("INSERT INTO s VALUES (1)"), EVCS_OK);
  ASSERT_EQ(evcs_session_begin_nested(&nested, session_), EVCS_OK);
  EXPECT_EQ(run("INSERT INTO s VALUES (1)"), EVCS_EINTEGRITY);
  ASSERT_EQ(evcs_transaction_rollback(nested), EVCS_OK);
  int active = 1;
  ASSERT_EQ(evcs_transaction_is_active(&active, nested), EVCS_OK);
  EXPECT_EQ(active, 0);
  EXPECT_EQ(evcs_transaction_commit(nested), EVCS_EMISUSE);
  ASSERT_EQ(run("INSERT INTO s VALUES (2)"), EVCS_OK);
  ASSERT_EQ(evcs_transaction_commit(outer), EVCS_OK);
  EXPECT_EQ(scalar_int("SELECT sum(v) FROM s"), 3);
  evcs_transaction_free(nested);
  evcs_transaction_free(outer);
}

TEST_F(CapiTest, FreeingTheEngineBeforeItsSessionIsSafe) {
  evcs_engine_free(engine_);
  engine_ = nullptr;
  EXPECT_EQ(scalar_int("SELECT 11"), 11);
}

struct RetryState {
  int calls = 0;
};

int flaky_body(void *payload, evcs_session *session) {
  auto *state = static_cast<RetryState *>(payload);
  ++state->calls;
  evcs_result *result = nullptr;
  int status = evcs_session_execute(&result, session, "SELECT 1", nullptr);
  evcs_result_free(result);
  if (status != EVCS_OK) return status;
  if (state->calls < 3) return evcs_error_set(EVCS_ESERIALIZATION, "40001", "forced conflict");
  return EVCS_OK;
}

int failing_body(void *payload, evcs_session *) {
  ++static_cast<RetryState *>(payload)->calls;
  return evcs_error_set(EVCS_ECONNLOST, "08007", "lost during commit");
}

TEST_F(CapiTest, RunInTransactionRetriesThroughTheCallback) {
  RetryState flaky;
  EXPECT_EQ(evcs_session_run_in_transaction(session_, 3, flaky_body, &flaky), EVCS_OK);
  EXPECT_EQ(flaky.calls, 3);
  RetryState in_doubt;
  EXPECT_EQ(evcs_session_run_in_transaction(session_, 3, failing_body, &in_doubt), EVCS_ECONNLOST);
  EXPECT_EQ(in_doubt.calls, 1);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "08007");
  EXPECT_EQ(evcs_session_run_in_transaction(session_, 3, nullptr, nullptr), EVCS_EMISUSE);
}

struct Completion {
  std::mutex mutex;
  std::condition_variable signal;
  int pending = 0;
  std::vector<int> statuses;
  std::vector<int64_t> values;
  std::vector<std::string> sqlstates;
};

void on_result(void *payload, int status, evcs_result *result) {
  auto *completion = static_cast<Completion *>(payload);
  int64_t value = -1;
  if (result != nullptr) evcs_result_get_int64(&value, result, 0, 0);
  evcs_result_free(result);
  std::lock_guard<std::mutex> lock(completion->mutex);
  completion->statuses.push_back(status);
  completion->values.push_back(value);
  completion->sqlstates.push_back(evcs_error_last_sqlstate());
  --completion->pending;
  completion->signal.notify_all();
}

void wait_for(Completion &completion) {
  std::unique_lock<std::mutex> lock(completion.mutex);
  completion.signal.wait(lock, [&] { return completion.pending == 0; });
}

TEST_F(CapiTest, AsyncCallbacksCarryResultsAndErrors) {
  Completion completion;
  completion.pending = 1;
  ASSERT_EQ(evcs_session_execute_async(session_, "SELECT 40 + 2", nullptr, on_result, &completion),
            EVCS_OK);
  wait_for(completion);
  EXPECT_EQ(completion.statuses.at(0), EVCS_OK);
  EXPECT_EQ(completion.values.at(0), 42);
  completion.pending = 1;
  ASSERT_EQ(evcs_session_execute_async(session_, "SELECT 1/0", nullptr, on_result, &completion),
            EVCS_OK);
  wait_for(completion);
  EXPECT_EQ(completion.statuses.at(1), EVCS_EINVALID);
  EXPECT_EQ(completion.sqlstates.at(1), "22012");
  EXPECT_EQ(evcs_session_execute_async(session_, "SELECT 1", nullptr, nullptr, nullptr), EVCS_EMISUSE);
}

TEST_F(CapiTest, EngineExecuteAutocommitsInEachForm) {
  evcs_result *result = nullptr;
  ASSERT_EQ(evcs_engine_execute(&result, engine_, "CREATE TABLE engine_t (v int)", nullptr), EVCS_OK)
      << last_message();
  evcs_result_free(result);
  evcs_params *params = nullptr;
  ASSERT_EQ(evcs_params_new(&params), EVCS_OK);
  ASSERT_EQ(evcs_params_add_int64(params, 11), EVCS_OK);
  ASSERT_EQ(evcs_engine_execute(&result, engine_, "INSERT INTO engine_t VALUES ($1)", params), EVCS_OK);
  evcs_result_free(result);
  evcs_params_free(params);
  EXPECT_EQ(scalar_int("SELECT sum(v) FROM engine_t"), 11) << "committed without a COMMIT";
  ASSERT_EQ(evcs_session_rollback(session_), EVCS_OK);

  EXPECT_EQ(evcs_engine_execute(&result, engine_, "SELECT 1/0", nullptr), EVCS_EINVALID);
  EXPECT_EQ(result, nullptr);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "22012");

  Completion completion;
  completion.pending = 2;
  ASSERT_EQ(evcs_engine_execute_async(engine_, "SELECT sum(v) * 2 FROM engine_t", nullptr, on_result,
                                      &completion), EVCS_OK);
  ASSERT_EQ(evcs_engine_execute_async(engine_, "SELEC", nullptr, on_result, &completion), EVCS_OK);
  wait_for(completion);
  std::multiset<int> statuses(completion.statuses.begin(), completion.statuses.end());
  EXPECT_EQ(statuses, (std::multiset<int>{EVCS_OK, EVCS_EINVALID}));
  std::multiset<int64_t> values(completion.values.begin(), completion.values.end());
  EXPECT_EQ(values, (std::multiset<int64_t>{-1, 22}));
  EXPECT_EQ(evcs_engine_execute_async(engine_, "SELECT 1", nullptr, nullptr, nullptr), EVCS_EMISUSE);

  evcs_future *future = nullptr;
  ASSERT_EQ(evcs_engine_execute_future(&future, engine_, "SELECT 5", nullptr), EVCS_OK);
  ASSERT_EQ(evcs_future_wait(&result, future, -1), EVCS_OK) << last_message();
  int64_t value = 0;
  EXPECT_EQ(evcs_result_get_int64(&value, result, 0, 0), EVCS_OK);
  EXPECT_EQ(value, 5);
  evcs_result_free(result);
  evcs_future_free(future);
  int64_t size = 0, checked_out = -1, overflow = 0;
  ASSERT_EQ(evcs_engine_pool_status(&size, &checked_out, &overflow, engine_), EVCS_OK);
  EXPECT_EQ(checked_out, 0);
}

TEST_F(CapiTest, FuturesWaitAndTimeOut) {
  evcs_future *future = nullptr;
  ASSERT_EQ(evcs_session_execute_future(&future, session_, "SELECT pg_sleep(0.2)::text, 5", nullptr),
            EVCS_OK);
  evcs_result *result = nullptr;
  EXPECT_EQ(run("SELECT 1"), EVCS_EMISUSE) << "the session is busy until the future completes";
  EXPECT_EQ(evcs_future_wait(&result, future, 0.0), EVCS_PENDING);
  EXPECT_STREQ(evcs_error_code_name(EVCS_PENDING), "pending");
  ASSERT_EQ(evcs_future_wait(&result, future, -1), EVCS_OK) << last_message();
  int ready = 0;
  EXPECT_EQ(evcs_future_ready(&ready, future), EVCS_OK);
  EXPECT_EQ(ready, 1);
  int64_t value = 0;
  EXPECT_EQ(evcs_result_get_int64(&value, result, 0, 1), EVCS_OK);
  EXPECT_EQ(value, 5);
  evcs_result_free(result);
  EXPECT_EQ(evcs_future_wait(&result, future, -1), EVCS_EMISUSE);
  evcs_future_free(future);

  ASSERT_EQ(evcs_session_execute_future(&future, session_, "SELEC", nullptr), EVCS_OK);
  EXPECT_EQ(evcs_future_wait(&result, future, -1), EVCS_EINVALID);
  EXPECT_STREQ(evcs_error_last_sqlstate(), "42601");
  evcs_future_free(future);
}

TEST_F(CapiTest, CommitAndRollbackFutures) {
  ASSERT_EQ(run("CREATE TABLE future_t (v int)"), EVCS_OK);
  evcs_future *future = nullptr;
  ASSERT_EQ(evcs_session_commit_future(&future, session_, "create"), EVCS_OK);
  EXPECT_EQ(evcs_future_wait(nullptr, future, -1), EVCS_OK) << last_message();
  evcs_future_free(future);
  ASSERT_EQ(run("INSERT INTO future_t VALUES (1)"), EVCS_OK);
  ASSERT_EQ(evcs_session_rollback_future(&future, session_), EVCS_OK);
  evcs_result *result = reinterpret_cast<evcs_result *>(&future);
  EXPECT_EQ(evcs_future_wait(&result, future, -1), EVCS_OK);
  EXPECT_EQ(result, nullptr);
  evcs_future_free(future);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM future_t"), 0);
}

struct StatusCompletion {
  std::mutex mutex;
  std::condition_variable signal;
  bool done = false;
  int status = 1;
};

void on_status(void *payload, int status) {
  auto *completion = static_cast<StatusCompletion *>(payload);
  std::lock_guard<std::mutex> lock(completion->mutex);
  completion->status = status;
  completion->done = true;
  completion->signal.notify_all();
}

TEST_F(CapiTest, AsyncCommitAndRollback) {
  ASSERT_EQ(run("CREATE TABLE async_t (v int)"), EVCS_OK);
  StatusCompletion commit;
  ASSERT_EQ(evcs_session_commit_async(session_, "msg", on_status, &commit), EVCS_OK);
  {
    std::unique_lock<std::mutex> lock(commit.mutex);
    commit.signal.wait(lock, [&] { return commit.done; });
  }
  EXPECT_EQ(commit.status, EVCS_OK);
  ASSERT_EQ(run("INSERT INTO async_t VALUES (1)"), EVCS_OK);
  StatusCompletion rollback;
  ASSERT_EQ(evcs_session_rollback_async(session_, on_status, &rollback), EVCS_OK);
  {
    std::unique_lock<std::mutex> lock(rollback.mutex);
    rollback.signal.wait(lock, [&] { return rollback.done; });
  }
  EXPECT_EQ(rollback.status, EVCS_OK);
  EXPECT_EQ(scalar_int("SELECT count(*) FROM async_t"), 0);
}

} // namespace
