// Versioned entities on main: the storage model, commit stamps, the repository operations.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <set>
#include <thread>

namespace {

using json = nlohmann::json;

class VersioningTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("core_versioning"));
  }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto session = engine_->session();
    session.execute("DROP TABLE IF EXISTS project_version, project CASCADE");
    session.execute("DO $$ BEGIN IF to_regclass('evcs_entity_type') IS NOT NULL THEN "
                    "DELETE FROM evcs_entity_type WHERE name = 'project'; "
                    "DROP FUNCTION IF EXISTS project_evcs_write; END IF; END $$");
    session.commit();
    session.create_entity_type("project", {{"name", "text not null"},
                                           {"budget", "numeric(14,2)"},
                                           {"status", "text"},
                                           {"tags", "text[]"},
                                           {"meta", "jsonb"}});
    session.commit();
  }

  evcs::Session session(const std::string &author = "alice") {
    return engine_->session("main", author);
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *VersioningTest::url_ = nullptr;

TEST_F(VersioningTest, CreateGetUpdateAndHistory) {
  auto s = session();
  auto repo = s.repository("project");
  auto created = repo.create({{"name", "Bridge"}, {"budget", "1000.50"}, {"tags", {"a", "b"}}});
  EXPECT_EQ(created.version, 1);
  EXPECT_EQ(created.branch, "main");
  EXPECT_EQ(created.author, "alice");
  s.commit("create bridge");
  auto current = repo.get(created.head_id);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->fields["name"], "Bridge");
  EXPECT_EQ(current->fields["budget"], "1000.50");
  EXPECT_EQ(current->fields["tags"], json::array({"a", "b"}));
  EXPECT_EQ(current->fields["status"], nullptr);
  EXPECT_FALSE(current->valid_to.has_value());

  auto updated = repo.update(created.head_id, {{"budget", 1200}, {"status", "active"}});
  EXPECT_EQ(updated.version, 2);
  EXPECT_EQ(updated.fields["name"], "Bridge") << "unchanged fields carry over";
  s.commit("raise budget");

  auto history = repo.history(created.head_id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version, 1);
  EXPECT_EQ(history[1].version, 2);
  EXPECT_EQ(history[0].valid_to, history[1].valid_from) << "versions are contiguous";
  EXPECT_EQ(history[1].changed, (std::vector<std::string>{"budget", "status"}));
  EXPECT_EQ(history[1].fields["budget"], "1200.00");

  auto log = s.execute("SELECT message, changes, author FROM evcs_commit ORDER BY stamp");
  ASSERT_EQ(log.rows(), 2);
  EXPECT_EQ(log.get_text(0, 0), "create bridge");
  EXPECT_EQ(log.get_text(1, 0), "raise budget");
  EXPECT_EQ(log.get_int64(1, 1), 1);
  EXPECT_EQ(log.get_text(1, 2), "alice");
  auto stamps = s.execute("SELECT count(*) FROM evcs_commit c JOIN project_version v "
                          "ON v.valid_from = c.stamp");
  EXPECT_EQ(stamps.get_int64(0, 0), 2) << "each version carries its commit's stamp";
}

TEST_F(VersioningTest, TheCurrentViewServesPlainSql) {
  auto s = session();
  auto repo = s.repository("project");
  auto kept = repo.create({{"name", "Kept"}});
  auto gone = repo.create({{"name", "Gone"}});
  s.commit();
  repo.remove(gone.head_id);
  s.commit();
  auto view = s.execute("SELECT name, version, head_id FROM project_current");
  ASSERT_EQ(view.rows(), 1);
  EXPECT_EQ(view.get_text(0, 0), "Kept");
  EXPECT_EQ(view.get_int64(0, 1), 1);
  EXPECT_EQ(view.get_text(0, 2), kept.head_id);
}

