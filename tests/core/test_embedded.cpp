// The embedded default server (docs/embedded.md) against real PostgreSQL binaries. These tests start
// their own servers and do not use DATABASE_URL.
#include "evcs/embedded.hpp"
#include "evcs/error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs one query and returns the first value of the first row, or the error text.
std::string query_value(const std::string &url, const std::string &sql) {
  PGconn *conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return "connection failed: " + message;
  }
  PGresult *result = PQexec(conn, sql.c_str());
  std::string value;
  if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
    value = PQgetvalue(result, 0, 0);
  else if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK)
    value = "error: " + std::string(PQresultErrorMessage(result));
  PQclear(result);
  PQfinish(conn);
  return value;
}

// Reads what a child wrote, up to its end of the pipe.
std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  ssize_t count;
  while ((count = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, count);
  return text;
}

std::string socket_dir_of(const std::string &url) {
  std::string after = url.substr(url.find("host=") + 5);
  return after.substr(0, after.find('&'));
}

// Each test gets its own cache directory, so nothing touches the user's real cache. It is
// world-traversable because, run as root, the server runs as an unprivileged user.
class EmbeddedTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/evcs-embedded-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    base_ = pattern;
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
    cache_ = base_ / "cache";
    const char *previous = std::getenv("EVCS_CACHE_DIR");
    if (previous != nullptr) previous_cache_ = previous;
    setenv("EVCS_CACHE_DIR", cache_.c_str(), 1);
  }

  void TearDown() override {
    if (previous_cache_) setenv("EVCS_CACHE_DIR", previous_cache_->c_str(), 1);
    else unsetenv("EVCS_CACHE_DIR");
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  fs::path base_;
  fs::path cache_;
  std::optional<std::string> previous_cache_;
};

