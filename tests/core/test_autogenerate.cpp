// Autogenerate (docs/migrations.md) against a real server: each test on its own fresh database, the schema
// file and the generated steps in a scratch directory.
#include "evcs/autogenerate.hpp"
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

class Autogenerate : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("autogen_") + info->name();
    for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    evcs::EngineOptions options;
    options.url = evcs_test::fresh_database(name);
    engine_ = std::make_unique<evcs::Engine>(options);
    char pattern[] = "/tmp/evcs-autogen-XXXXXX";
    scratch_ = ::mkdtemp(pattern);
    schema_ = scratch_ + "/schema.json";
    migrations_ = scratch_ + "/migrations";
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(scratch_);
  }

  void schema(const std::string &content) { std::ofstream(schema_, std::ios::binary) << content; }
  void sql(const std::string &statement) {
    auto session = engine_->session();
    session.execute(statement);
    session.commit();
  }
  evcs::AutogenerateResult compare() { return evcs::compare_schema(*engine_, schema_); }
  evcs::AutogenerateResult generate(const std::string &message) {
    return evcs::autogenerate(*engine_, message, schema_, migrations_);
  }
  evcs::MigrationRunner runner() { return evcs::MigrationRunner(*engine_, migrations_); }
  static std::string read(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
  }
  std::size_t files_in_migrations() const {
    if (!fs::exists(migrations_)) return 0;
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(migrations_),
                                                  fs::directory_iterator()));
  }
  // Everything autogenerate compares, as the catalog reports it, in a stable order: tables,
  // columns (by name), constraints, indexes and entity types.
  std::string catalog_snapshot() {
    auto session = engine_->session();
    auto text = [&](const std::string &query) {
      evcs::Result rows = session.execute(query);
      std::string lines;
      for (std::int64_t row = 0; row < rows.rows(); ++row) {
        for (std::int64_t column = 0; column < rows.columns(); ++column)
          lines += (column == 0 ? "" : " | ") +
                   (rows.is_null(row, column) ? std::string("NULL") : rows.get_text(row, column));
        lines += "\n";
      }
      return lines;
    };
    std::string snapshot = text(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND "
        "d.adnum = a.attnum WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', "
        "'v') AND c.relname NOT LIKE 'evcs\\_%' ORDER BY 1, 2");
    snapshot += text("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM "
                     "pg_constraint WHERE connamespace = 'public'::regnamespace AND "
                     "conrelid::regclass::text NOT LIKE 'evcs\\_%' ORDER BY 1, 2");
    snapshot += text("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                     "JOIN pg_class ON pg_class.oid = indrelid WHERE relnamespace = "
                     "'public'::regnamespace AND relname NOT LIKE 'evcs\\_%' ORDER BY 1");
    // Column order is left out: PostgreSQL appends a column added back by a down step.
    snapshot += text("SELECT name, (SELECT jsonb_agg(c ORDER BY c ->> 'name') FROM "
                     "jsonb_array_elements(columns) c)::text, (SELECT jsonb_agg(k ORDER BY k::text) FROM "
                     "jsonb_array_elements(constraints -> 'unique') k), "
                     "(SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(constraints -> "
                     "'checks') k) FROM evcs_entity_type ORDER BY 1");
    return snapshot;
  }

  std::unique_ptr<evcs::Engine> engine_;
  std::string scratch_;
  std::string schema_;
  std::string migrations_;
};

// The declared schema used by several tests: an entity type and a table that references it.
const char *const customer_schema = R"json({
  "version": 1,
  "entity_types": {"project": {"columns": [{"name": "title", "type": "text not null"},
                                             {"name": "budget", "type": "numeric(14,2)"}]}},
  "tables": {
    "customer": {
      "columns": [{"name": "id", "type": "bigint"},
                  {"name": "email", "type": "varchar(200)", "nullable": false},
                  {"name": "status", "type": "text", "nullable": false, "default": "'active'"},
                  {"name": "project_id", "type": "uuid"}],
      "primary_key": ["id"],
      "indexes": [{"columns": ["email"], "unique": true},
                  {"name": "customer_lower_email", "columns": ["lower(email)"]}],
      "foreign_keys": [{"columns": ["project_id"],
                        "references": {"table": "project", "columns": ["head_id"]},
                        "on_delete": "cascade"}],
      "checks": [{"name": "customer_status_known",
                  "expression": "status IN ('active', 'closed')"}]
    }
  }
})json";