TEST_F(VersioningTest, AsOfReadsAtTheBoundaryInstants) {
  auto s = session();
  auto repo = s.repository("project");
  auto head = repo.create({{"name", "v1"}}).head_id;
  s.commit();
  repo.update(head, {{"name", "v2"}});
  s.commit();
  auto history = repo.history(head);
  std::int64_t first = history[0].valid_from;
  std::int64_t second = history[1].valid_from;
  EXPECT_FALSE(repo.get(head, first - 1).has_value()) << "before creation";
  EXPECT_EQ(repo.get(head, first)->fields["name"], "v1") << "valid_from is inclusive";
  EXPECT_EQ(repo.get(head, second - 1)->fields["name"], "v1");
  EXPECT_EQ(repo.get(head, second)->fields["name"], "v2") << "valid_to is exclusive";
  EXPECT_EQ(repo.get(head, second + 1000000)->fields["name"], "v2");
}

TEST_F(VersioningTest, WritingTwiceInOneTransactionMakesOneVersion) {
  auto s = session();
  auto repo = s.repository("project");
  auto head = repo.create({{"name", "draft"}}).head_id;
  repo.update(head, {{"budget", 5}});
  s.commit();
  repo.update(head, {{"status", "a"}});
  auto again = repo.update(head, {{"status", "b"}});
  EXPECT_EQ(again.version, 2);
  EXPECT_EQ(repo.get(head)->fields["status"], "b") << "reads see the transaction's own write";
  s.commit();
  auto history = repo.history(head);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].fields["budget"], "5.00");
  EXPECT_EQ(history[1].fields["status"], "b");
  auto empty = s.execute("SELECT count(*) FROM project_version WHERE NOT (valid_from < valid_to "
                         "OR valid_to IS NULL)");
  EXPECT_EQ(empty.get_int64(0, 0), 0);
}

TEST_F(VersioningTest, AnUnchangedUpdateWritesNothing) {
  auto s = session();
  auto repo = s.repository("project");
  auto head = repo.create({{"name", "same"}}).head_id;
  s.commit();
  EXPECT_EQ(repo.update(head, {{"name", "same"}}).version, 1);
  s.commit();
  EXPECT_EQ(repo.history(head).size(), 1u);
}

TEST_F(VersioningTest, ALongTransactionDoesNotAppearRetroactivelyInThePast) {
  auto setup = session();
  auto repo = setup.repository("project");
  auto a = repo.create({{"name", "a0"}}).head_id;
  auto b = repo.create({{"name", "b0"}}).head_id;
  setup.commit();

  auto long_session = session("long");
  auto long_repo = long_session.repository("project");
  long_repo.update(a, {{"name", "a1"}});

  auto short_session = session("short");
  short_session.repository("project").update(b, {{"name", "b1"}});
  short_session.commit();
  auto instant = repo.history(b).back().valid_from;
  EXPECT_EQ(repo.get(a, instant)->fields["name"], "a0");

  long_session.commit();
  EXPECT_EQ(repo.get(a, instant)->fields["name"], "a0") << "the past did not change";
  auto long_stamp = repo.history(a).back().valid_from;
  EXPECT_GT(long_stamp, instant) << "stamped at commit, after the short transaction";
  EXPECT_EQ(repo.get(a, long_stamp)->fields["name"], "a1");
}

