// Versioned entities on main: the storage model, commit stamps, the repository operations, and
// keyset pagination (pages concatenate to the unpaged read, the first page pins an instant, foreign
// or edited cursors are refused).
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

// ---- keyset pagination: find, history and versions in pages --------------------------------

// `count` projects to page through: status cycles through three values and NULL, budget through
// 1..4 with NULL every fifth, so every order has duplicates and NULLs.
std::vector<std::string> create_projects(evcs::Session &s, int count) {
  auto repo = s.repository("project");
  std::vector<std::string> ids;
  const json statuses = {"open", "done", nullptr, "blocked"};
  for (int index = 0; index < count; ++index) {
    json values = {{"name", "project " + std::to_string(index)},
                   {"status", statuses[static_cast<std::size_t>(index % 4)]},
                   {"budget", index % 5 == 0 ? json(nullptr) : json(index % 5)},
                   {"tags", json::array({"t" + std::to_string(index % 2)})}};
    ids.push_back(repo.create(values).head_id);
  }
  s.commit("projects");
  return ids;
}

// Every page of `options` with `limit`, concatenated; `pages` (if given) counts them.
std::vector<evcs::Version> walk(evcs::Repository &repo, evcs::FindOptions options,
                                std::int64_t limit, std::size_t *pages = nullptr) {
  options.limit = limit;
  std::vector<evcs::Version> all;
  std::size_t count = 0;
  for (;;) {
    evcs::VersionPage page = repo.find_page(options);
    ++count;
    EXPECT_LE(page.versions.size(), static_cast<std::size_t>(limit));
    all.insert(all.end(), page.versions.begin(), page.versions.end());
    if (!page.cursor) break;
    EXPECT_EQ(page.versions.size(), static_cast<std::size_t>(limit));
    options.after = page.cursor;
  }
  if (pages != nullptr) *pages = count;
  return all;
}

std::vector<std::string> ids_of(const std::vector<evcs::Version> &versions) {
  std::vector<std::string> ids;
  for (const auto &version : versions) ids.push_back(version.head_id);
  return ids;
}

// Asserts that `call` throws InvalidArgument with `sqlstate` and a message containing `text`.
template <typename Call>
void expect_invalid(Call call, const std::string &sqlstate, const std::string &text) {
  try {
    call();
    ADD_FAILURE() << "expected InvalidArgument: " << text;
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.code(), evcs::ErrorCode::invalid_argument);
    EXPECT_EQ(error.sqlstate(), sqlstate) << error.what();
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos) << error.what();
  }
}

TEST_F(VersioningTest, PagesByHeadIdConcatenateToTheUnpagedFind) {
  auto s = session();
  create_projects(s, 25);
  auto repo = s.repository("project");
  std::size_t pages = 0;
  auto paged = walk(repo, {}, 10, &pages);
  EXPECT_EQ(pages, 3u);
  EXPECT_EQ(ids_of(paged), ids_of(repo.find()));
  EXPECT_EQ(paged.size(), 25u);

  evcs::FindOptions exact;
  exact.limit = 25;
  EXPECT_FALSE(repo.find_page(exact).cursor) << "no row follows: no cursor";
  exact.limit = 0;
  auto empty = repo.find_page(exact);
  EXPECT_TRUE(empty.versions.empty());
  EXPECT_FALSE(empty.cursor) << "a page of nothing has no last row to continue from";
  EXPECT_FALSE(repo.find_page({}).cursor) << "no limit: everything, no cursor";
}

TEST_F(VersioningTest, MixedDirectionsNullsAndDuplicatesKeepTheUnpagedOrder) {
  auto s = session();
  create_projects(s, 37);
  auto repo = s.repository("project");
  const std::vector<std::vector<std::string>> orders = {
      {"status"},           {"-status"},    {"budget", "-name"}, {"-budget", "status"},
      {"-status", "-budget"}, {"tags", "name"}, {"valid_to", "-budget"}, {"-head_id"}};
  for (const auto &order : orders) {
    for (std::int64_t limit : {1, 4, 36}) {
      evcs::FindOptions options;
      options.order_by = order;
      EXPECT_EQ(ids_of(walk(repo, options, limit)), ids_of(repo.find(options)))
          << json(order).dump() << " limit " << limit;
    }
  }
  evcs::FindOptions filtered;
  filtered.where = {{"status", {{"ne", "done"}}}};
  filtered.order_by = {"-budget"};
  EXPECT_EQ(ids_of(walk(repo, filtered, 3)), ids_of(repo.find(filtered)));
}