TEST_F(Autogenerate, WritesTheNextStepPairForANewSchema) {
  schema(customer_schema);
  auto result = generate("create customer");
  EXPECT_EQ(result.up_path, migrations_ + "/0001_create_customer.up.sql");
  EXPECT_EQ(result.down_path, migrations_ + "/0001_create_customer.down.sql");
  EXPECT_EQ(result.changes,
            (std::vector<std::string>{"add entity type project", "add table customer",
                                      "add foreign key customer.customer_project_id_fkey"}));
  EXPECT_TRUE(result.warnings.empty());
  EXPECT_EQ(read(result.up_path), result.up_sql);
  EXPECT_EQ(read(result.down_path), result.down_sql);
  EXPECT_EQ(result.up_sql,
            "-- create customer\n"
            "-- Generated by evcs migrate autogenerate from schema.json: review before applying.\n"
            "\n"
            "-- add entity type project\n"
            "SELECT evcs_create_entity_type('project', '[{\"name\":\"title\",\"type\":\"text not "
            "null\"},{\"name\":\"budget\",\"type\":\"numeric(14,2)\"}]'::jsonb);\n"
            "\n"
            "-- add table customer\n"
            "CREATE TABLE \"customer\" (\n"
            "    \"id\" bigint NOT NULL,\n"
            "    \"email\" character varying(200) NOT NULL,\n"
            "    \"status\" text DEFAULT 'active'::text NOT NULL,\n"
            "    \"project_id\" uuid,\n"
            "    CONSTRAINT \"customer_pkey\" PRIMARY KEY (\"id\"),\n"
            "    CONSTRAINT \"customer_status_known\" CHECK ((status = ANY (ARRAY['active'::text, "
            "'closed'::text])))\n"
            ");\n"
            "CREATE UNIQUE INDEX \"customer_email_idx\" ON \"customer\" USING btree (email);\n"
            "CREATE INDEX \"customer_lower_email\" ON \"customer\" USING btree "
            "(lower((email)::text));\n"
            "\n"
            "-- add foreign key customer.customer_project_id_fkey\n"
            "ALTER TABLE \"customer\" ADD CONSTRAINT \"customer_project_id_fkey\" FOREIGN KEY "
            "(\"project_id\") REFERENCES \"project\" (\"head_id\") ON DELETE CASCADE;\n");
  EXPECT_EQ(result.down_sql,
            "-- Reverts 0001_create_customer.up.sql (generated by evcs migrate autogenerate).\n"
            "\n"
            "-- revert: add foreign key customer.customer_project_id_fkey\n"
            "ALTER TABLE \"customer\" DROP CONSTRAINT \"customer_project_id_fkey\";\n"
            "\n"
            "-- revert: add table customer\n"
            "DROP TABLE \"customer\";\n"
            "\n"
            "-- revert: add entity type project\n"
            "SELECT evcs_drop_entity_type('project');\n");
}

TEST_F(Autogenerate, AfterUpgradeFindsNothingAndWritesNothing) {
  schema(customer_schema);
  generate("create customer");
  EXPECT_EQ(runner().upgrade().size(), 1u);
  auto again = generate("nothing new");
  EXPECT_FALSE(again.has_changes());
  EXPECT_TRUE(again.up_sql.empty());
  EXPECT_TRUE(again.up_path.empty());
  EXPECT_EQ(files_in_migrations(), 2u);
  // The step works: the entity type takes versions and the table references them.
  auto session = engine_->session();
  auto project = session.repository("project").create({{"title", "apollo"}});
  session.execute("INSERT INTO customer (id, email, project_id) VALUES (1, 'a@example.com', $1)",
                  evcs::Params::of(project.head_id));
  EXPECT_EQ(session.scalar<std::string>("SELECT status FROM customer").value(), "active");
  session.commit();
}

TEST_F(Autogenerate, OutputIsDeterministic) {
  schema(customer_schema);
  auto first = compare();
  auto second = compare();
  EXPECT_EQ(first.up_sql, second.up_sql);
  EXPECT_EQ(first.down_sql, second.down_sql);
  generate("create customer");
  fs::rename(migrations_, scratch_ + "/first");
  auto third = generate("create customer");
  EXPECT_EQ(read(third.up_path), read(scratch_ + "/first/0001_create_customer.up.sql"));
  EXPECT_EQ(read(third.down_path), read(scratch_ + "/first/0001_create_customer.down.sql"));
}

TEST_F(Autogenerate, ColumnsAddedDroppedRetypedAndNullability) {
  sql("CREATE TABLE item (id int PRIMARY KEY, name text, price numeric(10,2) NOT NULL, "
      "legacy text, note text DEFAULT 'x')");
  schema(R"json({"tables": {"item": {
    "columns": [{"name": "id", "type": "int"},
                {"name": "name", "type": "text", "nullable": false},
                {"name": "price", "type": "numeric(14,2)", "nullable": false, "default": "0"},
                {"name": "note", "type": "text"},
                {"name": "sku", "type": "text"}],
    "primary_key": ["id"]}}})json");
  auto result = compare();
  EXPECT_EQ(result.changes,
            (std::vector<std::string>{
                "add column item.sku text", "alter column item.name: nullable -> not null",
                "alter column item.price: type numeric(10,2) -> numeric(14,2), default none -> 0",
                "alter column item.note: default 'x'::text -> none", "drop column item.legacy"}));
  const std::string rename_warning =
      "table item: column legacy is dropped and sku is added with the same type text. If this is "
      "a rename, replace the two with ALTER TABLE \"item\" RENAME COLUMN \"legacy\" TO \"sku\" to "
      "keep the data";
  EXPECT_EQ(result.warnings, std::vector<std::string>{rename_warning});
  EXPECT_EQ(result.up_sql,
            "-- WARNING: " + rename_warning + "\n"
            "\n"
            "-- add column item.sku text\n"
            "ALTER TABLE \"item\" ADD COLUMN \"sku\" text;\n"
            "\n"
            "-- alter column item.name: nullable -> not null\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"name\" SET NOT NULL;\n"
            "\n"
            "-- alter column item.price: type numeric(10,2) -> numeric(14,2), default none -> 0\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"price\" TYPE numeric(14,2) USING "
            "\"price\"::numeric(14,2);\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"price\" SET DEFAULT 0;\n"
            "\n"
            "-- alter column item.note: default 'x'::text -> none\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"note\" DROP DEFAULT;\n"
            "\n"
            "-- drop column item.legacy\n"
            "ALTER TABLE \"item\" DROP COLUMN \"legacy\";\n");
  EXPECT_EQ(result.down_sql,
            "-- revert: drop column item.legacy\n"
            "ALTER TABLE \"item\" ADD COLUMN \"legacy\" text;\n"
            "\n"
            "-- revert: alter column item.note: default 'x'::text -> none\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"note\" SET DEFAULT 'x'::text;\n"
            "\n"
            "-- revert: alter column item.price: type numeric(10,2) -> numeric(14,2), default none "
            "-> 0\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"price\" DROP DEFAULT;\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"price\" TYPE numeric(10,2) USING "
            "\"price\"::numeric(10,2);\n"
            "\n"
            "-- revert: alter column item.name: nullable -> not null\n"
            "ALTER TABLE \"item\" ALTER COLUMN \"name\" DROP NOT NULL;\n"
            "\n"
            "-- revert: add column item.sku text\n"
            "ALTER TABLE \"item\" DROP COLUMN \"sku\";\n");
}