TEST_F(VersioningTest, ConcurrentUpdatesOfOneEntityMakeContiguousVersions) {
  std::string head;
  {
    auto s = session();
    head = s.repository("project").create({{"name", "contended"}, {"budget", 0}}).head_id;
    s.commit();
  }
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&, thread] {
      auto s = session("thread" + std::to_string(thread));
      auto repo = s.repository("project");
      for (int i = 0; i < 50; ++i) {
        repo.update(head, {{"status", std::to_string(thread) + "/" + std::to_string(i)}});
        s.commit();
      }
    });
  }
  for (auto &thread : threads) thread.join();
  auto s = session();
  auto history = s.repository("project").history(head);
  ASSERT_EQ(history.size(), 201u);
  for (std::size_t i = 1; i < history.size(); ++i) {
    EXPECT_EQ(history[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(history[i - 1].valid_to, history[i].valid_from);
    EXPECT_LT(history[i - 1].valid_from, history[i].valid_from);
  }
  EXPECT_FALSE(history.back().valid_to.has_value());
}

TEST_F(VersioningTest, TheDatabaseRejectsOverlappingAndInvertedVersions) {
  auto s = session();
  auto head = s.repository("project").create({{"name", "x"}}).head_id;
  s.commit();
  try {
    s.execute("INSERT INTO project_version (head_id, branch, version, valid_from, valid_to, name) "
              "VALUES ($1::uuid, 'main', 2, now() - interval '1 day', now() + interval '1 day', 'y')",
              evcs::Params::of(head));
    FAIL() << "an overlapping version must be rejected";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23P01");
  }
  s.rollback();
  try {
    s.execute("INSERT INTO project_version (head_id, branch, version, valid_from, valid_to, name) "
              "VALUES ($1::uuid, 'other', 1, now(), now() - interval '1 hour', 'y')",
              evcs::Params::of(head));
    FAIL() << "an inverted range must be rejected";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23514");
  }
  s.rollback();
  try {
    s.execute("INSERT INTO project_version (head_id, branch, version, valid_from, valid_to, name) "
              "VALUES ($1::uuid, 'other', 1, now(), now(), 'y')",
              evcs::Params::of(head));
    FAIL() << "an empty range must be rejected";
  } catch (const evcs::IntegrityError &error) {
    EXPECT_EQ(error.sqlstate(), "23514");
  }
}

TEST_F(VersioningTest, DeleteRestoreRevertAndOptimisticConcurrency) {
  auto s = session();
  auto repo = s.repository("project");
  auto head = repo.create({{"name", "v1"}, {"budget", 10}}).head_id;
  s.commit();
  repo.update(head, {{"name", "v2"}}, 1);
  s.commit();
  try {
    repo.update(head, {{"name", "stale"}}, 1);
    FAIL() << "a stale expected_version must conflict";
  } catch (const evcs::ConcurrentModification &error) {
    EXPECT_EQ(error.sqlstate(), "EVC01");
  }
  s.rollback();
  auto tombstone = repo.remove(head);
  EXPECT_TRUE(tombstone.deleted);
  EXPECT_EQ(tombstone.version, 3);
  s.commit();
  EXPECT_FALSE(repo.get(head).has_value());
  EXPECT_THROW(repo.update(head, {{"name", "x"}}), evcs::NotFound);
  s.rollback();
  auto restored = repo.restore(head);
  EXPECT_EQ(restored.fields["name"], "v2");
  EXPECT_EQ(restored.version, 4);
  s.commit();
  auto reverted = repo.revert(head, 1);
  EXPECT_EQ(reverted.version, 5);
  EXPECT_EQ(reverted.fields["name"], "v1");
  s.commit();
  EXPECT_EQ(repo.history(head).size(), 5u);
  EXPECT_THROW(repo.revert(head, 99), evcs::NotFound);
  EXPECT_THROW(repo.revert(head, std::nullopt), evcs::InvalidArgument);
}

TEST_F(VersioningTest, FindCountExistsWithStructuredFilters) {
  auto s = session();
  auto repo = s.repository("project");
  repo.create({{"name", "alpha"}, {"budget", 50}, {"status", "active"}});
  repo.create({{"name", "beta"}, {"budget", 150}, {"status", "active"}});
  repo.create({{"name", "gamma"}, {"budget", 300}, {"status", "closed"}});
  auto delta = repo.create({{"name", "delta"}, {"budget", 500}}).head_id;
  s.commit();
  auto before_delete = repo.history(delta).back().valid_from;
  repo.remove(delta);
  s.commit();

  evcs::FindOptions active;
  active.where = {{"status", "active"}, {"budget", {{"gt", 100}}}};
  auto found = repo.find(active);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].fields["name"], "beta");

  evcs::FindOptions either;
  either.where = {{"or", {{{"status", "closed"}}, {{"name", {{"in", {"alpha", "zeta"}}}}}}}};
  either.order_by = {"-budget"};
  auto names = repo.find(either);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].fields["name"], "gamma");
  EXPECT_EQ(names[1].fields["name"], "alpha");

  evcs::FindOptions paged;
  paged.order_by = {"name"};
  paged.limit = 2;
  paged.offset = 1;
  auto page = repo.find(paged);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].fields["name"], "beta");
  EXPECT_EQ(page[1].fields["name"], "gamma");

  evcs::FindOptions no_status;
  no_status.where = {{"not", {{"status", {{"is_null", false}}}}}};
  EXPECT_EQ(repo.count(no_status), 0) << "delta, the only one without status, is deleted";
  no_status.as_of = before_delete;
  EXPECT_EQ(repo.count(no_status), 1) << "but it existed before";
  EXPECT_EQ(repo.count(), 3);

  evcs::FindOptions hostile;
  hostile.where = {{"name", "x' OR '1'='1"}};
  EXPECT_FALSE(repo.exists(hostile));
  evcs::FindOptions like;
  like.where = {{"name", {{"like", "%mm%"}}}};
  EXPECT_TRUE(repo.exists(like));

  evcs::FindOptions unknown_field;
  unknown_field.where = {{"nmae", "alpha"}};
  EXPECT_THROW(repo.find(unknown_field), evcs::InvalidArgument);
  evcs::FindOptions unknown_operator;
  unknown_operator.where = {{"budget", {{"between", 1}}}};
  EXPECT_THROW(repo.find(unknown_operator), evcs::InvalidArgument);
  evcs::FindOptions injected_order;
  injected_order.order_by = {"name; DROP TABLE project"};
  EXPECT_THROW(repo.find(injected_order), evcs::InvalidArgument);
}

