// The pool's contract: limits and PoolTimeout, pre-ping after backends die, no leaks, recycle.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace {

class PoolTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_pool")); }
  static void TearDownTestSuite() { delete url_; }

  evcs::EngineOptions options(std::size_t size, std::size_t overflow, double timeout) {
    evcs::EngineOptions options;
    options.url = *url_;
    options.pool_size = size;
    options.max_overflow = overflow;
    options.pool_timeout = timeout;
    options.application_name = "evcs_pool_test";
    return options;
  }

  std::int64_t server_connections(evcs::Engine &observer) {
    auto session = observer.session();
    return session.scalar<std::int64_t>(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'evcs_pool_test' "
               "AND datname = current_database()")
        .value();
  }

  // Waits until no backend of `application_name` is left (terminated backends exit
  // asynchronously); a new transaction per look, as pg_stat_activity is a snapshot.
  void wait_for_backends_to_exit(evcs::Engine &observer, const std::string &application_name) {
    for (;;) {
      auto session = observer.session();
      auto left = session.scalar<std::int64_t>(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
          evcs::Params::of(application_name));
      if (left.value() == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static std::string *url_;
};

std::string *PoolTest::url_ = nullptr;

TEST_F(PoolTest, AFourthCheckoutTimesOutNamingTheLimits) {
  evcs::Engine engine(options(2, 1, 0.3));
  std::vector<evcs::Session> sessions;
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(engine.session());
    sessions.back().execute("SELECT 1");
  }
  EXPECT_EQ(engine.pool_status().checked_out, 3u);
  EXPECT_EQ(engine.pool_status().overflow, 1u);
  auto fourth = engine.session();
  try {
    fourth.execute("SELECT 1");
    FAIL() << "the fourth checkout must time out";
  } catch (const evcs::PoolTimeout &error) {
    std::string message = error.what();
    EXPECT_NE(message.find("pool_size=2"), std::string::npos) << message;
    EXPECT_NE(message.find("max_overflow=1"), std::string::npos) << message;
    EXPECT_NE(message.find("pool_timeout=0.3"), std::string::npos) << message;
    EXPECT_NE(message.find("not closed"), std::string::npos) << message;
    EXPECT_EQ(error.code(), evcs::ErrorCode::pool_timeout);
  }
  sessions.pop_back();
  EXPECT_EQ(fourth.scalar<std::int64_t>("SELECT 4").value(), 4);
  fourth.commit();
  EXPECT_EQ(engine.pool_status().overflow, 0u) << "the overflow connection is closed on return";
}

TEST_F(PoolTest, AWaiterIsServedWhenASessionCloses) {
  evcs::Engine engine(options(1, 0, 5.0));
  auto holder = engine.session();
  holder.execute("SELECT 1");
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    holder.commit();
  });
  auto waiter = engine.session();
  EXPECT_EQ(waiter.scalar<std::int64_t>("SELECT 7").value(), 7);
  closer.join();
}