TEST_F(VersioningTest, TheFirstPagePinsTheInstantEveryLaterPageReads) {
  auto s = session();
  auto ids = create_projects(s, 30);
  auto repo = s.repository("project");
  const auto before = repo.find();

  evcs::FindOptions options;
  options.limit = 7;
  auto page = repo.find_page(options);
  std::vector<evcs::Version> walked = page.versions;

  // Another session creates, updates and deletes entities the walk has not reached yet (and
  // some it has), and commits.
  auto writer = session();
  auto written = writer.repository("project");
  for (const auto &version : before) {
    if (version.fields["budget"] == "2.00") written.update(version.head_id, {{"name", "changed"}});
    if (version.fields["budget"] == "3.00") written.remove(version.head_id);
  }
  for (int index = 0; index < 10; ++index) written.create({{"name", "new"}});
  writer.commit("meanwhile");

  while (page.cursor) {
    options.after = page.cursor;
    page = repo.find_page(options);
    walked.insert(walked.end(), page.versions.begin(), page.versions.end());
  }
  ASSERT_EQ(walked.size(), before.size()) << "each entity of the pinned instant exactly once";
  for (std::size_t index = 0; index < walked.size(); ++index) {
    EXPECT_EQ(walked[index].head_id, before[index].head_id);
    EXPECT_EQ(walked[index].fields, before[index].fields) << "as it was at the pinned instant";
    EXPECT_EQ(walked[index].version, before[index].version);
  }
  EXPECT_EQ(repo.find().size(), 30u - 6u + 10u) << "the present did change";
}

TEST_F(VersioningTest, APagedReadLeavesOutTheTransactionsOwnUncommittedVersions) {
  auto s = session();
  create_projects(s, 3);
  auto repo = s.repository("project");
  repo.create({{"name", "not committed yet"}});
  EXPECT_EQ(repo.find().size(), 4u) << "an unpaged read of the present sees it";
  std::size_t pages = 0;
  EXPECT_EQ(walk(repo, {}, 2, &pages).size(), 3u) << "pages read as of the last commit";
  EXPECT_EQ(pages, 2u);
  s.commit("now committed");
  EXPECT_EQ(walk(repo, {}, 2).size(), 4u);
}

TEST_F(VersioningTest, AsOfAndAsOfCommitArePinnedAsGiven) {
  auto s = session();
  create_projects(s, 12);
  auto repo = s.repository("project");
  auto tagged = s.commit_log().front();
  s.tag("paging-twelve", tagged.id);
  const auto then = repo.find();
  create_projects(s, 5);

  evcs::FindOptions at_instant;
  at_instant.as_of = tagged.stamp;
  EXPECT_EQ(ids_of(walk(repo, at_instant, 5)), ids_of(then));

  evcs::FindOptions at_commit;
  at_commit.as_of_commit = "paging-twelve";
  EXPECT_EQ(ids_of(walk(repo, at_commit, 5)), ids_of(then));

  // A later page may repeat the first page's as_of, or leave it out.
  at_instant.limit = 5;
  auto first = repo.find_page(at_instant);
  evcs::FindOptions next;
  next.limit = 5;
  next.after = first.cursor;
  auto without = repo.find_page(next);
  next.as_of = tagged.stamp;
  EXPECT_EQ(ids_of(repo.find_page(next).versions), ids_of(without.versions));
}

TEST_F(VersioningTest, ABranchReadsThroughToItsParentPageByPage) {
  auto s = session();
  auto ids = create_projects(s, 9);
  s.create_branch("paging-feature");
  s.commit();
  auto on_feature = engine_->session("paging-feature", "bob");
  auto repo = on_feature.repository("project");
  repo.update(ids[4], {{"status", "feature"}});
  repo.create({{"name", "feature only"}});
  on_feature.commit("feature work");
  evcs::FindOptions options;
  options.order_by = {"status"};
  auto paged = walk(repo, options, 2);
  EXPECT_EQ(ids_of(paged), ids_of(repo.find(options)));
  EXPECT_EQ(paged.size(), 10u);
}