TEST_F(VersioningTest, BadInputIsRefusedAndWritesNothing) {
  auto s = session();
  EXPECT_THROW(s.repository("no_such_type"), evcs::NotFound);
  EXPECT_THROW(s.repository("project; DROP TABLE x"), evcs::InvalidArgument);
  s.rollback();
  auto repo = s.repository("project");
  EXPECT_THROW(repo.create({{"nmae", "typo"}}), evcs::InvalidArgument);
  EXPECT_THROW(repo.create({{"version", 7}}), evcs::InvalidArgument);
  try {
    repo.create({{"name", "x"}, {"budget", "not a number"}});
    FAIL() << "a wrong value type must be refused";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.sqlstate(), "22P02");
  }
  s.rollback();
  EXPECT_THROW(repo.create({{"budget", 1}}), evcs::IntegrityError) << "name is not null";
  s.rollback();
  EXPECT_THROW(repo.update("not-a-uuid", {{"name", "x"}}), evcs::InvalidArgument);
  s.rollback();
  EXPECT_THROW(repo.update("00000000-0000-0000-0000-000000000000", {{"name", "x"}}),
               evcs::NotFound);
  s.rollback();
  EXPECT_EQ(s.scalar<std::int64_t>("SELECT count(*) FROM project_version").value(), 0);

  EXPECT_THROW(s.create_entity_type("Bad-Name", {}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("evcs_commit", {}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("ok", {{"valid_from", "text"}}), evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("ok", {{"x", "text); DROP TABLE project; --"}}),
               evcs::InvalidArgument);
  EXPECT_THROW(s.create_entity_type("ok", {{"x", "no_such_type"}}), evcs::InvalidArgument);
  s.rollback();
  EXPECT_THROW(s.create_entity_type("project", {{"x", "text"}}), evcs::InvalidArgument);
}

TEST(VersionText, IsTheVersionAsJsonWithSortedKeys) {
  evcs::Version bare;
  bare.head_id = "123e4567-e89b-12d3-a456-426614174000";
  bare.branch = "main";
  bare.version = 1;
  bare.valid_from = 1732500000123456;
  EXPECT_EQ(bare.to_json_text(),
            "{\"author\":\"\",\"branch\":\"main\",\"changed\":[],\"deleted\":false,\"fields\":{},"
            "\"head_id\":\"123e4567-e89b-12d3-a456-426614174000\",\"merged_from\":null,"
            "\"parent_branch\":null,\"parent_version\":null,\"previous\":{},"
            "\"valid_from\":1732500000123456,"
            "\"valid_to\":null,\"version\":1}");

  evcs::Version full = bare;
  full.branch = "feature \"x\"\\y";
  full.version = 7;
  full.valid_to = 1732500000999999;
  full.deleted = true;
  full.author = "zoë\t\n";
  full.parent_branch = "main";
  full.parent_version = 3;
  full.merged_from = "other";
  full.fields = {{"title", "naïve \"quote\""}, {"budget", "12.50"}, {"tags", {"a", nullptr}},
                 {"meta", {{"nested", {1, 2.5, true}}}}, {"none", nullptr}};
  full.changed = {"budget", "title"};
  EXPECT_EQ(full.to_json_text(),
            "{\"author\":\"zoë\\t\\n\",\"branch\":\"feature \\\"x\\\"\\\\y\","
            "\"changed\":[\"budget\",\"title\"],\"deleted\":true,"
            "\"fields\":{\"budget\":\"12.50\",\"meta\":{\"nested\":[1,2.5,true]},\"none\":null,"
            "\"tags\":[\"a\",null],\"title\":\"naïve \\\"quote\\\"\"},"
            "\"head_id\":\"123e4567-e89b-12d3-a456-426614174000\",\"merged_from\":\"other\","
            "\"parent_branch\":\"main\",\"parent_version\":3,\"previous\":{},"
            "\"valid_from\":1732500000123456,"
            "\"valid_to\":1732500000999999,\"version\":7}");
  EXPECT_EQ(full.to_json().dump(), full.to_json_text());
  EXPECT_EQ(full.to_json()["parent_version"], 3);
}

} // namespace

