// EVCS-aware DDL (docs/versioning.md, docs/migrations.md): adding, renaming and dropping a column of a versioned entity
// type keeps every version; the same changes as SQL functions inside migration steps.
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using json = nlohmann::json;

class EntityDdl : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_entity_ddl")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP VIEW IF EXISTS keep_reading");
    s.execute("DO $$ BEGIN IF to_regclass('evcs_entity_type') IS NOT NULL THEN "
              "PERFORM evcs_drop_entity_type(name) FROM evcs_entity_type; END IF; END $$");
    s.commit();
  }

  evcs::Session session() { return engine_->session("main", "alice"); }

  // The type's columns as the catalog records them: [[name, type], ...].
  json catalog_columns(evcs::Session &s, const std::string &type) {
    json columns = json::array();
    auto definition = s.scalar<std::string>(
        "SELECT columns::text FROM evcs_entity_type WHERE name = $1", evcs::Params::of(type));
    for (const auto &column : json::parse(definition.value()))
      columns.push_back({column.at("name"), column.at("type")});
    return columns;
  }

  // Column names of a relation, in order.
  std::vector<std::string> relation_columns(evcs::Session &s, const std::string &relation) {
    auto rows = s.execute("SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND "
                          "attnum > 0 AND NOT attisdropped ORDER BY attnum",
                          evcs::Params::of(relation));
    std::vector<std::string> names;
    for (std::int64_t row = 0; row < rows.rows(); ++row) names.push_back(rows.get_text(row, 0));
    return names;
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *EntityDdl::url_ = nullptr;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::int64_t micros(evcs::Session &s, const std::string &timestamp) {
  return s.scalar<std::int64_t>("SELECT (extract(epoch FROM $1::timestamptz) * 1000000)::bigint",
                                evcs::Params::of(timestamp))
      .value();
}

// Runs `load` with the version table's indexes, exclusion and foreign key set aside, then
// builds them again from their own definitions: one bulk build instead of a million inserts
// into each of them.
void with_constraints_rebuilt(evcs::Session &s, const std::string &table,
                              const std::function<void()> &load) {
  auto constraints = s.execute(
      "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint "
      "WHERE conrelid = $1::regclass AND contype IN ('p', 'x', 'f')",
      evcs::Params::of(table));
  auto indexes = s.execute(
      "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
      "WHERE indrelid = $1::regclass AND NOT EXISTS "
      "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
      evcs::Params::of(table));
  for (std::int64_t row = 0; row < indexes.rows(); ++row)
    s.execute("DROP INDEX " + indexes.get_text(row, 0));
  for (std::int64_t row = 0; row < constraints.rows(); ++row)
    s.execute("ALTER TABLE " + table + " DROP CONSTRAINT " + constraints.get_text(row, 0));
  load();
  for (std::int64_t row = 0; row < constraints.rows(); ++row)
    s.execute("ALTER TABLE " + table + " ADD CONSTRAINT " + constraints.get_text(row, 0) + " " +
              constraints.get_text(row, 1));
  for (std::int64_t row = 0; row < indexes.rows(); ++row) s.execute(indexes.get_text(row, 1));
}

// A fingerprint of every version row's identity and content: equal before and after a change
// means no version was lost, added or rewritten.
std::string history_fingerprint(evcs::Session &s, const std::string &content_columns) {
  return s.scalar<std::string>(
              "SELECT count(*) || '/' || sum(hashtext(concat_ws('|', head_id, branch, version, "
              "valid_from, valid_to, deleted, author, " + content_columns + "))::bigint) "
              "FROM ledger_version")
      .value();
}

// The volume test has a suite and a database of its own: ctest runs it as a process beside the
// rest of the program (tests/CMakeLists.txt).
class EntityDdlVolume : public EntityDdl {
protected:
  static void SetUpTestSuite() {
    url_ = new std::string(evcs_test::fresh_database("core_entity_ddl_volume"));
  }
};

TEST_F(EntityDdlVolume, ColumnChangesKeepTheHistoryOf100000EntitiesWith10VersionsEach) {
  auto s = session();
  s.create_entity_type("ledger", {{"name", "text not null"}, {"amount", "numeric(12,2)"},
                                  {"note", "text"}});
  s.commit();
  // Version v of every entity is valid for day v of 2020 (version 10 is still current).
  auto start = std::chrono::steady_clock::now();
  s.execute("INSERT INTO ledger (head_id) SELECT gen_random_uuid() FROM generate_series(1, 100000)");
  with_constraints_rebuilt(s, "ledger_version", [&] {
    s.execute("INSERT INTO ledger_version (head_id, branch, version, valid_from, valid_to, "
              "author, name, amount, note) "
              "SELECT h.head_id, 'main', v, '2020-01-01'::timestamptz + v * interval '1 day', "
              "CASE WHEN v < 10 THEN '2020-01-01'::timestamptz + (v + 1) * interval '1 day' END, "
              "'loader', 'entity ' || h.n, h.n + v / 100.0, 'note ' || v "
              "FROM (SELECT head_id, row_number() OVER (ORDER BY head_id) AS n FROM ledger) h, "
              "generate_series(1, 10) v");
  });
  s.commit();
  s.execute_autocommit("ANALYZE ledger_version");
  std::printf("[ figures  ] loading 100,000 entities x 10 versions: %.1f s\n", seconds_since(start));

  const std::string sample = s.scalar<std::string>("SELECT min(head_id::text) FROM ledger").value();
  const std::int64_t day_4 = micros(s, "2020-01-05 12:00:00+00");
  const std::string before = history_fingerprint(s, "name, amount, note");
  EXPECT_EQ(before.substr(0, before.find('/')), "1000000");

  start = std::chrono::steady_clock::now();
  s.add_column("ledger", {"priority", "int"});
  s.commit();
  std::printf("[ figures  ] add_column on 1,000,000 versions: %.3f s\n", seconds_since(start));
  EXPECT_EQ(history_fingerprint(s, "name, amount, note"), before);
  EXPECT_EQ(s.scalar<std::int64_t>("SELECT count(*) FROM ledger_version WHERE priority IS NOT NULL"),
            0);
  EXPECT_EQ(catalog_columns(s, "ledger"),
            json::parse(R"json([["name", "text not null"], ["amount", "numeric(12,2)"],
                            ["note", "text"], ["priority", "int"]])json"));
  auto repo = s.repository("ledger");
  auto past = repo.get(sample, day_4);
  ASSERT_TRUE(past.has_value());
  EXPECT_EQ(past->version, 4);
  EXPECT_EQ(past->fields, json({{"name", "entity 1"}, {"amount", "1.04"}, {"note", "note 4"},
                                {"priority", nullptr}}));
  auto updated = repo.update(sample, {{"priority", 7}});
  s.commit();
  EXPECT_EQ(updated.version, 11);
  auto history = repo.history(sample);
  ASSERT_EQ(history.size(), 11u);
  EXPECT_EQ(history[9].fields["priority"], nullptr);
  EXPECT_EQ(history[10].fields["priority"], 7);
  EXPECT_EQ(history[10].changed, std::vector<std::string>{"priority"});
  EXPECT_EQ(s.scalar<std::int64_t>("SELECT priority FROM ledger_current WHERE head_id = $1::uuid",
                                   evcs::Params::of(sample)),
            7);
  auto created = repo.create({{"name", "new"}, {"priority", 1}});
  s.commit();
  EXPECT_EQ(repo.get(created.head_id)->fields["priority"], 1);

  const std::string with_priority = history_fingerprint(s, "name, amount, note, priority");
  start = std::chrono::steady_clock::now();
  s.rename_column("ledger", "amount", "total");
  s.commit();
  std::printf("[ figures  ] rename_column on 1,000,011 versions: %.3f s\n", seconds_since(start));
  EXPECT_EQ(history_fingerprint(s, "name, total, note, priority"), with_priority);
  repo = s.repository("ledger");
  past = repo.get(sample, day_4);
  EXPECT_EQ(past->fields, json({{"name", "entity 1"}, {"total", "1.04"}, {"note", "note 4"},
                                {"priority", nullptr}}));
  EXPECT_EQ(repo.update(sample, {{"total", "2.50"}}).fields["total"], "2.50");
  s.commit();
  EXPECT_EQ(relation_columns(s, "ledger_current"),
            (std::vector<std::string>{"head_id", "version", "valid_from", "author", "name",
                                      "total", "note", "priority"}));

  const std::string without_note = history_fingerprint(s, "name, total, priority");
  start = std::chrono::steady_clock::now();
  s.drop_column("ledger", "note");
  s.commit();
  std::printf("[ figures  ] drop_column on 1,000,012 versions: %.3f s\n", seconds_since(start));
  EXPECT_EQ(history_fingerprint(s, "name, total, priority"), without_note);
  repo = s.repository("ledger");
  history = repo.history(sample);
  ASSERT_EQ(history.size(), 12u);
  EXPECT_EQ(history[3].fields, json({{"name", "entity 1"}, {"total", "1.04"}, {"priority", nullptr}}));
  EXPECT_EQ(repo.get(sample)->fields, json({{"name", "entity 1"}, {"total", "2.50"}, {"priority", 7}}));
  EXPECT_EQ(relation_columns(s, "ledger_current"),
            (std::vector<std::string>{"head_id", "version", "valid_from", "author", "name",
                                      "total", "priority"}));
}

TEST_F(EntityDdl, DefaultsApplyToEntitiesCreatedAfterTheChange) {
  auto s = session();
  s.create_entity_type("task", {{"title", "text"}});
  auto repo = s.repository("task");
  auto old = repo.create({{"title", "old"}});
  s.commit();

  s.add_column("task", {"status", "text"}, std::string("open"));
  s.add_column("task", {"weight", "int NOT NULL"}, std::string("5"));
  s.commit();
  repo = s.repository("task");
  // Nullable with a default: the versions before the change keep NULL. Not null: they get it.
  EXPECT_EQ(repo.get(old.head_id)->fields, json({{"title", "old"}, {"status", nullptr}, {"weight", 5}}));
  auto fresh = repo.create({{"title", "fresh"}});
  EXPECT_EQ(fresh.fields, json({{"title", "fresh"}, {"status", "open"}, {"weight", 5}}));
  EXPECT_EQ(repo.create({{"title", "given"}, {"status", "done"}, {"weight", 1}}).fields,
            json({{"title", "given"}, {"status", "done"}, {"weight", 1}}));
  EXPECT_EQ(repo.update(old.head_id, {{"title", "older"}}).fields,
            json({{"title", "older"}, {"status", nullptr}, {"weight", 5}}));
  s.commit();
  EXPECT_EQ(catalog_columns(s, "task"),
            json::parse(R"([["title", "text"], ["status", "text"], ["weight", "int not null"]])"));
}

TEST_F(EntityDdl, BranchesAndMergeWorkAcrossAColumnChange) {
  auto s = session();
  s.create_entity_type("doc", {{"body", "text"}});
  auto created = s.repository("doc").create({{"body", "v1"}});
  s.commit();
  s.create_branch("draft");
  s.commit();
  s.add_column("doc", {"reviewer", "text"});
  s.commit();

  auto draft = engine_->session("draft", "bob");
  auto on_draft = draft.repository("doc");
  auto branched = on_draft.update(created.head_id, {{"reviewer", "carol"}});
  EXPECT_EQ(branched.version, 1);
  EXPECT_EQ(branched.parent_branch, "main");
  EXPECT_EQ(branched.fields, json({{"body", "v1"}, {"reviewer", "carol"}}));
  draft.commit();
  auto merged = s.merge("draft");
  ASSERT_EQ(merged.changes.size(), 1u);
  EXPECT_EQ(s.repository("doc").get(created.head_id)->fields,
            json({{"body", "v1"}, {"reviewer", "carol"}}));
}

TEST_F(EntityDdl, RepositoriesSeeTheDefinitionTheirTransactionSees) {
  auto s = session();
  s.create_entity_type("note", {{"text", "text"}});
  s.commit();
  auto other = session();
  ASSERT_EQ(other.repository("note").create({{"text", "a"}}).fields, json({{"text", "a"}}));
  other.commit();

  s.add_column("note", {"pinned", "boolean"});
  EXPECT_TRUE(s.repository("note").create({{"text", "b"}, {"pinned", true}}).fields["pinned"]);
  // Not committed: another session's transaction still sees the old definition (checked
  // without touching the table, which the change keeps locked until it ends).
  evcs::FindOptions pinned;
  pinned.where = {{"pinned", true}};
  EXPECT_THROW(other.repository("note").find(pinned), evcs::InvalidArgument);
  other.rollback();
  s.rollback();
  auto after_rollback = s.repository("note");
  try {
    after_rollback.create({{"text", "d"}, {"pinned", true}});
    FAIL() << "the rolled-back column must be unknown";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.sqlstate(), "");
    EXPECT_NE(std::string(error.what()).find("'pinned' is not a field"), std::string::npos);
  }
  s.rollback();

  s.add_column("note", {"pinned", "boolean"});
  s.commit();
  EXPECT_EQ(other.repository("note").create({{"text", "e"}, {"pinned", false}}).fields,
            json({{"text", "e"}, {"pinned", false}}));
  other.commit();
}