TEST_F(EmbeddedTest, StartsAServerThatAnswersQueries) {
  auto started_at = std::chrono::steady_clock::now();
  std::shared_ptr<evcs::EmbeddedServer> server = evcs::EmbeddedServer::acquire();
  auto elapsed = std::chrono::steady_clock::now() - started_at;
  std::cout << "[ measure  ] embedded start (initdb + pg_ctl start): "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";

  EXPECT_EQ(query_value(server->url(), "SELECT 1"), "1");
  EXPECT_EQ(query_value(server->url(), "SELECT current_user"), "postgres");
  EXPECT_EQ(query_value(server->url(), "SHOW listen_addresses"), "");
  EXPECT_EQ(query_value(server->url(), "SHOW max_connections"), "200");
  EXPECT_EQ(query_value(server->url(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(query_value(server->url(), "SHOW fsync"), "on");
  EXPECT_EQ(fs::path(server->data_dir()).parent_path(), cache_);
  EXPECT_TRUE(fs::exists(fs::path(server->data_dir()) / "PG_VERSION"));
  EXPECT_FALSE(server->persist());
  EXPECT_LT(socket_dir_of(server->url()).size() + sizeof("/.s.PGSQL.5432"), 100u);
}

TEST_F(EmbeddedTest, TwoAcquiresShareOneServer) {
  auto first = evcs::EmbeddedServer::acquire();
  auto second = evcs::EmbeddedServer::acquire();
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(first->url(), second->url());
  EXPECT_EQ(first->data_dir(), second->data_dir());
}

TEST_F(EmbeddedTest, ConcurrentAcquiresFromThreadsShareOneServer) {
  std::vector<std::shared_ptr<evcs::EmbeddedServer>> servers(8);
  std::vector<std::thread> threads;
  for (auto &slot : servers)
    threads.emplace_back([&slot] { slot = evcs::EmbeddedServer::acquire(); });
  for (auto &thread : threads) thread.join();
  for (const auto &server : servers) EXPECT_EQ(server.get(), servers.front().get());
  EXPECT_EQ(query_value(servers.front()->url(), "SELECT 2"), "2");
}

TEST_F(EmbeddedTest, ReleasingTheLastUserStopsTheServerAndRemovesItsDirectories) {
  auto first = evcs::EmbeddedServer::acquire();
  auto second = evcs::EmbeddedServer::acquire();
  std::string url = first->url();
  std::string data_dir = first->data_dir();

  first.reset();
  EXPECT_EQ(query_value(url, "SELECT 3"), "3");

  second.reset();
  EXPECT_EQ(PQping(url.c_str()), PQPING_NO_RESPONSE);
  EXPECT_FALSE(fs::exists(data_dir));
  EXPECT_FALSE(fs::exists(socket_dir_of(url)));
}

TEST_F(EmbeddedTest, AcquireAfterAFullReleaseStartsAFreshServer) {
  std::string first_data_dir = evcs::EmbeddedServer::acquire()->data_dir();
  auto server = evcs::EmbeddedServer::acquire();
  EXPECT_NE(server->data_dir(), first_data_dir);
  EXPECT_EQ(query_value(server->url(), "SELECT 4"), "4");
}

TEST_F(EmbeddedTest, PersistKeepsTheDataDirectoryAndReusesItsData) {
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "persisted").string();
  options.persist = true;
  std::string first_url;
  {
    auto server = evcs::EmbeddedServer::acquire(options);
    EXPECT_EQ(server->data_dir(), options.data_dir);
    EXPECT_TRUE(server->persist());
    first_url = server->url();
    EXPECT_EQ(query_value(server->url(), "CREATE TABLE kept (note text)"), "");
    EXPECT_EQ(query_value(server->url(), "INSERT INTO kept VALUES ('still here')"), "");
  }
  EXPECT_EQ(PQping(first_url.c_str()), PQPING_NO_RESPONSE);
  EXPECT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
  EXPECT_FALSE(fs::exists(fs::path(options.data_dir) / "postmaster.pid"));

  auto again = evcs::EmbeddedServer::acquire(options);
  EXPECT_EQ(query_value(again->url(), "SELECT note FROM kept"), "still here");
  again.reset();
  EXPECT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
}

TEST_F(EmbeddedTest, PersistWithoutADataDirUsesAFixedDirectoryInTheCache) {
  evcs::EmbeddedOptions options;
  options.persist = true;
  std::string data_dir = evcs::EmbeddedServer::acquire(options)->data_dir();
  EXPECT_EQ(fs::path(data_dir).parent_path(), cache_);
  EXPECT_THAT(fs::path(data_dir).filename().string(), ::testing::StartsWith("data-"));
  EXPECT_TRUE(fs::exists(fs::path(data_dir) / "PG_VERSION"));
  EXPECT_EQ(evcs::EmbeddedServer::acquire(options)->data_dir(), data_dir);
}

TEST_F(EmbeddedTest, AStalePostmasterPidInAPersistedDirectoryDoesNotBlockTheStart) {
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "crashed").string();
  options.persist = true;
  evcs::EmbeddedServer::acquire(options).reset();

  pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  waitpid(gone, nullptr, 0);
  fs::path pid_file = fs::path(options.data_dir) / "postmaster.pid";
  {
    std::ofstream stale(pid_file);
    stale << gone << "\n" << options.data_dir << "\n1700000000\n5432\n/tmp/evcs-pg-gone\n\n"
          << "0 0\nready\n";
  }
  auto server = evcs::EmbeddedServer::acquire(options);
  EXPECT_EQ(query_value(server->url(), "SELECT 5"), "5");
}

// After a reboot the recorded pid often belongs to an unrelated live process; here, this one.
TEST_F(EmbeddedTest, APostmasterPidNamingAnUnrelatedLiveProcessDoesNotBlockTheStart) {
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "rebooted").string();
  options.persist = true;
  evcs::EmbeddedServer::acquire(options).reset();

  {
    std::ofstream stale(fs::path(options.data_dir) / "postmaster.pid");
    stale << getpid() << "\n" << options.data_dir << "\n1700000000\n5432\n/tmp/evcs-pg-gone\n\n"
          << "0 0\nready\n";
  }
  auto server = evcs::EmbeddedServer::acquire(options);
  EXPECT_EQ(query_value(server->url(), "SELECT 8"), "8");
}

// A persisted directory served by another process is joined, and left running at release.
TEST_F(EmbeddedTest, AServerAnotherProcessRunsOnAPersistedDirectoryIsJoinedNotStopped) {
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "shared").string();
  options.persist = true;
  int report[2];
  int finish[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(finish), 0);
  pid_t owner = fork();
  if (owner == 0) {
    close(report[0]);
    close(finish[1]);
    auto server = evcs::EmbeddedServer::acquire(options);
    ssize_t written = write(report[1], server->url().data(), server->url().size());
    close(report[1]);
    char done;
    ssize_t got = read(finish[0], &done, 1);
    server.reset();
    _exit(written > 0 && got == 1 ? 0 : 1);
  }
  close(report[1]);
  close(finish[0]);
  std::string owner_url = read_all(report[0]);
  close(report[0]);

  auto joined = evcs::EmbeddedServer::acquire(options);
  EXPECT_EQ(joined->url(), owner_url);
  EXPECT_EQ(query_value(joined->url(), "SELECT 9"), "9");
  joined.reset();
  EXPECT_EQ(query_value(owner_url, "SELECT 10"), "10");

  ASSERT_EQ(write(finish[1], "d", 1), 1);
  close(finish[1]);
  int status = 0;
  ASSERT_EQ(waitpid(owner, &status, 0), owner);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(PQping(owner_url.c_str()), PQPING_NO_RESPONSE);
  EXPECT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
}