// Version::to_json_text writes the record by hand; it must be exactly what nlohmann writes for
// the same record, whatever the strings hold.
TEST(VersionJson, TheTextIsWhatNlohmannWritesForTheSameRecord) {
  const std::string tricky = "q\"uote b\\ack \b\f\n\r\t \x01\x1f \x7f é ✓ 𝄞 </script>";
  evcs::Version version;
  version.head_id = "8d2c0b1e-5d4f-4c1a-9a51-2f3b8c7d6e10";
  version.branch = "feature.x-1";
  version.version = 42;
  version.valid_from = -62135596800000000;
  version.valid_to = INT64_MAX;
  version.deleted = true;
  version.author = tricky;
  version.parent_branch = "main";
  version.parent_version = 7;
  version.fields = {{"a", tricky}, {"b", 1.5}, {"c", nullptr}, {"d", {1, "x", {{"k", tricky}}}},
                    {"e", -9007199254740993}, {"f", false}, {"g", nlohmann::json::object()}};
  version.changed = {"a", tricky};
  version.previous = {{"a", {tricky, 2}}, {tricky, nullptr}};
  nlohmann::json expected = {{"author", version.author},
                             {"branch", version.branch},
                             {"changed", version.changed},
                             {"deleted", true},
                             {"fields", version.fields},
                             {"head_id", version.head_id},
                             {"merged_from", nullptr},
                             {"parent_branch", "main"},
                             {"parent_version", 7},
                             {"previous", version.previous},
                             {"valid_from", version.valid_from},
                             {"valid_to", INT64_MAX},
                             {"version", 42}};
  EXPECT_EQ(version.to_json_text(), expected.dump());
  version.merged_from = "other";
  version.valid_to.reset();
  version.parent_branch.reset();
  version.parent_version.reset();
  version.changed.clear();
  version.previous = nlohmann::json::object();
  expected["merged_from"] = "other";
  expected["previous"] = nlohmann::json::object();
  expected["valid_to"] = nullptr;
  expected["parent_branch"] = nullptr;
  expected["parent_version"] = nullptr;
  expected["changed"] = nlohmann::json::array();
  EXPECT_EQ(version.to_json_text(), expected.dump());
}