TEST_F(Autogenerate, IndexesForeignKeysAndChecks) {
  sql("CREATE TABLE parent (id int PRIMARY KEY)");
  sql("CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), qty int, "
      "CONSTRAINT child_qty_positive CHECK (qty > 0))");
  sql("CREATE INDEX child_qty_idx ON child (qty)");
  schema(R"json({"tables": {
    "parent": {"columns": [{"name": "id", "type": "int"}], "primary_key": ["id"]},
    "child": {"columns": [{"name": "id", "type": "int"}, {"name": "parent_id", "type": "int"},
                          {"name": "qty", "type": "int"}],
              "primary_key": ["id"],
              "checks": [{"name": "child_qty_positive", "expression": "qty >= 0"}],
              "indexes": [{"columns": ["parent_id", "qty desc"], "unique": true,
                           "where": "qty > 10"}],
              "foreign_keys": [{"columns": ["parent_id"],
                                "references": {"table": "parent", "columns": ["id"]},
                                "on_delete": "cascade"}]}}})json");
  auto result = compare();
  EXPECT_TRUE(result.warnings.empty());
  EXPECT_EQ(result.up_sql,
            "-- drop foreign key child.child_parent_id_fkey\n"
            "ALTER TABLE \"child\" DROP CONSTRAINT \"child_parent_id_fkey\";\n"
            "\n"
            "-- drop check child.child_qty_positive\n"
            "ALTER TABLE \"child\" DROP CONSTRAINT \"child_qty_positive\";\n"
            "\n"
            "-- drop index child.child_qty_idx\n"
            "DROP INDEX \"child_qty_idx\";\n"
            "\n"
            "-- add check child.child_qty_positive\n"
            "ALTER TABLE \"child\" ADD CONSTRAINT \"child_qty_positive\" CHECK ((qty >= 0));\n"
            "\n"
            "-- add index child.child_parent_id_qty_idx\n"
            "CREATE UNIQUE INDEX \"child_parent_id_qty_idx\" ON \"child\" USING btree (parent_id, "
            "qty DESC) WHERE (qty > 10);\n"
            "\n"
            "-- add foreign key child.child_parent_id_fkey\n"
            "ALTER TABLE \"child\" ADD CONSTRAINT \"child_parent_id_fkey\" FOREIGN KEY "
            "(\"parent_id\") REFERENCES \"parent\" (\"id\") ON DELETE CASCADE;\n");
  EXPECT_EQ(result.down_sql,
            "-- revert: add foreign key child.child_parent_id_fkey\n"
            "ALTER TABLE \"child\" DROP CONSTRAINT \"child_parent_id_fkey\";\n"
            "\n"
            "-- revert: add index child.child_parent_id_qty_idx\n"
            "DROP INDEX \"child_parent_id_qty_idx\";\n"
            "\n"
            "-- revert: add check child.child_qty_positive\n"
            "ALTER TABLE \"child\" DROP CONSTRAINT \"child_qty_positive\";\n"
            "\n"
            "-- revert: drop index child.child_qty_idx\n"
            "CREATE INDEX \"child_qty_idx\" ON \"child\" USING btree (qty);\n"
            "\n"
            "-- revert: drop check child.child_qty_positive\n"
            "ALTER TABLE \"child\" ADD CONSTRAINT \"child_qty_positive\" CHECK ((qty > 0));\n"
            "\n"
            "-- revert: drop foreign key child.child_parent_id_fkey\n"
            "ALTER TABLE \"child\" ADD CONSTRAINT \"child_parent_id_fkey\" FOREIGN KEY "
            "(\"parent_id\") REFERENCES \"parent\" (\"id\");\n");
}