TEST_F(EntityDdl, AWriteWithAColumnTheTypeNoLongerHasFails) {
  auto s = session();
  s.create_entity_type("item", {{"label", "text"}, {"size", "int"}});
  auto created = s.repository("item").create({{"label", "x"}, {"size", 1}});
  s.commit();
  s.drop_column("item", "size");
  s.commit();
  // What a client still holding the old definition sends: refused, not silently dropped.
  try {
    s.execute("SELECT * FROM item_evcs_write('update', $1::uuid, 'main', '{\"size\": 2}', NULL, 'x')",
              evcs::Params::of(created.head_id));
    FAIL() << "an unknown field must be refused";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(error.sqlstate(), "EVI01");
    EXPECT_NE(std::string(error.what()).find("unknown fields size of entity type item"),
              std::string::npos);
  }
  s.rollback();
}

TEST_F(EntityDdl, ARepositoryOpenedBeforeAColumnChangeSaysSoAndWritesNothing) {
  auto s = session();
  s.create_entity_type("item", {{"label", "text"}, {"size", "int"}});
  auto created = s.repository("item").create({{"label", "x"}, {"size", 1}});
  s.commit();
  auto stale_session = session();
  stale_session.set_autocommit(true);
  auto stale = stale_session.repository("item");
  s.rename_column("item", "size", "width");
  s.commit();
  const auto expect_changed_definition = [](const std::function<void()> &operation,
                                            const char *what) {
    try {
      operation();
      ADD_FAILURE() << what << " must fail";
    } catch (const evcs::InvalidArgument &error) {
      EXPECT_EQ(error.sqlstate(), "42703") << what;
      EXPECT_NE(std::string(error.what()).find("column"), std::string::npos) << what;
      EXPECT_NE(std::string(error.what())
                    .find("the definition of entity type 'item' changed since this repository "
                          "was opened; open it again (repository(\"item\"))"),
                std::string::npos)
          << what << ": " << error.what();
    }
  };
  expect_changed_definition([&] { stale.update(created.head_id, {{"label", "y"}}); }, "update");
  expect_changed_definition([&] { stale.get(created.head_id); }, "get");
  expect_changed_definition([&] { stale.find({}); }, "find");
  expect_changed_definition([&] { stale.create_many(json::array({{{"label", "z"}}})); },
                            "create_many");
  stale_session.begin();
  expect_changed_definition([&] { stale.remove(created.head_id); }, "remove in a transaction");
  stale_session.rollback();
  EXPECT_EQ(s.scalar<std::int64_t>("SELECT count(*) FROM item_version"), 1)
      << "nothing was written";

  // Other failures keep their own message.
  try {
    stale_session.execute("SELECT size FROM item_version");
    FAIL() << "no such column";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(std::string(error.what()).find("changed since"), std::string::npos) << error.what();
  }
  auto fresh = stale_session.repository("item");
  EXPECT_EQ(fresh.update(created.head_id, {{"width", 2}}).fields["width"], 2);
}

