// Backup and verified restore (docs/backup.md) with the real pg_dump and pg_restore.
#include "evcs/backup.hpp"
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

evcs::Engine engine_at(const std::string &url) {
  evcs::EngineOptions options;
  options.url = url;
  return evcs::Engine(options);
}

std::int64_t count(const std::string &url, const std::string &sql) {
  auto engine = engine_at(url);
  auto session = engine.session();
  return session.scalar<std::int64_t>(sql).value();
}

class Backup : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    source_ = new std::string(evcs_test::fresh_database("backup_source"));
    auto engine = engine_at(*source_);
    auto session = engine.session();
    session.execute("CREATE TABLE project (head_id uuid PRIMARY KEY)");
    session.execute("CREATE TABLE project_version (head_id uuid REFERENCES project, "
                    "branch text, version int, valid_from timestamptz, budget numeric(14,2), "
                    "tags text[], extra jsonb, PRIMARY KEY (head_id, branch, valid_from))");
    session.execute("CREATE TABLE evcs_commit (stamp timestamptz PRIMARY KEY, author text)");
    session.execute("CREATE TABLE scratch (note text)");
    session.execute("INSERT INTO project SELECT md5(i::text)::uuid FROM generate_series(1, 500) i");
    session.execute("INSERT INTO project_version SELECT md5(i::text)::uuid, 'main', v, "
                    "'2024-01-01'::timestamptz + make_interval(days => v), i * 1.5, "
                    "ARRAY['a', i::text], jsonb_build_object('i', i) "
                    "FROM generate_series(1, 500) i, generate_series(1, 4) v");
    session.execute("INSERT INTO evcs_commit VALUES ('2024-01-02', 'alice'), ('2024-01-03', "
                    "NULL)");
    session.execute("INSERT INTO scratch VALUES ('not covered by the manifest')");
    session.commit();
  }
  static void TearDownTestSuite() { delete source_; }

  void SetUp() override {
    char pattern[] = "/tmp/evcs-backup-XXXXXX";
    directory_ = ::mkdtemp(pattern);
    archive_ = directory_ + "/source.dump";
  }
  void TearDown() override { fs::remove_all(directory_); }

  static std::string *source_;
  std::string directory_;
  std::string archive_;
};

std::string *Backup::source_ = nullptr;

} // namespace

TEST_F(Backup, RestoreIntoAnEmptyDatabaseVerifies) {
  auto manifest = evcs::backup_database(*source_, archive_);
  ASSERT_EQ(manifest.tables.size(), 2u);
  EXPECT_EQ(manifest.tables[0].table, "public.evcs_commit");
  EXPECT_EQ(manifest.tables[0].rows, 2);
  EXPECT_EQ(manifest.tables[1].table, "public.project_version");
  EXPECT_EQ(manifest.tables[1].rows, 2000);
  EXPECT_EQ(manifest.tables[1].md5.size(), 32u);
  EXPECT_TRUE(fs::is_regular_file(archive_));
  EXPECT_TRUE(fs::is_regular_file(archive_ + ".manifest.json"));

  std::string target = evcs_test::fresh_database("backup_target");
  auto restored = evcs::restore_database(archive_, target);
  ASSERT_EQ(restored.tables.size(), 2u);
  EXPECT_EQ(restored.tables[1].md5, manifest.tables[1].md5);
  EXPECT_EQ(count(target, "SELECT count(*) FROM project_version"), 2000);
  EXPECT_EQ(count(target, "SELECT count(*) FROM scratch"), 1);
  EXPECT_EQ(evcs::verify_restore(archive_, target).tables.size(), 2u);
}

TEST_F(Backup, TamperedRestoreFailsNamingTheTable) {
  evcs::backup_database(*source_, archive_);
  std::string target = evcs_test::fresh_database("backup_tampered");
  evcs::restore_database(archive_, target);
  {
    auto engine = engine_at(target);
    auto session = engine.session();
    session.execute("DELETE FROM project_version WHERE version = 4 AND budget = 1.5");
    session.commit();
  }
  try {
    evcs::verify_restore(archive_, target);
    FAIL() << "expected evcs::Error";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::error);
    EXPECT_EQ(error.sqlstate(), "");
    std::string message = error.what();
    EXPECT_EQ(message.rfind("restore verification failed for table public.project_version: the "
                            "backup " + archive_ + " has 2000 rows",
                            0),
              0u)
        << message;
    EXPECT_NE(message.find("the restored database has 1999 rows"), std::string::npos) << message;
  }
}

TEST_F(Backup, RestoreRefusesANonEmptyDatabase) {
  evcs::backup_database(*source_, archive_);
  try {
    evcs::restore_database(archive_, *source_);
    FAIL() << "expected InvalidArgument";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::invalid_argument);
    EXPECT_EQ(std::string(error.what()).rfind("database evcs_t_backup_source is not empty (4 tables, "
                                              "views or sequences, e.g. public.evcs_commit)",
                                              0),
              0u)
        << error.what();
  }
}

TEST_F(Backup, RestoreWithoutManifestIsNotFound) {
  evcs::backup_database(*source_, archive_);
  fs::remove(archive_ + ".manifest.json");
  std::string target = evcs_test::fresh_database("backup_no_manifest");
  EXPECT_THROW(evcs::restore_database(archive_, target), evcs::NotFound);
  EXPECT_EQ(count(target, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
            0);
}

TEST_F(Backup, FailingPgDumpReportsItsMessage) {
  try {
    evcs::backup_database(*source_, directory_ + "/no/such/dir/x.dump");
    FAIL() << "expected evcs::Error";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::error);
    EXPECT_EQ(std::string(error.what()).rfind("pg_dump failed (exit status 1): pg_dump: error:", 0),
              0u)
        << error.what();
  }
}

// pg_dump and pg_restore are found where EVCS_PG_BINDIR says, as the embedded server's
// programs are: a directory holding a pg_dump is used; one without it is an error naming it.
TEST_F(Backup, PgDumpIsTakenFromEvcsPgBindir) {
  struct BindirGuard {
    explicit BindirGuard(const std::string &dir) { ::setenv("EVCS_PG_BINDIR", dir.c_str(), 1); }
    ~BindirGuard() { ::unsetenv("EVCS_PG_BINDIR"); }
  };
  std::string empty = directory_ + "/empty-bin";
  fs::create_directory(empty);
  {
    BindirGuard guard(empty);
    try {
      evcs::backup_database(*source_, archive_);
      FAIL() << "expected evcs::Error";
    } catch (const evcs::Error &error) {
      EXPECT_EQ(std::string(error.what()).rfind("EVCS_PG_BINDIR is '" + empty + "' but " + empty +
                                                    "/pg_dump is not an executable",
                                                0),
                0u)
          << error.what();
    }
    EXPECT_FALSE(fs::exists(archive_)) << "nothing written";
  }
  std::string linked = directory_ + "/linked-bin";
  fs::create_directory(linked);
  auto major = count(*source_, "SELECT current_setting('server_version_num')::int / 10000");
  fs::create_symlink("/usr/lib/postgresql/" + std::to_string(major) + "/bin/pg_dump",
                     linked + "/pg_dump");
  BindirGuard guard(linked);
  auto manifest = evcs::backup_database(*source_, archive_);
  EXPECT_EQ(manifest.tables.size(), 2u);
  EXPECT_TRUE(fs::exists(archive_));
}