TEST_F(VersioningTest, ForeignEditedAndMalformedCursorsAreRefused) {
  auto s = session();
  create_projects(s, 6);
  s.create_branch("paging-other");
  s.commit();
  auto repo = s.repository("project");
  evcs::FindOptions first;
  first.limit = 2;
  first.order_by = {"-budget"};
  first.where = {{"name", {{"like", "project%"}}}};
  const std::string cursor = *repo.find_page(first).cursor;

  auto next_with = [&](auto change) {
    return [&, change] {
      evcs::FindOptions options = first;
      options.after = cursor;
      change(options);
      repo.find_page(options);
    };
  };
  const std::string invalid_cursor = "EVK01";
  expect_invalid(next_with([](evcs::FindOptions &o) { o.order_by = {"budget"}; }),
                 invalid_cursor, "order_by [\"-budget\"]");
  expect_invalid(next_with([](evcs::FindOptions &o) { o.where = nullptr; }), invalid_cursor,
                 "another where");
  expect_invalid(next_with([](evcs::FindOptions &o) { o.branch = "paging-other"; }), invalid_cursor,
                 "branch 'main', not 'paging-other'");
  expect_invalid(next_with([](evcs::FindOptions &o) { o.as_of = 1; }), invalid_cursor,
                 "it reads as of");
  expect_invalid(next_with([](evcs::FindOptions &o) { o.offset = 2; }), "",
                 "give offset or after");
  expect_invalid(next_with([&](evcs::FindOptions &o) { o.after = "garbage!"; }), invalid_cursor,
                 "not URL-safe base64");
  expect_invalid(next_with([&](evcs::FindOptions &o) { o.after = cursor.substr(0, 40); }),
                 invalid_cursor, "invalid cursor");
  expect_invalid(next_with([&](evcs::FindOptions &o) { o.after = ""; }), invalid_cursor,
                 "not a cursor's JSON");
  std::string edited = cursor;
  edited[20] = edited[20] == 'A' ? 'B' : 'A';
  expect_invalid(next_with([&](evcs::FindOptions &o) { o.after = edited; }), invalid_cursor,
                 "invalid cursor");

  evcs::HistoryOptions history;
  history.after = cursor;
  expect_invalid([&] { repo.history_page(repo.find().front().head_id, history); },
                 invalid_cursor, "it continues a find read, not a history");
  // Refusals are checked before anything is sent: the session's transaction is still usable.
  EXPECT_EQ(repo.find().size(), 6u);
}

TEST_F(VersioningTest, HistoryPagesAreTheHistoryOfThePinnedInstant) {
  auto s = session();
  auto id = create_projects(s, 1).front();
  auto repo = s.repository("project");
  for (int budget = 10; budget < 16; ++budget) {
    repo.update(id, {{"budget", budget}});
    s.commit();
  }
  const auto whole = repo.history(id);
  ASSERT_EQ(whole.size(), 7u);
  evcs::HistoryOptions options;
  options.limit = 3;
  auto page = repo.history_page(id, options);
  std::vector<evcs::Version> walked = page.versions;
  repo.update(id, {{"budget", 99}});
  s.commit("after the first page");
  while (page.cursor) {
    options.after = page.cursor;
    page = repo.history_page(id, options);
    walked.insert(walked.end(), page.versions.begin(), page.versions.end());
  }
  ASSERT_EQ(walked.size(), 7u) << "the version committed after the first page is not in it";
  for (std::size_t index = 0; index < walked.size(); ++index) {
    EXPECT_EQ(walked[index].version, whole[index].version);
    EXPECT_EQ(walked[index].changed, whole[index].changed);
    EXPECT_EQ(walked[index].previous, whole[index].previous);
  }
  EXPECT_EQ(repo.history(id).size(), 8u);

  auto other = create_projects(s, 1).front();
  options.after = repo.history_page(id, {std::nullopt, 2, std::nullopt}).cursor;
  expect_invalid([&] { repo.history_page(other, options); }, "EVK01", "another entity");
}

TEST_F(VersioningTest, VersionsPagesAreTheRangeAsOfThePinnedInstant) {
  auto s = session();
  auto ids = create_projects(s, 8);
  auto repo = s.repository("project");
  for (int round = 0; round < 2; ++round) {
    for (const auto &id : ids) repo.update(id, {{"budget", 100 + round}});
    s.commit();
  }
  evcs::VersionRange range;
  const auto whole = repo.versions(range);
  ASSERT_EQ(whole.size(), 24u);
  range.limit = 5;
  auto page = repo.versions_page(range);
  std::vector<evcs::Version> walked = page.versions;
  repo.update(ids[7], {{"budget", 7}});
  s.commit("after the first page");
  while (page.cursor) {
    range.after = page.cursor;
    page = repo.versions_page(range);
    walked.insert(walked.end(), page.versions.begin(), page.versions.end());
  }
  ASSERT_EQ(walked.size(), whole.size());
  for (std::size_t index = 0; index < walked.size(); ++index) {
    EXPECT_EQ(walked[index].head_id, whole[index].head_id);
    EXPECT_EQ(walked[index].version, whole[index].version);
  }
  range.mode = "between";
  expect_invalid([&] { repo.versions_page(range); }, "EVK01", "another range");
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
