// `evcs demo`: a guided tour of the foundation on the embedded default (or DATABASE_URL).
#include "commands.hpp"

#include "evcs/evcs.hpp"

#include <chrono>
#include <cstdio>
#include <future>
#include <set>

namespace evcs::cli {

namespace {

std::int64_t count_accounts(Engine &engine) {
  auto session = engine.session();
  return session.scalar<std::int64_t>("SELECT count(*) FROM demo_account").value_or(-1);
}

} // namespace

int run_demo(const std::vector<std::string> &arguments) {
  if (!arguments.empty()) {
    std::printf("usage: evcs demo\n\nRuns a short tour: commit, rollback, a savepoint and a batch "
                "of concurrent async queries,\non DATABASE_URL or the embedded default server.\n");
    return arguments[0] == "--help" ? exit_ok : exit_usage;
  }
  EngineOptions options;
  options.pool_size = 8;
  Engine engine(options);
  std::printf("evcs demo on %s\n\n", engine.url().c_str());

  {
    auto session = engine.session();
    session.execute("DROP TABLE IF EXISTS demo_account");
    session.execute("CREATE TABLE demo_account (name text PRIMARY KEY, balance numeric NOT NULL)");
    session.execute("INSERT INTO demo_account VALUES ($1, $2), ($3, $4)",
                    Params::of("alice", 100, "bob", 50));
    session.commit();
  }
  std::printf("1. commit    created demo_account with 2 rows and committed: a new session sees "
              "%lld rows\n", static_cast<long long>(count_accounts(engine)));

  {
    auto session = engine.session();
    session.execute("INSERT INTO demo_account VALUES ($1, $2)", Params::of("mallory", 1000000));
    std::int64_t inside = session.scalar<std::int64_t>("SELECT count(*) FROM demo_account").value_or(-1);
    session.rollback();
    std::printf("2. rollback  inserted mallory (%lld rows inside the transaction), rolled back: "
                "%lld rows\n", static_cast<long long>(inside),
                static_cast<long long>(count_accounts(engine)));
  }

  {
    auto session = engine.session();
    auto outer = session.begin();
    session.execute("INSERT INTO demo_account VALUES ($1, $2)", Params::of("carol", 75));
    std::string failure;
    {
      auto savepoint = session.begin_nested();
      try {
        session.execute("INSERT INTO demo_account VALUES ($1, $2)", Params::of("alice", 1));
        savepoint.commit();
      } catch (const IntegrityError &error) {
        failure = std::string(error.sqlstate());
        savepoint.rollback();
      }
    }
    outer.commit();
    std::printf("3. savepoint inserted carol, then a duplicate alice failed inside a savepoint "
                "(SQLSTATE %s) and was rolled back to it; the outer transaction committed: %lld "
                "rows\n", failure.c_str(), static_cast<long long>(count_accounts(engine)));
  }

  {
    const int queries = 16;
    const double sleep_seconds = 0.2;
    std::vector<Session> sessions;
    std::vector<std::future<Result>> pending;
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < queries; ++i) {
      sessions.push_back(engine.session());
      pending.push_back(sessions.back().execute_async(
          "SELECT pg_backend_pid(), pg_sleep($1)", Params::of(sleep_seconds)));
    }
    std::set<std::int64_t> backends;
    for (auto &future : pending) backends.insert(future.get().get_int64(0, 0));
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (auto &session : sessions) session.commit_async().get();
    std::printf("4. async     %d concurrent queries of %.1f s each finished in %.2f s on %zu "
                "pooled connections (one after another: %.1f s)\n",
                queries, sleep_seconds, elapsed, backends.size(), queries * sleep_seconds);
  }

  {
    auto session = engine.session();
    session.execute("DROP TABLE demo_account");
    session.commit();
  }
  PoolStatus status = engine.pool_status();
  std::printf("\npool: %zu connections open, %zu checked out\n", status.size, status.checked_out);
  return exit_ok;
}

} // namespace evcs::cli