TEST_F(Autogenerate, EntityTypesAndTablesAddedAndDropped) {
  {
    auto session = engine_->session();
    session.create_entity_type("task",
                               {{"title", "text not null"}, {"done", "boolean"}, {"old", "text"}});
    session.create_entity_type("legacy", {{"x", "int"}});
    session.commit();
  }
  sql("CREATE TABLE old_name (a int)");
  schema(R"json({"entity_types": {
    "task": {"columns": [{"name": "title", "type": "text not null"}, {"name": "done", "type": "int"},
                         {"name": "note", "type": "text"}]},
    "sprint": {"columns": [{"name": "goal", "type": "text"}]}},
    "tables": {"new_name": {"columns": [{"name": "a", "type": "integer"}]}}})json");
  auto result = generate("rework tasks");
  EXPECT_EQ(result.changes,
            (std::vector<std::string>{
                "drop table old_name", "drop entity type legacy", "add entity type sprint",
                "replace column task.done: type boolean -> integer (entity type)",
                "add column task.note text (entity type)", "drop column task.old (entity type)",
                "add table new_name"}));
  EXPECT_EQ(result.warnings,
            (std::vector<std::string>{
                "table old_name is dropped and table new_name is added with the same columns. If "
                "this is a rename, replace the two with ALTER TABLE \"old_name\" RENAME TO "
                "\"new_name\" to keep the data",
                "entity type task: column done changes (type boolean -> integer); versioned "
                "columns cannot be altered in place, so it is dropped and added again and its "
                "values in every version are lost. Edit the step if the data must be converted.",
                "entity type task: column old is dropped and note is added with the same type "
                "text. If this is a rename, replace the two with SELECT "
                "evcs_rename_column('task', 'old', 'note') to keep the data"}));
  const std::string up = read(result.up_path);
  const std::string body =
      "-- drop table old_name\n"
      "DROP TABLE \"old_name\";\n"
      "\n"
      "-- drop entity type legacy\n"
      "SELECT evcs_drop_entity_type('legacy');\n"
      "\n"
      "-- add entity type sprint\n"
      "SELECT evcs_create_entity_type('sprint', '[{\"name\":\"goal\",\"type\":\"text\"}]'::jsonb);\n"
      "\n"
      "-- replace column task.done: type boolean -> integer (entity type)\n"
      "SELECT evcs_drop_column('task', 'done');\n"
      "SELECT evcs_add_column('task', 'done', 'int');\n"
      "\n"
      "-- add column task.note text (entity type)\n"
      "SELECT evcs_add_column('task', 'note', 'text');\n"
      "\n"
      "-- drop column task.old (entity type)\n"
      "SELECT evcs_drop_column('task', 'old');\n"
      "\n"
      "-- add table new_name\n"
      "CREATE TABLE \"new_name\" (\n"
      "    \"a\" integer\n"
      ");\n";
  EXPECT_EQ(up.substr(up.size() - body.size()), body);
  EXPECT_NE(up.find("-- WARNING: table old_name is dropped"), std::string::npos);
  EXPECT_EQ(read(result.down_path),
            "-- Reverts 0001_rework_tasks.up.sql (generated by evcs migrate autogenerate).\n"
            "\n"
            "-- revert: add table new_name\n"
            "DROP TABLE \"new_name\";\n"
            "\n"
            "-- revert: drop column task.old (entity type)\n"
            "SELECT evcs_add_column('task', 'old', 'text');\n"
            "\n"
            "-- revert: add column task.note text (entity type)\n"
            "SELECT evcs_drop_column('task', 'note');\n"
            "\n"
            "-- revert: replace column task.done: type boolean -> integer (entity type)\n"
            "SELECT evcs_drop_column('task', 'done');\n"
            "SELECT evcs_add_column('task', 'done', 'boolean');\n"
            "\n"
            "-- revert: add entity type sprint\n"
            "SELECT evcs_drop_entity_type('sprint');\n"
            "\n"
            "-- revert: drop entity type legacy\n"
            "SELECT evcs_create_entity_type('legacy', '[{\"name\":\"x\",\"type\":\"int\"}]'::jsonb);\n"
            "\n"
            "-- revert: drop table old_name\n"
            "CREATE TABLE \"old_name\" (\n"
            "    \"a\" integer\n"
            ");\n");
  // The steps run: up, then nothing is left to do; down, and the first state is back.
  runner().stamp("base");
  std::string before = catalog_snapshot();
  runner().upgrade();
  EXPECT_FALSE(compare().has_changes());
  runner().downgrade("base");
  EXPECT_EQ(catalog_snapshot(), before);
}

// schema v1 -> step 1 -> upgrade; schema v2 with a change of every kind -> step 2 -> upgrade ->
// nothing left; downgrade one step -> exactly the schema of v1, which again matches v1's file.
TEST_F(Autogenerate, RoundTripUpgradeAgainAndDowngradeRestores) {
  schema(customer_schema);
  generate("create customer");
  runner().upgrade();
  std::string after_first = catalog_snapshot();
  sql("INSERT INTO customer (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com')");
  std::string v1 = read(schema_);
  schema(R"json({
    "version": 1,
    "entity_types": {
      "project": {"columns": [{"name": "title", "type": "text not null"},
                               {"name": "owner", "type": "text"}]},
      "milestone": {"columns": [{"name": "due", "type": "date not null"}]}
    },
    "tables": {
      "customer": {
        "columns": [{"name": "id", "type": "bigint"},
                    {"name": "email", "type": "text", "nullable": false},
                    {"name": "status", "type": "text", "default": "'new'"},
                    {"name": "score", "type": "int", "nullable": false, "default": "0"}],
        "primary_key": ["id"],
        "indexes": [{"name": "customer_email_idx", "columns": ["email"], "unique": true,
                     "where": "status <> 'closed'"},
                    {"columns": ["score desc"]}],
        "checks": [{"name": "customer_score_range", "expression": "score BETWEEN 0 AND 100"}]
      },
      "invoice": {
        "columns": [{"name": "id", "type": "bigint"},
                    {"name": "customer_id", "type": "bigint", "nullable": false},
                    {"name": "milestone_id", "type": "uuid"},
                    {"name": "amount", "type": "numeric(12,2)", "nullable": false}],
        "primary_key": ["id"],
        "foreign_keys": [{"columns": ["customer_id"],
                          "references": {"table": "customer", "columns": ["id"]}},
                         {"name": "invoice_milestone", "columns": ["milestone_id"],
                          "references": {"table": "milestone", "columns": ["head_id"]},
                          "on_delete": "set null", "on_update": "cascade"}],
        "checks": [{"name": "invoice_amount_positive", "expression": "amount > 0"}]
      }
    }
  })json");
  auto second = generate("second");
  EXPECT_EQ(fs::path(second.up_path).filename(), "0002_second.up.sql");
  EXPECT_EQ(runner().upgrade().size(), 1u);
  EXPECT_FALSE(compare().has_changes()) << compare().up_sql;
  EXPECT_EQ(files_in_migrations(), 4u);
  runner().downgrade("-1");
  EXPECT_EQ(catalog_snapshot(), after_first);
  schema(v1);
  auto restored = compare();
  EXPECT_FALSE(restored.has_changes()) << restored.up_sql;
}

