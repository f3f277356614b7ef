// The async API: futures and handlers complete on the I/O thread, many sessions in parallel.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>

namespace {

class AsyncTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_async")); }
  static void TearDownTestSuite() { delete url_; }
  evcs::EngineOptions options(std::size_t size, std::size_t overflow) {
    evcs::EngineOptions options;
    options.url = *url_;
    options.pool_size = size;
    options.max_overflow = overflow;
    options.pool_timeout = 5;
    return options;
  }
  static std::string *url_;
};

std::string *AsyncTest::url_ = nullptr;

TEST_F(AsyncTest, ExecuteCommitAndRollback) {
  evcs::Engine engine(options(2, 0));
  {
    auto session = engine.session();
    session.execute_async("CREATE TABLE t (v int)").get();
    session.execute_async("INSERT INTO t VALUES ($1)", evcs::Params::of(5)).get();
    session.commit_async().get();
    session.execute_async("INSERT INTO t VALUES (6)").get();
    session.rollback_async().get();
  }
  auto session = engine.session();
  auto result = session.execute_async("SELECT array_agg(v)::text FROM t").get();
  EXPECT_EQ(result.get_text(0, 0), "{5}");
}

TEST_F(AsyncTest, ErrorsArriveThroughTheFuture) {
  evcs::Engine engine(options(1, 0));
  auto session = engine.session();
  auto failing = session.execute_async("SELECT 1/0");
  EXPECT_THROW(failing.get(), evcs::InvalidArgument);
  session.rollback_async().get();
  EXPECT_EQ(session.execute_async("SELECT 2").get().get_int64(0, 0), 2);
}

// One task: a query and its commit, chained through completion handlers.
std::future<std::int64_t> query_then_commit(evcs::Session &session) {
  auto promise = std::make_shared<std::promise<std::int64_t>>();
  auto future = promise->get_future();
  session.async_execute(
      "SELECT pg_backend_pid(), pg_sleep(0.05)", {},
      [&session, promise](std::exception_ptr error, evcs::Result result) {
        if (error) return promise->set_exception(error);
        std::int64_t pid = result.get_int64(0, 0);
        session.async_commit("", [promise, pid](std::exception_ptr commit_error) {
          if (commit_error) promise->set_exception(commit_error);
          else promise->set_value(pid);
        });
      });
  return future;
}

TEST_F(AsyncTest, ConcurrentSessionsShareThePoolUpToItsLimit) {
  evcs::Engine engine(options(3, 1));
  std::vector<evcs::Session> sessions;
  for (int i = 0; i < 12; ++i) sessions.push_back(engine.session());
  std::vector<std::future<std::int64_t>> futures;
  for (auto &session : sessions) futures.push_back(query_then_commit(session));
  std::set<std::int64_t> backends;
  for (auto &future : futures) backends.insert(future.get());
  EXPECT_EQ(backends.size(), 4u) << "pool_size + max_overflow connections serve the queue";
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
  EXPECT_EQ(engine.pool_status().size, 3u);
}

TEST_F(AsyncTest, AnotherCallWhileAsyncIsPendingIsMisuse) {
  evcs::Engine engine(options(1, 0));
  auto session = engine.session();
  auto pending = session.execute_async("SELECT pg_sleep(0.3)");
  EXPECT_THROW(session.execute("SELECT 1"), evcs::MisuseError);
  EXPECT_THROW(session.execute_async("SELECT 1"), evcs::MisuseError);
  pending.get();
  EXPECT_EQ(session.execute("SELECT 1").get_int64(0, 0), 1);
}

// The getters read what the I/O thread may be changing meanwhile (the connection it checks out,
// the transaction it begins): they answer the state before or after, never a torn one.
TEST_F(AsyncTest, GettersAnswerWhileAnAsyncCallRuns) {
  evcs::Engine engine(options(1, 0));
  auto session = engine.session("main", "ann");
  EXPECT_EQ(session.backend_pid(), 0) << "no connection yet";
  EXPECT_FALSE(session.in_transaction());
  auto pending = session.execute_async("SELECT pg_backend_pid(), pg_sleep(0.2)");
  std::set<int> pids;
  std::set<bool> open;
  while (pending.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    pids.insert(session.backend_pid());
    open.insert(session.in_transaction());
    EXPECT_EQ(session.branch(), "main");
    EXPECT_EQ(session.author(), "ann");
  }
  const int pid = static_cast<int>(pending.get().get_int64(0, 0));
  EXPECT_EQ(session.backend_pid(), pid);
  EXPECT_TRUE(session.in_transaction());
  pids.erase(0);
  EXPECT_TRUE(pids.empty() || pids == std::set<int>{pid});
  session.rollback();
  EXPECT_EQ(session.backend_pid(), 0) << "the connection went back to the pool";
  EXPECT_FALSE(session.in_transaction());
}