TEST_F(EntityDdl, BadColumnChangesFailAndChangeNothing) {
  auto s = session();
  s.create_entity_type("asset", {{"tag", "text"}, {"cost", "numeric"}});
  s.repository("asset").create({{"tag", "a"}});
  s.commit();
  const json columns = catalog_columns(s, "asset");
  const auto version_columns = relation_columns(s, "asset_version");
  const auto view_columns = relation_columns(s, "asset_current");
  s.rollback();

  auto expect_error = [&](const std::function<void()> &change, evcs::ErrorCode code,
                          const std::string &sqlstate, const std::string &message) {
    try {
      change();
      ADD_FAILURE() << "expected an error containing: " << message;
    } catch (const evcs::Error &error) {
      EXPECT_EQ(error.code(), code) << error.what();
      EXPECT_EQ(error.sqlstate(), sqlstate) << error.what();
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
    }
    // The transaction is still usable: checks run before anything is sent.
    EXPECT_EQ(catalog_columns(s, "asset"), columns);
  };
  using evcs::ErrorCode;
  expect_error([&] { s.add_column("nope", {"x", "text"}); }, ErrorCode::not_found, "EVN01",
               "unknown entity type 'nope'");
  expect_error([&] { s.drop_column("nope", "tag"); }, ErrorCode::not_found, "EVN01",
               "unknown entity type 'nope'");
  expect_error([&] { s.rename_column("nope", "tag", "label"); }, ErrorCode::not_found, "EVN01",
               "unknown entity type 'nope'");
  expect_error([&] { s.add_column("asset; DROP TABLE asset", {"x", "text"}); },
               ErrorCode::invalid_argument, "EVI01", "invalid entity type name");
  expect_error([&] { s.drop_column("asset", "nope"); }, ErrorCode::not_found, "EVN01",
               "entity type 'asset' has no column 'nope'");
  expect_error([&] { s.rename_column("asset", "nope", "other"); }, ErrorCode::not_found, "EVN01",
               "entity type 'asset' has no column 'nope'");
  expect_error([&] { s.add_column("asset", {"Bad-Name", "text"}); }, ErrorCode::invalid_argument,
               "EVI01", "invalid column name 'Bad-Name'");
  expect_error([&] { s.add_column("asset", {"x\"; DROP TABLE asset; --", "text"}); },
               ErrorCode::invalid_argument, "EVI01", "invalid column name");
  expect_error([&] { s.add_column("asset", {"x", "int); DROP TABLE asset; --"}); },
               ErrorCode::invalid_argument, "EVI01", "has an invalid type");
  expect_error([&] { s.add_column("asset", {"x", "no_such_type"}); }, ErrorCode::invalid_argument,
               "EVI01", "column 'x' has an unknown type 'no_such_type'");
  expect_error([&] { s.add_column("asset", {"tag", "text"}); }, ErrorCode::invalid_argument,
               "EVI01", "entity type 'asset' already has a column 'tag'");
  expect_error([&] { s.add_column("asset", {"valid_to", "text"}); }, ErrorCode::invalid_argument,
               "EVI01", "column name 'valid_to' is reserved");
  expect_error([&] { s.rename_column("asset", "tag", "cost"); }, ErrorCode::invalid_argument,
               "EVI01", "entity type 'asset' already has a column 'cost'");
  expect_error([&] { s.rename_column("asset", "tag", "version"); }, ErrorCode::invalid_argument,
               "EVI01", "column name 'version' is reserved");
  expect_error([&] { s.rename_column("asset", "tag", "9lives"); }, ErrorCode::invalid_argument,
               "EVI01", "invalid column name '9lives'");
  expect_error([&] { s.rename_column("asset", "branch", "place"); }, ErrorCode::invalid_argument,
               "EVI01", "column 'branch' is evcs's version metadata");
  expect_error([&] { s.drop_column("asset", "valid_from"); }, ErrorCode::invalid_argument, "EVI01",
               "column 'valid_from' is evcs's version metadata");
  expect_error([&] { s.drop_column("asset", "head_id"); }, ErrorCode::invalid_argument, "EVI01",
               "column 'head_id' is evcs's version metadata");
  s.rollback();

  // Checks only the server can make abort the transaction; the rollback undoes everything.
  auto expect_server_error = [&](const std::function<void()> &change, const std::string &sqlstate,
                                 const std::string &message) {
    try {
      change();
      ADD_FAILURE() << "expected an error containing: " << message;
    } catch (const evcs::InvalidArgument &error) {
      EXPECT_EQ(error.sqlstate(), sqlstate) << error.what();
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
    }
    s.rollback();
    EXPECT_EQ(catalog_columns(s, "asset"), columns);
    EXPECT_EQ(relation_columns(s, "asset_version"), version_columns);
    EXPECT_EQ(relation_columns(s, "asset_current"), view_columns);
    s.rollback();
  };
  expect_server_error([&] { s.add_column("asset", {"owner", "text not null"}); }, "EVI01",
                      "column 'owner' of entity type 'asset' is not null but has no default");
  expect_server_error([&] { s.add_column("asset", {"rank", "int"}, std::string("high")); },
                      "22P02", "invalid input syntax for type integer");
  // A change that already ran in the transaction is undone with it.
  expect_server_error(
      [&] {
        s.add_column("asset", {"owner", "text"});
        s.rename_column("asset", "tag", "label");
        s.add_column("asset", {"rank", "int"}, std::string("high"));
      },
      "22P02", "invalid input syntax for type integer");

  // Objects that depend on a column stop a drop; PostgreSQL names them.
  s.execute("CREATE VIEW keep_reading AS SELECT cost FROM asset_version");
  s.commit();
  try {
    s.drop_column("asset", "cost");
    ADD_FAILURE() << "a column another view reads must not be dropped";
  } catch (const evcs::Error &error) {
    EXPECT_EQ(error.sqlstate(), "2BP01");
    EXPECT_NE(std::string(error.what()).find("view keep_reading depends on column cost"),
              std::string::npos)
        << error.what();
  }
  s.rollback();
  EXPECT_EQ(catalog_columns(s, "asset"), columns);
  EXPECT_EQ(relation_columns(s, "asset_current"), view_columns);
}

