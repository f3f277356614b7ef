// Repository::create_many: COPY-based bulk create, its commit stamp, branches and bad input.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace {

using json = nlohmann::json;

class BulkTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_bulk")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("part", {{"name", "text not null"},
                                  {"price", "numeric(10,2)"},
                                  {"tags", "text[]"},
                                  {"meta", "jsonb"}});
    s.commit();
  }

  evcs::Session on(const std::string &branch = "main") {
    return engine_->session(branch, "loader");
  }

  std::int64_t count(const std::string &sql) {
    auto s = on();
    std::int64_t rows = s.execute(sql).get_int64(0, 0);
    s.rollback();
    return rows;
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *BulkTest::url_ = nullptr;

TEST_F(BulkTest, CreatesEveryRowInOneCommitWithOneStamp) {
  auto s = on();
  auto repo = s.repository("part");
  repo.create({{"name", "earlier"}});
  s.commit("earlier");
  const json rows = json::array(
      {{{"name", "bolt"}, {"price", "0.5"}, {"tags", {"m8", "steel \"zinc\""}}},
       {{"name", "tab\there, line\nthere \\ done"}, {"meta", {{"size", 8}, {"ok", true}}}},
       {{"name", "nut"}, {"head_id", "A0000000-0000-4000-8000-0000000000FF"}}});
  auto created = repo.create_many(rows, "bulk load");
  ASSERT_EQ(created.head_ids.size(), 3u);
  EXPECT_EQ(created.head_ids[2], "a0000000-0000-4000-8000-0000000000ff");
  EXPECT_EQ(created.branch, "main");
  EXPECT_EQ(created.author, "loader");
  EXPECT_FALSE(s.in_transaction()) << "create_many committed by itself";

  auto bolt = repo.get(created.head_ids[0]);
  ASSERT_TRUE(bolt.has_value());
  EXPECT_EQ(bolt->version, 1);
  EXPECT_EQ(bolt->valid_from, created.valid_from);
  EXPECT_FALSE(bolt->valid_to.has_value());
  EXPECT_EQ(bolt->author, "loader");
  EXPECT_EQ(bolt->fields["price"], "0.50");
  EXPECT_EQ(bolt->fields["tags"], json::array({"m8", "steel \"zinc\""}));
  EXPECT_EQ(bolt->fields["meta"], nullptr);
  auto escaped = repo.get(created.head_ids[1]);
  EXPECT_EQ(escaped->fields["name"], "tab\there, line\nthere \\ done");
  EXPECT_EQ(escaped->fields["meta"], json({{"size", 8}, {"ok", true}}));
  EXPECT_EQ(repo.get(created.head_ids[2])->fields["name"], "nut");

  auto log = s.execute("SELECT stamp, message, changes, author FROM evcs_commit ORDER BY stamp");
  ASSERT_EQ(log.rows(), 2);
  EXPECT_LT(log.get_timestamp(0, 0), created.valid_from);
  EXPECT_EQ(log.get_timestamp(1, 0), created.valid_from) << "one commit, one stamp";
  EXPECT_EQ(log.get_text(1, 1), "bulk load");
  EXPECT_EQ(log.get_int64(1, 2), 3);
  EXPECT_EQ(log.get_text(1, 3), "loader");
  EXPECT_EQ(s.execute("SELECT count(DISTINCT valid_from) FROM part_version "
                      "WHERE valid_from = $1",
                      evcs::Params::of(evcs::Timestamp{created.valid_from}))
                .get_int64(0, 0),
            1);
  EXPECT_EQ(s.execute("SELECT count(*) FROM part WHERE created_by = 'loader'").get_int64(0, 0), 4);
  s.rollback();

  repo.create({{"name", "later"}});
  s.commit();
  auto later = s.execute("SELECT max(stamp) FROM evcs_commit").get_timestamp(0, 0);
  s.rollback();
  EXPECT_GT(later, created.valid_from) << "the clock moved past the bulk stamp";
}

TEST_F(BulkTest, InsideBeginItJoinsTheTransactionAndTheCommitStampsIt) {
  auto s = on();
  auto repo = s.repository("part");
  s.rollback();
  auto tx = s.begin();
  auto single = repo.create({{"name", "single"}});
  auto created = repo.create_many(json::array({{{"name", "a"}}, {{"name", "b"}}}));
  EXPECT_EQ(created.valid_from, std::numeric_limits<std::int64_t>::max()) << "pending";
  EXPECT_TRUE(s.in_transaction());
  EXPECT_EQ(count("SELECT count(*) FROM part_version"), 0) << "not visible before the commit";
  try {
    repo.create_many(json::array({{{"name", "c"}}}), "a message");
    FAIL() << "a message inside begin() belongs to the commit";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.sqlstate(), "");
  }
  tx.commit();
  auto stamps = s.execute("SELECT count(DISTINCT valid_from), min(valid_from) FROM part_version");
  EXPECT_EQ(stamps.get_int64(0, 0), 1) << "every version of the transaction shares its stamp";
  auto stamp = stamps.get_timestamp(0, 1);
  auto log = s.execute("SELECT stamp, changes FROM evcs_commit");
  ASSERT_EQ(log.rows(), 1);
  EXPECT_EQ(log.get_timestamp(0, 0), stamp);
  EXPECT_EQ(log.get_int64(0, 1), 3);
  s.rollback();
  EXPECT_EQ(repo.get(created.head_ids[1])->fields["name"], "b");
  EXPECT_EQ(repo.get(single.head_id)->valid_from, stamp);
}