TEST_F(AsyncTest, AsyncPoolTimeout) {
  evcs::Engine engine(options(1, 0));
  evcs::EngineOptions quick = options(1, 0);
  quick.pool_timeout = 0.2;
  evcs::Engine small(quick);
  auto holder = small.session();
  holder.execute("SELECT 1");
  auto waiter = small.session();
  EXPECT_THROW(waiter.execute_async("SELECT 1").get(), evcs::PoolTimeout);
  holder.commit();
  EXPECT_EQ(waiter.execute_async("SELECT 5").get().get_int64(0, 0), 5);
}

TEST_F(AsyncTest, NestedTransactionsAsync) {
  evcs::Engine engine(options(1, 0));
  auto session = engine.session();
  session.execute("CREATE TEMP TABLE n (v int)");
  auto savepoint = session.begin_nested();
  session.execute_async("INSERT INTO n VALUES (1)").get();
  std::promise<void> done;
  savepoint.async_rollback([&](std::exception_ptr error) {
    if (error) done.set_exception(error);
    else done.set_value();
  });
  done.get_future().get();
  EXPECT_EQ(session.execute_async("SELECT count(*) FROM n").get().get_int64(0, 0), 0);
}

TEST_F(AsyncTest, DestroyingASessionWithAPendingOperationIsSafe) {
  evcs::Engine engine(options(1, 0));
  std::future<evcs::Result> pending;
  {
    auto session = engine.session();
    pending = session.execute_async("SELECT pg_sleep(0.1), 9");
  }
  EXPECT_EQ(pending.get().get_int64(0, 1), 9);
  auto next = engine.session();
  EXPECT_EQ(next.execute_async("SELECT 1").get().get_int64(0, 0), 1);
}

TEST_F(AsyncTest, EngineExecuteRunsEachStatementInItsOwnTransaction) {
  evcs::Engine engine(options(2, 0));
  engine.execute("CREATE TABLE autocommitted (v int)");
  engine.execute("INSERT INTO autocommitted VALUES ($1)", evcs::Params::of(7));
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
  // Visible at once to everyone: nothing waits for a COMMIT.
  auto reader = engine.session();
  EXPECT_EQ(reader.scalar<std::int64_t>("SELECT sum(v) FROM autocommitted"), 7);
  reader.rollback();
  EXPECT_EQ(engine.scalar<std::string>("SELECT current_setting('transaction_isolation')"),
            "read committed");
  // No transaction block is left open: a txid taken in one call is finished in the next.
  auto first = engine.scalar<std::int64_t>("SELECT txid_current()");
  EXPECT_EQ(engine.scalar<std::string>("SELECT txid_status($1)", evcs::Params::of(*first)),
            "committed");
}

TEST_F(AsyncTest, EngineExecuteFailureLeavesTheConnectionReusable) {
  evcs::Engine engine(options(1, 0));
  EXPECT_THROW(engine.execute("SELECT 1/0"), evcs::InvalidArgument);
  EXPECT_THROW(engine.execute_async("SELECT 1/0").get(), evcs::InvalidArgument);
  EXPECT_EQ(engine.scalar<std::int64_t>("SELECT 3"), 3);
  EXPECT_EQ(engine.execute_async("SELECT 4").get().get_int64(0, 0), 4);
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
  EXPECT_EQ(engine.pool_status().size, 1u);
  EXPECT_THROW(engine.execute(std::string("SELECT '\xff'")), evcs::InvalidArgument);
}

TEST_F(AsyncTest, ConcurrentEngineExecutesShareThePool) {
  evcs::Engine engine(options(3, 1));
  std::vector<std::future<evcs::Result>> futures;
  for (int i = 0; i < 32; ++i)
    futures.push_back(engine.execute_async("SELECT pg_backend_pid(), $1::int * 2, pg_sleep(0.02)",
                                           evcs::Params::of(i)));
  std::set<std::int64_t> backends;
  for (int i = 0; i < 32; ++i) {
    evcs::Result result = futures[i].get();
    backends.insert(result.get_int64(0, 0));
    EXPECT_EQ(result.get_int64(0, 1), 2 * i);
  }
  EXPECT_EQ(backends.size(), 4u) << "pool_size + max_overflow connections serve the queue";
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
}

TEST_F(AsyncTest, EngineExecuteAsyncWaitsForTheCheckoutWithoutBlocking) {
  evcs::EngineOptions quick = options(1, 0);
  quick.pool_timeout = 0.2;
  evcs::Engine engine(quick);
  auto holder = engine.session();
  holder.execute("SELECT 1");
  EXPECT_THROW(engine.execute_async("SELECT 1").get(), evcs::PoolTimeout);
  std::promise<std::int64_t> answered;
  engine.async_execute("SELECT 8", {}, [&](std::exception_ptr error, evcs::Result result) {
    if (error) answered.set_exception(error);
    else answered.set_value(result.get_int64(0, 0));
  });
  holder.commit();
  EXPECT_EQ(answered.get_future().get(), 8);
}

} // namespace