TEST_F(EmbeddedTest, ADataDirUnderARegularFileIsRejected) {
  fs::path file = base_ / "plain-file";
  std::ofstream(file) << "not a directory";
  evcs::EmbeddedOptions options;
  options.data_dir = (file / "data").string();
  try {
    evcs::EmbeddedServer::acquire(options);
    FAIL() << "acquire accepted a data_dir under a regular file";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::invalid_argument);
    EXPECT_EQ(error.sqlstate(), "");
    EXPECT_EQ(std::string(error.what()),
              "cannot create the directory '" + options.data_dir +
                  "': Not a directory: pass a data_dir in a directory you can write to");
  }
}

TEST_F(EmbeddedTest, AnotherDataDirWhileTheServerRunsIsRejected) {
  auto running = evcs::EmbeddedServer::acquire();
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "other").string();
  try {
    evcs::EmbeddedServer::acquire(options);
    FAIL() << "acquire accepted a second data directory";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::invalid_argument);
    EXPECT_THAT(error.what(), HasSubstr("already runs on " + running->data_dir()));
    EXPECT_THAT(error.what(), HasSubstr("release every handle to it first"));
  }
  EXPECT_EQ(query_value(running->url(), "SELECT 6"), "6");
}

TEST_F(EmbeddedTest, AnExistingClusterIsNeverUsedWithoutPersist) {
  evcs::EmbeddedOptions options;
  options.data_dir = (base_ / "precious").string();
  options.persist = true;
  evcs::EmbeddedServer::acquire(options).reset();

  options.persist = false;
  try {
    evcs::EmbeddedServer::acquire(options);
    FAIL() << "acquire would have deleted an existing cluster at stop";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::invalid_argument);
    EXPECT_THAT(error.what(), HasSubstr("pass persist=true to reuse it"));
  }
  EXPECT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
}

TEST_F(EmbeddedTest, ExitWithoutReleaseStopsTheServer) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    // Never released (and reachable from a static, so LeakSanitizer does not flag it): only
    // the exit hook can stop the server.
    static auto *never_released =
        new std::shared_ptr<evcs::EmbeddedServer>(evcs::EmbeddedServer::acquire());
    std::string line = (*never_released)->url() + "\n" + (*never_released)->data_dir();
    ssize_t written = write(report[1], line.data(), line.size());
    std::exit(written == static_cast<ssize_t>(line.size()) ? 0 : 1);
  }
  close(report[1]);
  std::string line = read_all(report[0]);
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::string url = line.substr(0, line.find('\n'));
  std::string data_dir = line.substr(line.find('\n') + 1);
  EXPECT_EQ(PQping(url.c_str()), PQPING_NO_RESPONSE);
  EXPECT_FALSE(fs::exists(data_dir));
}

// The process is SIGKILLed, so no hook of its own runs: its watchdog must stop the server.
// A subreaper adopts the orphaned watchdog and postmaster, so waiting for all of them
// tells exactly when they have finished.
TEST_F(EmbeddedTest, AKilledProcessDoesNotLeaveItsServerRunning) {
  int report[2];
  int proceed[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(proceed), 0);
  pid_t supervisor = fork();
  if (supervisor == 0) {
    close(report[0]);
    close(proceed[1]);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t worker = fork();
    if (worker == 0) {
      auto server = evcs::EmbeddedServer::acquire();
      std::string line = server->url() + "\n" + server->data_dir();
      ssize_t written = write(report[1], line.data(), line.size());
      close(report[1]);
      if (written == static_cast<ssize_t>(line.size())) pause();
      _exit(1);
    }
    close(report[1]);
    char go;
    ssize_t got = read(proceed[0], &go, 1);
    kill(worker, SIGKILL);
    while (wait(nullptr) > 0 || errno == EINTR) {
    }
    _exit(got == 1 ? 0 : 1);
  }
  close(report[1]);
  close(proceed[0]);
  std::string line = read_all(report[0]);
  close(report[0]);
  std::string url = line.substr(0, line.find('\n'));
  std::string data_dir = line.substr(line.find('\n') + 1);
  EXPECT_EQ(query_value(url, "SELECT 7"), "7");

  ASSERT_EQ(write(proceed[1], "k", 1), 1);
  close(proceed[1]);
  int status = 0;
  ASSERT_EQ(waitpid(supervisor, &status, 0), supervisor);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(PQping(url.c_str()), PQPING_NO_RESPONSE);
  EXPECT_FALSE(fs::exists(data_dir));
  EXPECT_FALSE(fs::exists(socket_dir_of(url)));
}

} // namespace