TEST_F(EntityDdl, TheSqlFunctionsCheckWhatTheyAreGiven) {
  auto s = session();
  auto expect_sql_error = [&](const std::string &sql, const std::string &sqlstate,
                              const std::string &message) {
    try {
      s.execute(sql);
      ADD_FAILURE() << sql;
    } catch (const evcs::Error &error) {
      EXPECT_EQ(error.sqlstate(), sqlstate) << error.what();
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
    }
    s.rollback();
  };
  s.branches();  // creates the catalog
  s.commit();
  expect_sql_error("SELECT evcs_create_entity_type('Bad', '[]')", "EVI01",
                   "invalid entity type name 'Bad'");
  expect_sql_error("SELECT evcs_create_entity_type('evcs_x', '[]')", "EVI01",
                   "invalid entity type name 'evcs_x'");
  expect_sql_error("SELECT evcs_create_entity_type('t', '{\"a\": \"text\"}')", "EVI01",
                   "must be a JSON array");
  expect_sql_error("SELECT evcs_create_entity_type('t', '[[\"a\", \"text\"]]')", "EVI01",
                   "invalid column [\"a\", \"text\"]");
  expect_sql_error("SELECT evcs_create_entity_type('t', '[{\"name\": \"a\", \"type\": \"text\"}, "
                   "{\"name\": \"a\", \"type\": \"int\"}]')",
                   "EVI01", "column 'a' is given twice");
  expect_sql_error("SELECT evcs_create_entity_type('t', '[{\"name\": \"author\", \"type\": "
                   "\"text\"}]')",
                   "EVI01", "column name 'author' is reserved");
  expect_sql_error("SELECT evcs_create_entity_type('t', '[{\"name\": \"a\", \"type\": "
                   "\"text); DROP TABLE evcs_branch; --\"}]')",
                   "EVI01", "column 'a' has an invalid type");
  expect_sql_error("SELECT evcs_create_entity_type('t', '[{\"name\": \"a\", \"type\": "
                   "\"foo bar\"}]')",
                   "EVI01", "column 'a' has an unknown type 'foo bar'");
  expect_sql_error("SELECT evcs_add_column('nope', 'a', 'text')", "EVN01",
                   "unknown entity type 'nope'");
  expect_sql_error("SELECT evcs_drop_entity_type('nope')", "EVN01", "unknown entity type 'nope'");
  s.execute("SELECT evcs_create_entity_type('t', '[{\"name\": \"a\", \"type\": \"Text\"}, "
            "{\"name\": \"b\", \"type\": \"double   precision NOT NULL\"}]')");
  s.commit();
  EXPECT_EQ(catalog_columns(s, "t"),
            json::parse(R"([["a", "text"], ["b", "double precision not null"]])"));
  expect_sql_error("SELECT evcs_create_entity_type('t', '[]')", "EVI01",
                   "entity type 't' already exists");
  expect_sql_error("SELECT evcs_drop_column('t', 'valid_to')", "EVI01",
                   "column 'valid_to' is evcs's version metadata");
  expect_sql_error("SELECT evcs_rename_column('t', 'a', 'b')", "EVI01",
                   "entity type 't' already has a column 'b'");
  expect_sql_error("SELECT evcs_rename_column('t', 'zz', 'c')", "EVN01",
                   "entity type 't' has no column 'zz'");
  s.execute("SELECT evcs_drop_entity_type('t')");
  s.commit();
  EXPECT_FALSE(s.scalar<bool>("SELECT to_regclass('t_version') IS NOT NULL OR "
                              "to_regclass('t') IS NOT NULL OR to_regclass('t_current') IS NOT NULL "
                              "OR to_regprocedure('t_evcs_write(text,uuid,text,jsonb,int,text,text)')"
                              " IS NOT NULL OR EXISTS (SELECT 1 FROM evcs_entity_type)")
                   .value());
}