TEST_F(BulkTest, UncommittedVersionsMustBeCommittedFirst) {
  auto s = on();
  auto repo = s.repository("part");
  repo.create({{"name", "pending"}});
  try {
    repo.create_many(json::array({{{"name", "x"}}}));
    FAIL() << "create_many cannot commit another write's versions with its own stamp";
  } catch (const evcs::MisuseError &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::misuse);
  }
  s.commit();
  EXPECT_EQ(repo.create_many(json::array({{{"name", "x"}}})).head_ids.size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM part_version"), 2);
}

TEST_F(BulkTest, WritesToTheSessionsBranchAndALockedBranchRefuses) {
  {
    auto admin = on();
    admin.create_branch("import");
    admin.commit();
  }
  auto s = on("import");
  auto repo = s.repository("part");
  auto created = repo.create_many(json::array({{{"name", "branch only"}}}));
  EXPECT_EQ(created.branch, "import");
  EXPECT_EQ(repo.get(created.head_ids[0])->branch, "import");
  EXPECT_FALSE(repo.get(created.head_ids[0], std::nullopt, std::string("main")).has_value());
  {
    auto admin = on();
    admin.lock_branch("import");
    admin.commit();
  }
  try {
    repo.create_many(json::array({{{"name", "refused"}}}));
    FAIL() << "a locked branch must reject the bulk write";
  } catch (const evcs::BranchLocked &error) {
    EXPECT_EQ(error.sqlstate(), "EVL01");
  }
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(count("SELECT count(*) FROM part"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM evcs_commit WHERE changes > 0"), 1);
}

TEST_F(BulkTest, BadInputIsRefusedAndWritesNothing) {
  auto s = on();
  auto repo = s.repository("part");
  auto expect_invalid = [&](const json &rows, const std::string &sqlstate,
                            const std::string &fragment) {
    try {
      repo.create_many(rows);
      ADD_FAILURE() << "accepted " << rows.dump();
    } catch (const evcs::InvalidArgument &error) {
      EXPECT_EQ(error.sqlstate(), sqlstate) << rows.dump();
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  expect_invalid(json::object({{"name", "not a list"}}), "", "rows must be a list");
  expect_invalid(json::array({{{"name", "ok"}}, "text"}), "", "row 1 must be an object");
  expect_invalid(json::array({{{"name", "ok"}}, {{"nmae", "typo"}}}), "",
                 "row 1: 'nmae' is not a field of entity type 'part'");
  expect_invalid(json::array({{{"name", "ok"}, {"version", 3}}}), "", "'version' is not a field");
  expect_invalid(json::array({{{"name", {"a", "list"}}}}), "", "takes a single value");
  expect_invalid(json::array({{{"name", "x"}, {"tags", 7}}}), "", "takes a list");
  expect_invalid(json::array({{{"name", "x"}, {"head_id", "not-a-uuid"}}}), "",
                 "head_id must be a uuid");
  expect_invalid(json::array({{{"name", "ok"}}, {{"name", "x"}, {"price", "cheap"}}}), "22P02",
                 "cheap");
  try {
    repo.create_many(json::array({{{"name", "ok"}}, {{"price", 1}}}));
    FAIL() << "name is not null";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23502");
  }
  const std::string twice = "b0000000-0000-4000-8000-000000000001";
  try {
    repo.create_many(json::array({{{"name", "a"}, {"head_id", twice}},
                                  {{"name", "b"}, {"head_id", twice}}}));
    FAIL() << "a head_id given twice";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23505");
  }
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(count("SELECT count(*) FROM part"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM part_version"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM evcs_commit WHERE changes > 0"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM evcs_clock WHERE last_stamp > '-infinity'"), 0)
      << "a failed bulk create leaves the clock alone";

  auto nothing = repo.create_many(json::array());
  EXPECT_TRUE(nothing.head_ids.empty());
  EXPECT_EQ(count("SELECT count(*) FROM evcs_commit"), 0) << "no rows, no commit";
}

} // namespace
