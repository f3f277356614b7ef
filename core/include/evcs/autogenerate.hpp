// Migration autogenerate (docs/migrations.md): compares a declarative schema file with the live database and
// writes the next-numbered up/down step pair that takes the database to the declared schema.
//
// The schema file is JSON (docs/migrations.md, "Autogenerate", has the full format):
//   {
//     "version": 1,
//     "entity_types": {
//       "project": {"columns": [{"name": "name", "type": "text not null"}],
//                   "unique": [["name"]], "checks": {"named": "name <> ''"}},
//       "task": {"columns": [{"name": "title", "type": "text"},
//                            {"name": "project_id", "references": "project",
//                             "on_delete": "cascade"}]}},
//     "tables": {"customer": {
//       "columns": [{"name": "id", "type": "bigint", "nullable": false},
//                   {"name": "status", "type": "text", "default": "'active'"}],
//       "primary_key": ["id"],
//       "indexes": [{"columns": ["status"], "unique": false, "where": "status <> 'closed'"}],
//       "foreign_keys": [{"columns": ["project_id"],
//                         "references": {"table": "project", "columns": ["head_id"]},
//                         "on_delete": "cascade"}],
//       "checks": [{"name": "customer_status_known", "expression": "status IN ('active', 'closed')"}]}}
//   }
// It describes the whole of the first schema of the search_path except evcs's own objects: a
// table there that the file does not declare is dropped. An entity type is exactly what
// create_entity_type takes: its columns (a reference column names the entity type of the file
// it refers to, type uuid unless given, on_delete restrict unless given), its unique keys and
// its named checks. On an existing type, a reference, key or check added, dropped or changed
// is a step of its own (evcs_add_reference, evcs_alter_reference, evcs_add_unique_key,
// evcs_add_check, ... of migrations/0007), which refuses data that breaks the rule.
//
// Declared types, defaults, check expressions and indexes are put through the server itself (on
// temporary tables, in a transaction that is rolled back) so both sides are compared in
// PostgreSQL's own canonical spelling. The SQL written is deterministic: the same file and the
// same database give byte-identical steps.
#pragma once

#include <string>
#include <vector>

namespace evcs {

class Engine;

struct AutogenerateResult {
  // One line per detected change, in the order the up step applies them, e.g.
  // "add column customer.email", "alter column customer.status: type text -> varchar(20)".
  std::vector<std::string> changes;
  // Things to review before applying, e.g. a drop + add that may be meant as a rename.
  std::vector<std::string> warnings;
  // The contents of the up and down steps (empty when nothing changed).
  std::string up_sql;
  std::string down_sql;
  // The files written (empty when nothing changed, or when only compared).
  std::string up_path;
  std::string down_path;

  bool has_changes() const noexcept { return !changes.empty(); }
};

// Compares `schema_path` with the database and returns the changes and the SQL of the step that
// would apply them, writing nothing. A malformed file, an unknown type, an invalid identifier or
// expression throws InvalidArgument naming the file and the JSON path (or line) at fault.
AutogenerateResult compare_schema(Engine &engine, const std::string &schema_path);

// compare_schema, then writes the next-numbered NNNN_slug.up.sql / .down.sql pair for `message`
// into `directory` (numbered as MigrationRunner::new_step numbers) for review. Nothing changed:
// no files are written and the result has no changes. MigrationError when the database has not
// applied every step of `directory` yet (the comparison would repeat their changes).
AutogenerateResult autogenerate(Engine &engine, const std::string &message,
                                const std::string &schema_path,
                                const std::string &directory = "migrations");

// The same, for a schema document given as JSON text rather than a file (a program that builds
// it, e.g. from typed models); errors and the generated step's header name it `source_name`.
AutogenerateResult compare_schema_text(Engine &engine, const std::string &schema_json,
                                       const std::string &source_name = "schema");
AutogenerateResult autogenerate_from_text(Engine &engine, const std::string &message,
                                          const std::string &schema_json,
                                          const std::string &directory = "migrations",
                                          const std::string &source_name = "schema");

} // namespace evcs