// New entity types with references, unique keys and checks: each created with them, in the
// form evcs_create_entity_type takes, types referred to first; a reference cycle is closed once
// both exist.
TEST_F(Autogenerate, NewEntityTypesComeWithTheirRelations) {
  schema(R"json({"entity_types": {
    "asset": {"columns": [{"name": "tag", "type": "text not null"},
                          {"name": "zone_id", "references": "zone", "on_delete": "cascade"}],
              "unique": [["tag"]], "checks": {"tagged": "tag <> ''"}},
    "zone": {"columns": [{"name": "name", "type": "text"},
                         {"name": "keeper_id", "type": "uuid", "references": "keeper"}]},
    "keeper": {"columns": [{"name": "home_id", "references": "zone", "on_delete": "set null"}]}
  }})json");
  auto result = generate("assets");
  EXPECT_EQ(result.changes,
            (std::vector<std::string>{"add entity type keeper", "add entity type zone",
                                      "add entity type asset",
                                      "add reference keeper.home_id -> zone (on delete set null)"}));
  const std::string up = read(result.up_path);
  const std::string body =
      "-- add entity type keeper\n"
      "SELECT evcs_create_entity_type('keeper', '[{\"name\":\"home_id\",\"type\":\"uuid\"}]'::jsonb);\n"
      "\n"
      "-- add entity type zone\n"
      "SELECT evcs_create_entity_type('zone', '[{\"name\":\"name\",\"type\":\"text\"},"
      "{\"name\":\"keeper_id\",\"on_delete\":\"restrict\",\"references\":\"keeper\",\"type\":\"uuid\"}]'::jsonb);\n"
      "\n"
      "-- add entity type asset\n"
      "SELECT evcs_create_entity_type('asset', '[{\"name\":\"tag\",\"type\":\"text not null\"},"
      "{\"name\":\"zone_id\",\"on_delete\":\"cascade\",\"references\":\"zone\",\"type\":\"uuid\"}]'::jsonb, "
      "'{\"checks\":{\"tagged\":\"tag <> ''''\"},\"unique\":[[\"tag\"]]}'::jsonb);\n"
      "\n"
      "-- add reference keeper.home_id -> zone (on delete set null)\n"
      "SELECT evcs_add_reference('keeper', 'home_id', 'zone', 'set null');\n";
  EXPECT_EQ(up.substr(up.size() - body.size()), body);
  EXPECT_EQ(read(result.down_path),
            "-- Reverts 0001_assets.up.sql (generated by evcs migrate autogenerate).\n"
            "\n"
            "-- revert: add reference keeper.home_id -> zone (on delete set null)\n"
            "SELECT evcs_drop_reference('keeper', 'home_id');\n"
            "\n"
            "-- revert: add entity type asset\n"
            "SELECT evcs_drop_entity_type('asset');\n"
            "\n"
            "-- revert: add entity type zone\n"
            "SELECT evcs_drop_entity_type('zone');\n"
            "\n"
            "-- revert: add entity type keeper\n"
            "SELECT evcs_drop_entity_type('keeper');\n");
  runner().stamp("base");
  std::string before = catalog_snapshot();
  runner().upgrade();
  EXPECT_FALSE(compare().has_changes()) << compare().up_sql;
  {
    auto session = engine_->session();
    auto fields = session.repository("keeper").fields();
    EXPECT_EQ(fields[0].references, "zone");
    EXPECT_EQ(fields[0].on_delete, "set null");
  }
  // Dropping them all drops referrers first and breaks the cycle first; the down step brings
  // them back as they were.
  schema(R"json({"entity_types": {}})json");
  auto dropped = generate("no assets");
  EXPECT_EQ(dropped.changes,
            (std::vector<std::string>{"drop reference keeper.home_id -> zone",
                                      "drop entity type asset", "drop entity type zone",
                                      "drop entity type keeper"}));
  std::string with_assets = catalog_snapshot();
  runner().upgrade();
  runner().downgrade("-1");
  EXPECT_EQ(catalog_snapshot(), with_assets);
  runner().downgrade("base");
  EXPECT_EQ(catalog_snapshot(), before);
}