namespace {

std::string joined_json(const std::vector<evcs::Version> &versions) {
  std::string out = "[";
  for (const auto &version : versions) out += (out.size() > 1 ? "," : "") + version.to_json_text();
  return out + "]";
}

} // namespace

// find_json writes the records straight from the rows; it must be byte for byte what find()'s
// versions write, for every column type, NULLs, branches, past instants and every option.
TEST_F(VersioningTest, FindJsonIsExactlyTheTextOfFindsVersions) {
  auto s = session();
  s.create_entity_type("every_type", {{"zeta", "text"},
                                      {"count", "integer"},
                                      {"big", "bigint"},
                                      {"ratio", "double precision"},
                                      {"flag", "boolean"},
                                      {"amount", "numeric"},
                                      {"ref", "uuid"},
                                      {"due", "timestamptz"},
                                      {"day", "date"},
                                      {"raw", "bytea"},
                                      {"doc", "jsonb"},
                                      {"labels", "text[]"},
                                      {"scores", "int[]"},
                                      {"alpha", "text"}});
  s.commit();
  auto repo = s.repository("every_type");
  const std::string tricky = "q\"uote b\\ack \n\t \x01 é ✓ 𝄞";
  auto first = repo.create({{"zeta", tricky},
                            {"count", -2147483647 - 1},
                            {"big", 9007199254740993},
                            {"ratio", 0.1},
                            {"flag", true},
                            {"amount", "1e-20"},
                            {"ref", "8d2c0b1e-5d4f-4c1a-9a51-2f3b8c7d6e10"},
                            {"due", "2024-02-29 23:59:59.999999+00"},
                            {"day", "0044-03-15 BC"},
                            {"raw", "\\x00ff"},
                            {"doc", {{"k", {1, "x", nullptr}}, {"t", tricky}}},
                            {"labels", {"a", tricky, nullptr}},
                            {"scores", {{1, 2}, {3, 4}}},
                            {"alpha", "declared last, written first"}});
  repo.create({{"ratio", 1e300}, {"count", 0}});
  repo.create({{"ratio", 100000.0}, {"flag", false}});
  s.commit();
  std::int64_t before_update = repo.get(first.head_id)->valid_from;
  repo.update(first.head_id, {{"ratio", nlohmann::json(std::nan(""))}, {"zeta", nullptr}});
  s.create_branch("side");
  s.commit();
  auto side = engine_->session("side", "bob");
  auto side_repo = side.repository("every_type");
  side_repo.create({{"zeta", "only on the branch"}});
  side.commit();

  std::vector<evcs::FindOptions> cases(6);
  cases[1].as_of = before_update;
  cases[2].branch = "side";
  cases[3].where = {{"flag", false}};
  cases[4].order_by = {"-ratio"};
  cases[4].limit = 2;
  cases[4].offset = 1;
  cases[5].where = {{"zeta", tricky}};
  cases[5].as_of = before_update;
  for (std::size_t index = 0; index < cases.size(); ++index) {
    std::string expected = joined_json(repo.find(cases[index]));
    EXPECT_EQ(repo.find_json(cases[index]), expected) << "case " << index;
    EXPECT_GT(expected.size(), 2u) << "case " << index << " finds something";
  }
  EXPECT_EQ(side_repo.find_json(), joined_json(side_repo.find()));
}