TEST_F(PoolTest, PrePingReplacesTerminatedBackends) {
  evcs::Engine engine(options(3, 0, 5.0));
  {
    std::vector<evcs::Session> sessions;
    for (int i = 0; i < 3; ++i) {
      sessions.push_back(engine.session());
      sessions.back().execute("SELECT 1");
    }
  }
  EXPECT_EQ(engine.pool_status().size, 3u);
  evcs::EngineOptions admin_options = options(1, 0, 5.0);
  admin_options.application_name = "evcs_pool_admin";
  evcs::Engine admin(admin_options);
  {
    auto session = admin.session();
    auto killed = session.scalar<std::int64_t>(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'evcs_pool_test'");
    EXPECT_EQ(killed.value(), 3);
  }
  wait_for_backends_to_exit(admin, "evcs_pool_test");
  for (int i = 0; i < 3; ++i) {
    auto session = engine.session();
    EXPECT_EQ(session.scalar<std::int64_t>("SELECT 42").value(), 42);
  }
}

TEST_F(PoolTest, ABackendKilledMidTransactionIsConnectionLost) {
  evcs::Engine engine(options(2, 0, 5.0));
  evcs::EngineOptions admin_options = options(1, 0, 5.0);
  admin_options.application_name = "evcs_pool_admin";
  evcs::Engine admin(admin_options);
  auto session = engine.session();
  session.execute("SELECT 1");
  int pid = session.backend_pid();
  {
    auto killer = admin.session();
    killer.execute("SELECT pg_terminate_backend($1)", evcs::Params::of(pid));
  }
  wait_for_backends_to_exit(admin, "evcs_pool_test");
  try {
    session.execute("SELECT 2");
    FAIL() << "a dead connection mid-transaction must surface";
  } catch (const evcs::ConnectionLost &error) {
    EXPECT_TRUE(error.retryable());
    EXPECT_FALSE(error.sqlstate().empty());
  }
  EXPECT_FALSE(session.in_transaction());
  EXPECT_EQ(session.scalar<std::int64_t>("SELECT 3").value(), 3);
}

TEST_F(PoolTest, TenThousandSessionsLeakNoConnection) {
  evcs::Engine engine(options(3, 2, 5.0));
  evcs::EngineOptions observer_options;
  observer_options.url = *url_;
  evcs::Engine observer(observer_options);
  for (int i = 0; i < 10000; ++i) {
    auto session = engine.session();
    session.execute("SELECT $1::int8", evcs::Params::of(i));
    if (i % 2 == 0) session.commit();
  }
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
  EXPECT_EQ(engine.pool_status().size, 1u);
  EXPECT_EQ(server_connections(observer), 1);
}

TEST_F(PoolTest, RecycleReplacesOldConnections) {
  evcs::EngineOptions recycling = options(1, 0, 5.0);
  recycling.pool_recycle = 0.05;
  evcs::Engine engine(recycling);
  int first;
  {
    auto session = engine.session();
    session.execute("SELECT 1");
    first = session.backend_pid();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto session = engine.session();
  session.execute("SELECT 1");
  EXPECT_NE(session.backend_pid(), first);
}

TEST_F(PoolTest, DisposeClosesIdleConnections) {
  evcs::Engine engine(options(2, 0, 5.0));
  {
    auto a = engine.session();
    auto b = engine.session();
    a.execute("SELECT 1");
    b.execute("SELECT 1");
  }
  EXPECT_EQ(engine.pool_status().size, 2u);
  engine.dispose();
  EXPECT_EQ(engine.pool_status().size, 0u);
}

TEST_F(PoolTest, EchoLogsStatementsWithParameterCountsAndNeverValues) {
  evcs::EngineOptions echoing = options(1, 0, 5.0);
  echoing.echo = true;
  evcs::Engine engine(echoing);
  std::vector<std::string> lines;
  std::mutex lines_mutex;
  engine.set_logger([&](const std::string &line) {
    std::lock_guard<std::mutex> lock(lines_mutex);
    lines.push_back(line);
  });
  auto session = engine.session();
  session.execute("SELECT $1::text", evcs::Params::of("secret-value"));
  session.commit();
  std::lock_guard<std::mutex> lock(lines_mutex);
  bool found = false;
  for (const auto &line : lines) {
    EXPECT_EQ(line.find("secret-value"), std::string::npos);
    if (line.rfind("SELECT $1::text [1 params, ", 0) == 0) found = true;
  }
  EXPECT_TRUE(found);
}

TEST(PoolOptions, BadValuesAreInvalidArguments) {
  evcs::EngineOptions options;
  EXPECT_THROW(options.set("pool_size", "0"), evcs::InvalidArgument);
  EXPECT_THROW(options.set("pool_size", "ten"), evcs::InvalidArgument);
  EXPECT_THROW(options.set("pool_timeout", "-1"), evcs::InvalidArgument);
  EXPECT_THROW(options.set("pool_pre_ping", "maybe"), evcs::InvalidArgument);
  try {
    options.set("pool_sise", "3");
    FAIL();
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_NE(std::string(error.what()).find("pool_sise"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("pool_size"), std::string::npos);
  }
  options.set("pool_recycle", "3600");
  EXPECT_EQ(options.pool_recycle.value(), 3600.0);
  options.set("pool_recycle", "none");
  EXPECT_FALSE(options.pool_recycle.has_value());
}

TEST(PoolOptions, MalformedUrlAndDeadServer) {
  evcs::EngineOptions malformed;
  malformed.url = "postgresql://host:notaport:/x?sslmode";
  EXPECT_THROW(evcs::Engine{malformed}, evcs::InvalidArgument);
  evcs::EngineOptions dead;
  dead.url = "postgresql:///postgres?host=/nonexistent-evcs-socket-dir";
  evcs::Engine engine(dead);
  auto session = engine.session();
  try {
    session.execute("SELECT 1");
    FAIL();
  } catch (const evcs::ConnectionLost &error) {
    EXPECT_EQ(error.sqlstate(), "08001");
    EXPECT_NE(std::string(error.what()).find("server is running"), std::string::npos);
  }
  EXPECT_EQ(engine.pool_status().size, 0u);
  EXPECT_EQ(engine.pool_status().checked_out, 0u);
}

} // namespace