// An existing type's references, keys and checks change: each difference a step of its own,
// rules that go before the columns change and rules that come after.
TEST_F(Autogenerate, RelationsOfAnExistingTypeChange) {
  {
    auto session = engine_->session();
    session.create_entity_type("project", {{"title", "text"}});
    session.create_entity_type("person", {{"email", "text"}});
    session.create_entity_type("task",
                               {{"title", "text"},
                                {"project_id", "", "project", "restrict"},
                                {"owner_id", "uuid"},
                                {"helper_id", "", "person", "restrict"},
                                {"qty", "int"},
                                {"note", "text"}},
                               {{{"title"}, {"note"}}, {{"positive", "qty > 0"},
                                                        {"noted", "note <> ''"},
                                                        {"short", "length(title) < 100"}}});
    session.commit();
  }
  schema(R"json({"entity_types": {
    "project": {"columns": [{"name": "title", "type": "text"}]},
    "person": {"columns": [{"name": "email", "type": "text"}]},
    "task": {"columns": [{"name": "title", "type": "text"},
                         {"name": "project_id", "references": "project", "on_delete": "cascade"},
                         {"name": "owner_id", "references": "person", "on_delete": "set null"},
                         {"name": "helper_id", "type": "uuid"},
                         {"name": "qty", "type": "int"},
                         {"name": "reviewer_id", "references": "person"}],
             "unique": [["project_id", "title"]],
             "checks": {"positive": "(qty>0)", "short": "length(title) < 50",
                        "some": "qty IS NOT NULL"}}
  }})json");
  auto result = generate("task rules");
  EXPECT_EQ(result.changes,
            (std::vector<std::string>{
                "drop reference task.helper_id -> person", "drop unique key task (title)",
                "drop unique key task (note)", "drop check task.noted", "drop check task.short",
                "add column task.reviewer_id uuid (entity type)",
                "drop column task.note (entity type)",
                "alter reference task.project_id: on delete restrict -> cascade",
                "add reference task.owner_id -> person (on delete set null)",
                "add reference task.reviewer_id -> person (on delete restrict)",
                "add unique key task (project_id, title)", "add check task.short",
                "add check task.some"}));
  const std::string up = read(result.up_path);
  const std::string body =
      "-- drop reference task.helper_id -> person\n"
      "SELECT evcs_drop_reference('task', 'helper_id');\n"
      "\n"
      "-- drop unique key task (title)\n"
      "SELECT evcs_drop_unique_key('task', ARRAY['title']);\n"
      "\n"
      "-- drop unique key task (note)\n"
      "SELECT evcs_drop_unique_key('task', ARRAY['note']);\n"
      "\n"
      "-- drop check task.noted\n"
      "SELECT evcs_drop_check('task', 'noted');\n"
      "\n"
      "-- drop check task.short\n"
      "SELECT evcs_drop_check('task', 'short');\n"
      "\n"
      "-- add column task.reviewer_id uuid (entity type)\n"
      "SELECT evcs_add_column('task', 'reviewer_id', 'uuid');\n"
      "\n"
      "-- drop column task.note (entity type)\n"
      "SELECT evcs_drop_column('task', 'note');\n"
      "\n"
      "-- alter reference task.project_id: on delete restrict -> cascade\n"
      "SELECT evcs_alter_reference('task', 'project_id', 'cascade');\n"
      "\n"
      "-- add reference task.owner_id -> person (on delete set null)\n"
      "SELECT evcs_add_reference('task', 'owner_id', 'person', 'set null');\n"
      "\n"
      "-- add reference task.reviewer_id -> person (on delete restrict)\n"
      "SELECT evcs_add_reference('task', 'reviewer_id', 'person', 'restrict');\n"
      "\n"
      "-- add unique key task (project_id, title)\n"
      "SELECT evcs_add_unique_key('task', ARRAY['project_id', 'title']);\n"
      "\n"
      "-- add check task.short\n"
      "SELECT evcs_add_check('task', 'short', 'length(title) < 50');\n"
      "\n"
      "-- add check task.some\n"
      "SELECT evcs_add_check('task', 'some', 'qty IS NOT NULL');\n";
  EXPECT_EQ(up.substr(up.size() - body.size()), body);
  const std::string down = read(result.down_path);
  const std::string down_body =
      "-- revert: drop unique key task (title)\n"
      "SELECT evcs_add_unique_key('task', ARRAY['title']);\n"
      "\n"
      "-- revert: drop reference task.helper_id -> person\n"
      "SELECT evcs_add_reference('task', 'helper_id', 'person', 'restrict');\n";
  EXPECT_EQ(down.substr(down.size() - down_body.size()), down_body);
  EXPECT_NE(down.find("-- revert: drop check task.short\n"
                      "SELECT evcs_add_check('task', 'short', '(length(title) < 100)');\n"),
            std::string::npos)
      << down;
  runner().stamp("base");
  std::string before = catalog_snapshot();
  runner().upgrade();
  EXPECT_FALSE(compare().has_changes()) << compare().up_sql;
  runner().downgrade("base");
  EXPECT_EQ(catalog_snapshot(), before);
}