// The engine's own catalog migrations, as a project copies them into its migrations directory.
fs::path catalog_migrations() { return fs::path(__FILE__).parent_path() / ".." / ".." / "migrations"; }

TEST(EntityDdlMigrations, StepsCallingTheSqlFunctionsUpgradeDowngradeAndUpgradeAgain) {
  const std::string url = evcs_test::fresh_database("core_entity_ddl_migrations");
  char pattern[] = "/tmp/evcs-entity-ddl-XXXXXX";
  const fs::path directory = ::mkdtemp(pattern);
  // Every catalog step, as the project's first steps; the project's own steps come after.
  int catalog_steps = 0;
  for (const auto &entry : fs::directory_iterator(catalog_migrations())) {
    fs::copy_file(entry.path(), directory / entry.path().filename());
    if (entry.path().string().size() > 7 &&
        entry.path().string().compare(entry.path().string().size() - 7, 7, ".up.sql") == 0)
      ++catalog_steps;
  }
  char number[16];
  std::snprintf(number, sizeof number, "%04d", catalog_steps + 1);
  const std::string create_step = number;
  std::snprintf(number, sizeof number, "%04d", catalog_steps + 2);
  const std::string status_step = number;
  auto write = [&](const std::string &name, const std::string &content) {
    std::ofstream(directory / name, std::ios::binary) << content;
  };
  write(create_step + "_create_project.up.sql",
        "SELECT evcs_create_entity_type('project', '[{\"name\": \"name\", \"type\": \"text not "
        "null\"}, {\"name\": \"budget\", \"type\": \"numeric(14,2)\"}]');\n");
  write(create_step + "_create_project.down.sql", "SELECT evcs_drop_entity_type('project');\n");
  write(status_step + "_project_status.up.sql",
        "-- Projects get a status; the budget becomes the cost.\n"
        "SELECT evcs_add_column('project', 'status', 'text', 'active');\n"
        "SELECT evcs_rename_column('project', 'budget', 'cost');\n"
        "SELECT evcs_add_unique_key('project', ARRAY['name']);\n");
  write(status_step + "_project_status.down.sql",
        "SELECT evcs_drop_unique_key('project', ARRAY['name']);\n"
        "SELECT evcs_rename_column('project', 'cost', 'budget');\n"
        "SELECT evcs_drop_column('project', 'status');\n");

  auto engine = [&] {
    evcs::EngineOptions options;
    options.url = url;
    return evcs::Engine(options);
  };
  auto fields = [](evcs::Engine &db, const std::string &head_id) {
    auto s = db.session();
    auto history = s.repository("project").history(head_id);
    json all = json::array();
    for (const auto &version : history) all.push_back(version.fields);
    return all;
  };
  {
    auto db = engine();
    evcs::MigrationRunner runner(db, directory.string());
    EXPECT_EQ(runner.upgrade(create_step).size(), static_cast<std::size_t>(catalog_steps + 1));
    auto s = db.session("main", "alice");
    auto repo = s.repository("project");
    std::string head = repo.create({{"name", "bridge"}, {"budget", "100.00"}}).head_id;
    s.commit();
    repo.update(head, {{"budget", "150.00"}});
    s.commit();

    EXPECT_EQ(runner.upgrade().size(), 1u);
    EXPECT_EQ(fields(db, head), json::parse(R"([{"name": "bridge", "cost": "100.00", "status": null},
                                                {"name": "bridge", "cost": "150.00", "status": null}])"));
    auto created = s.repository("project").create({{"name", "tunnel"}});
    s.commit();
    EXPECT_EQ(created.fields, json({{"name", "tunnel"}, {"cost", nullptr}, {"status", "active"}}));

    EXPECT_EQ(runner.downgrade(create_step).size(), 1u);
    EXPECT_EQ(fields(db, head), json::parse(R"([{"name": "bridge", "budget": "100.00"},
                                                {"name": "bridge", "budget": "150.00"}])"));
    EXPECT_EQ(fields(db, created.head_id), json::parse(R"([{"name": "tunnel", "budget": null}])"));

    EXPECT_EQ(runner.upgrade().size(), 1u);
    EXPECT_EQ(fields(db, head), json::parse(R"([{"name": "bridge", "cost": "100.00", "status": null},
                                                {"name": "bridge", "cost": "150.00", "status": null}])"));
    s.repository("project").update(head, {{"status", "done"}});
    s.commit();
    EXPECT_EQ(fields(db, head).back(), json({{"name", "bridge"}, {"cost", "150.00"}, {"status", "done"}}));

    EXPECT_EQ(runner.downgrade("base").size(), static_cast<std::size_t>(catalog_steps + 2));
    auto check = db.session();
    EXPECT_FALSE(check.scalar<bool>("SELECT to_regclass('project_version') IS NOT NULL OR "
                                    "to_regclass('evcs_entity_type') IS NOT NULL OR "
                                    "to_regprocedure('evcs_add_column(text,text,text,text)') IS NOT NULL OR "
                                    "to_regprocedure('evcs_add_unique_key(text,text[])') IS NOT NULL")
                     .value());
  }
  {
    auto db = engine();
    evcs::MigrationRunner runner(db, directory.string());
    EXPECT_EQ(runner.upgrade().size(), static_cast<std::size_t>(catalog_steps + 2));
    auto s = db.session();
    auto created = s.repository("project").create({{"name", "again"}, {"cost", 1}});
    s.commit();
    EXPECT_EQ(created.fields, json({{"name", "again"}, {"cost", "1.00"}, {"status", "active"}}));
  }
  fs::remove_all(directory);
}

} // namespace