// A step that adds a rule the data breaks fails, naming the entity, and applies nothing.
TEST_F(Autogenerate, AStepAddingARuleTheDataBreaksIsRefused) {
  std::string twin;
  {
    auto session = engine_->session();
    session.create_entity_type("person", {{"email", "text"}});
    session.commit();
    session.repository("person").create({{"email", "a@x"}});
    twin = session.repository("person").create({{"email", "a@x"}}).head_id;
    session.commit();
  }
  schema(R"json({"entity_types": {"person": {"columns": [{"name": "email", "type": "text"}],
                                            "unique": [["email"]]}}})json");
  generate("unique email");
  runner().stamp("base");
  try {
    runner().upgrade();
    FAIL() << "the step must be refused";
  } catch (const evcs::Error &error) {
    std::string message = error.what();
    EXPECT_NE(message.find("cannot add the unique key (email) to person: person "),
              std::string::npos) << message;
    EXPECT_NE(message.find(twin), std::string::npos) << message;
  }
  EXPECT_FALSE(runner().current().has_value());
  EXPECT_TRUE(compare().has_changes());
}

// The schema as a JSON document rather than a file: the same comparison, errors naming it.
TEST_F(Autogenerate, TheSchemaMayBeGivenAsText) {
  const std::string document =
      R"json({"entity_types": {"note": {"columns": [{"name": "body", "type": "text"}],
                                        "checks": {"filled": "body <> ''"}}}})json";
  auto compared = evcs::compare_schema_text(*engine_, document);
  EXPECT_EQ(compared.changes, std::vector<std::string>{"add entity type note"});
  EXPECT_TRUE(compared.up_path.empty());
  auto written = evcs::autogenerate_from_text(*engine_, "notes", document, migrations_);
  EXPECT_EQ(fs::path(written.up_path).filename(), "0001_notes.up.sql");
  const std::string header =
      "-- notes\n-- Generated by evcs migrate autogenerate from schema: review before applying.";
  EXPECT_EQ(read(written.up_path).substr(0, header.size()), header);
  runner().upgrade();
  EXPECT_FALSE(evcs::compare_schema_text(*engine_, document).has_changes());
  try {
    evcs::compare_schema_text(*engine_, R"json({"entity_types": )json", "models");
    FAIL() << "expected InvalidArgument";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(std::string(error.what()).substr(0, 30), "models:1:18: not valid JSON: s");
  }
  try {
    evcs::compare_schema_text(*engine_, R"json({"entity_types": {"note": {"columns": [],
                                                "checks": {"x": "nope > 0"}}}})json", "models");
    FAIL() << "expected InvalidArgument";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(std::string(error.what()),
              "models: /entity_types/note/checks/x: column \"nope\" does not exist");
  }
}

TEST_F(Autogenerate, RefusesWhileStepsArePending) {
  schema(customer_schema);
  generate("create customer");
  try {
    generate("again");
    FAIL() << "expected MigrationError";
  } catch (const evcs::MigrationError &error) {
    EXPECT_EQ(std::string(error.what()),
              "the database is not up to date with " + migrations_ +
                  ": 1 step(s) not applied, from 0001_create_customer. Run `evcs migrate "
                  "upgrade` first, so the comparison does not repeat their changes.");
  }
  EXPECT_EQ(files_in_migrations(), 2u);
}

// ---- bad input: a clear error naming the file and where in it, and nothing written ----------

class AutogenerateBadInput : public Autogenerate {
protected:
  // The InvalidArgument message for `content`, after checking nothing was written or dropped.
  std::string error_for(const std::string &content) {
    sql("CREATE TABLE IF NOT EXISTS keep (id int)");
    schema(content);
    std::string message;
    try {
      generate("bad");
      ADD_FAILURE() << "expected InvalidArgument for " << content;
    } catch (const evcs::InvalidArgument &error) {
      message = error.what();
    }
    EXPECT_EQ(files_in_migrations(), 0u);
    auto session = engine_->session();
    EXPECT_TRUE(session.scalar<bool>("SELECT to_regclass('keep') IS NOT NULL").value());
    return message;
  }
};

TEST_F(AutogenerateBadInput, MalformedJsonNamesTheLine) {
  std::string message = error_for("{\"tables\": {\n  \"t\": {\"columns\": [}\n}");
  EXPECT_EQ(message, schema_ + ":2:21: not valid JSON: syntax error while parsing value - "
                               "unexpected '}'; expected '[', '{', or a literal");
}

TEST_F(AutogenerateBadInput, MissingFile) {
  try {
    evcs::compare_schema(*engine_, scratch_ + "/none.json");
    FAIL() << "expected InvalidArgument";
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_EQ(std::string(error.what()), "cannot read the schema file " + scratch_ +
                                             "/none.json: check that it exists and is readable");
  }
}

TEST_F(AutogenerateBadInput, UnknownKeyNamesTheJsonPath) {
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [
              {"name": "id", "type": "int", "nulable": false}]}}})json"),
            schema_ + ": /tables/keep/columns/0/nulable: unknown key \"nulable\" (known: "
                      "default, name, nullable, type)");
}

TEST_F(AutogenerateBadInput, DuplicateKey) {
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": []}, "keep": {"columns": []}}})json"),
            schema_ + ": /tables: the key \"keep\" is given twice: each name may be defined "
                      "only once");
}

TEST_F(AutogenerateBadInput, UnknownTypeIsReportedByTheServer) {
  std::string message = error_for(R"json({"tables": {"keep": {"columns": [
              {"name": "id", "type": "int"}, {"name": "x", "type": "no_such_type"}]}}})json");
  EXPECT_EQ(message, schema_ + ": /tables/keep/columns/1: type \"no_such_type\" does not exist");
}

TEST_F(AutogenerateBadInput, InvalidIdentifiersAndInjection) {
  const std::string rule = "use 1-63 lowercase letters, digits and underscores, starting with a "
                           "letter or underscore";
  EXPECT_EQ(error_for(R"json({"tables": {"keep; DROP TABLE keep": {"columns": []}}})json"),
            schema_ + ": /tables/keep; DROP TABLE keep: invalid identifier \"keep; DROP TABLE "
                      "keep\": " + rule);
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [
              {"name": "id\" int); DROP TABLE keep; --", "type": "int"}]}}})json"),
            schema_ + ": /tables/keep/columns/0/name: invalid identifier \"id\" int); DROP "
                      "TABLE keep; --\": " + rule);
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [
              {"name": "id", "type": "int); DROP TABLE keep; --"}]}}})json"),
            schema_ + ": /tables/keep/columns/0/type: invalid type \"int); DROP TABLE keep; "
                      "--\": give a PostgreSQL type such as text, bigint, numeric(14,2), jsonb, "
                      "uuid, timestamptz or text[]");
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [
              {"name": "id", "type": "int", "default": "0); DROP TABLE keep; SELECT (1"}]}}})json"),
            schema_ + ": /tables/keep/columns/0/default: invalid expression \"0); DROP TABLE "
                      "keep; SELECT (1\": a ')' has no matching '('");
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [{"name": "id", "type": "int"}],
              "checks": [{"name": "c", "expression": "id > 0 -- )"}]}}})json"),
            schema_ + ": /tables/keep/checks/0/expression: invalid expression \"id > 0 -- )\": "
                      "comments are not allowed");
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [{"name": "id", "type": "int"}],
              "checks": [{"name": "c", "expression": "id > 0; DROP TABLE keep"}]}}})json"),
            schema_ + ": /tables/keep/checks/0/expression: invalid expression \"id > 0; DROP "
                      "TABLE keep\": ';' is not allowed (one expression, not statements)");
  EXPECT_EQ(error_for(R"json({"entity_types": {"evcs_thing": {"columns": []}}})json"),
            schema_ + ": /entity_types/evcs_thing: invalid entity type name 'evcs_thing': use "
                      "1-40 lowercase letters, digits and underscores, starting with a letter or "
                      "underscore (and not with evcs_)");
  EXPECT_EQ(error_for(R"json({"entity_types": {"thing": {"columns": [
              {"name": "version", "type": "int"}]}}})json"),
            schema_ + ": /entity_types/thing/columns/0/name: column name 'version' is reserved "
                      "for evcs's version metadata");
}

TEST_F(AutogenerateBadInput, EntityRelationsThatDoNotResolve) {
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [
              {"name": "project_id", "references": "project"}]}}})json"),
            schema_ + ": /entity_types/task/columns/0/references: \"project\" is not an entity "
                      "type of this file");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [
              {"name": "parent_id", "references": "task", "on_delete": "explode"}]}}})json"),
            schema_ + ": /entity_types/task/columns/0: on_delete of column 'parent_id' must be "
                      "restrict, cascade or set null, not 'explode'");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [
              {"name": "parent_id", "type": "int", "references": "task"}]}}})json"),
            schema_ + ": /entity_types/task/columns/0: reference column 'parent_id' must be of "
                      "type uuid, not int");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [
              {"name": "n", "type": "int", "on_delete": "cascade"}]}}})json"),
            schema_ + ": /entity_types/task/columns/0/on_delete: only a column with "
                      "\"references\" has an on_delete");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [{"name": "n", "type": "int"}],
              "unique": [["n"], ["m"]]}}})json"),
            schema_ + ": /entity_types/task/unique/1/0: \"m\" is not a column of the type, or is "
                      "given twice");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [{"name": "n", "type": "int"}],
              "unique": "n"}}})json"),
            schema_ + ": /entity_types/task: \"unique\" must be an array of keys, each an array "
                      "of column names, and \"checks\" an object mapping check names to SQL "
                      "expressions, not {\"unique\":\"n\"}");
  EXPECT_EQ(error_for(R"json({"entity_types": {"task": {"columns": [{"name": "n", "type": "int"}],
              "checks": {"c": "n > 0; DROP TABLE keep"}}}})json"),
            schema_ + ": /entity_types/task/checks/c: invalid expression \"n > 0; DROP TABLE "
                      "keep\": ';' is not allowed (one expression, not statements)");
}

TEST_F(AutogenerateBadInput, ReferencesThatDoNotResolve) {
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [{"name": "id", "type": "int"}],
              "foreign_keys": [{"columns": ["id"],
                                "references": {"table": "nowhere", "columns": ["id"]}}]}}})json"),
            schema_ + ": /tables/keep/foreign_keys/0/references/table: \"nowhere\" is not a "
                      "table or entity type of this file");
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [{"name": "id", "type": "int"}],
              "primary_key": ["ident"]}}})json"),
            schema_ + ": /tables/keep/primary_key/0: the table has no column \"ident\"");
  EXPECT_EQ(error_for(R"json({"tables": {"keep": {"columns": [{"name": "id", "type": "int"}],
              "checks": [{"name": "c", "expression": "nope > 0"}]}}})json"),
            schema_ + ": /tables/keep/checks/0: column \"nope\" does not exist");
}

} // namespace
