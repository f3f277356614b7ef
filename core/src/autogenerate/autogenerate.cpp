#include "evcs/autogenerate.hpp"

#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/migrations.hpp"
#include "evcs/session.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace evcs {

using detail::has_type_name_shape;
using detail::quote_literal;
using detail::quoted;
using detail::single_spaced_lowercase;

namespace {

// ---- the model both sides are compared in ---------------------------------------------------
// Every text is PostgreSQL's own deparsed spelling (format_type, pg_get_expr,
// pg_get_constraintdef, pg_get_indexdef), whether it was read from the live database or from the
// temporary tables the declared schema was built as.

struct ColumnModel {
  std::string name;
  std::string type;
  bool not_null = false;
  std::optional<std::string> default_expression;
};

struct IndexModel {
  std::string name;
  bool unique = false;
  // What follows "USING ": "btree (email)", "btree (lower(email)) WHERE (active)".
  std::string definition;
  // Set when the index belongs to a UNIQUE constraint: "UNIQUE (email)".
  std::optional<std::string> constraint_definition;
};

struct ForeignKeyModel {
  std::string name;
  std::vector<std::string> columns;
  std::string referenced_table;
  std::vector<std::string> referenced_columns;
  std::string on_delete = "no action";
  std::string on_update = "no action";
};

struct PrimaryKeyModel {
  std::string name;
  std::vector<std::string> columns;
};

struct TableModel {
  std::string name;
  std::vector<ColumnModel> columns;
  std::optional<PrimaryKeyModel> primary_key;
  std::map<std::string, std::string> checks; // name -> "CHECK (...)"
  std::map<std::string, IndexModel> indexes;
  std::map<std::string, ForeignKeyModel> foreign_keys;

  const ColumnModel *column(const std::string &column_name) const {
    for (const auto &candidate : columns)
      if (candidate.name == column_name) return &candidate;
    return nullptr;
  }
};

// An entity type: its own columns with canonical types, and the definitions as declared (what
// the EVCS DDL functions take and the catalog records), with references, unique keys and
// checks.
struct EntityModel {
  std::string name;
  std::vector<ColumnModel> columns;
  std::vector<ColumnDefinition> definitions;
  EntityConstraints constraints;
  // Per check, its definition in the server's spelling ("CHECK ((qty > 0))"; empty for a check
  // of the catalog its table no longer has) and, live, the columns it reads.
  std::map<std::string, std::string> check_definitions;
  std::map<std::string, std::vector<std::string>> check_columns;

  const ColumnDefinition *definition(const std::string &column_name) const {
    for (const auto &candidate : definitions)
      if (candidate.name == column_name) return &candidate;
    return nullptr;
  }
};

struct SchemaModel {
  std::map<std::string, TableModel> tables;
  std::map<std::string, EntityModel> entity_types;
};

// ---- SQL text -----------------------------------------------------------------------------


std::string identifier_list(const std::vector<std::string> &names) {
  std::string list;
  for (const auto &name : names) list += (list.empty() ? "" : ", ") + quoted(name);
  return list;
}

std::string plain_list(const std::vector<std::string> &names) {
  std::string list;
  for (const auto &name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

std::string column_sql(const ColumnModel &column) {
  std::string sql = quoted(column.name) + " " + column.type;
  if (column.default_expression) sql += " DEFAULT " + *column.default_expression;
  if (column.not_null) sql += " NOT NULL";
  return sql;
}

std::string foreign_key_sql(const ForeignKeyModel &key) {
  std::string sql = "FOREIGN KEY (" + identifier_list(key.columns) + ") REFERENCES " +
                    quoted(key.referenced_table) + " (" +
                    identifier_list(key.referenced_columns) + ")";
  auto upper = [](std::string text) {
    for (char &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  };
  if (key.on_update != "no action") sql += " ON UPDATE " + upper(key.on_update);
  if (key.on_delete != "no action") sql += " ON DELETE " + upper(key.on_delete);
  return sql;
}

bool same_foreign_key(const ForeignKeyModel &a, const ForeignKeyModel &b) {
  return a.columns == b.columns && a.referenced_table == b.referenced_table &&
         a.referenced_columns == b.referenced_columns && a.on_delete == b.on_delete &&
         a.on_update == b.on_update;
}

std::string index_sql(const std::string &table, const IndexModel &index) {
  return std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
         quoted(index.name) + " ON " + quoted(table) + " USING " +
         index.definition;
}

std::string alter_table(const std::string &table) {
  return "ALTER TABLE " + quoted(table) + " ";
}

// CREATE TABLE with its columns, primary key and checks, then its indexes.
std::string create_table_sql(const TableModel &table) {
  std::string sql = "CREATE TABLE " + quoted(table.name) + " (";
  std::vector<std::string> items;
  for (const auto &column : table.columns) items.push_back(column_sql(column));
  if (table.primary_key)
    items.push_back("CONSTRAINT " + quoted(table.primary_key->name) + " PRIMARY KEY (" +
                    identifier_list(table.primary_key->columns) + ")");
  for (const auto &[name, definition] : table.checks)
    items.push_back("CONSTRAINT " + quoted(name) + " " + definition);
  for (std::size_t i = 0; i < items.size(); ++i)
    sql += std::string(i == 0 ? "\n" : ",\n") + "    " + items[i];
  sql += items.empty() ? ");\n" : "\n);\n";
  for (const auto &[name, index] : table.indexes) {
    if (index.constraint_definition)
      sql += alter_table(table.name) + "ADD CONSTRAINT " + quoted(name) + " " +
             *index.constraint_definition + ";\n";
    else
      sql += index_sql(table.name, index) + ";\n";
  }
  return sql;
}

std::string drop_index_sql(const std::string &table, const IndexModel &index) {
  if (index.constraint_definition)
    return alter_table(table) + "DROP CONSTRAINT " + quoted(index.name) + ";\n";
  return "DROP INDEX " + quoted(index.name) + ";\n";
}

std::string add_index_sql(const std::string &table, const IndexModel &index) {
  if (index.constraint_definition)
    return alter_table(table) + "ADD CONSTRAINT " + quoted(index.name) + " " +
           *index.constraint_definition + ";\n";
  return index_sql(table, index) + ";\n";
}

// The statements that take `column` from `from` to `to` (same name, same table). A default is
// dropped before a type change and set after it, so the old default never has to cast.
std::string alter_column_sql(const std::string &table, const ColumnModel &from,
                             const ColumnModel &to) {
  std::string prefix = alter_table(table) + "ALTER COLUMN " + quoted(to.name) + " ";
  std::string sql;
  if (from.type != to.type) {
    if (from.default_expression) sql += prefix + "DROP DEFAULT;\n";
    sql += prefix + "TYPE " + to.type + " USING " + quoted(to.name) + "::" + to.type +
           ";\n";
    if (to.default_expression) sql += prefix + "SET DEFAULT " + *to.default_expression + ";\n";
  } else if (from.default_expression != to.default_expression) {
    sql += to.default_expression ? prefix + "SET DEFAULT " + *to.default_expression + ";\n"
                                 : prefix + "DROP DEFAULT;\n";
  }
  if (from.not_null != to.not_null)
    sql += prefix + (to.not_null ? "SET NOT NULL;\n" : "DROP NOT NULL;\n");
  return sql;
}

// The columns as evcs_create_entity_type takes them, the references of `without` left out.
std::string definitions_json(const std::vector<ColumnDefinition> &definitions,
                             const std::set<std::string> &without = {}) {
  json columns = json::array();
  for (const auto &definition : definitions) {
    columns.push_back({{"name", definition.name}, {"type", definition.type}});
    if (!definition.references.empty() && without.count(definition.name) == 0) {
      columns.back()["references"] = definition.references;
      columns.back()["on_delete"] = definition.on_delete;
    }
  }
  return columns.dump();
}

// ---- the EVCS DDL functions (migrations/0002, 0005, 0007) ---------------------------------------

std::string create_entity_type_sql(const EntityModel &type, const EntityConstraints &constraints,
                                   const std::set<std::string> &without_references) {
  return "SELECT evcs_create_entity_type(" + quote_literal(type.name) + ", " +
         quote_literal(definitions_json(type.definitions, without_references)) + "::jsonb" +
         (constraints.empty() ? "" : ", " + quote_literal(constraints.to_json().dump()) + "::jsonb") +
         ");\n";
}

std::string add_reference_sql(const std::string &type, const ColumnDefinition &column) {
  return "SELECT evcs_add_reference(" + quote_literal(type) + ", " + quote_literal(column.name) +
         ", " + quote_literal(column.references) + ", " + quote_literal(column.on_delete) + ");\n";
}

std::string drop_reference_sql(const std::string &type, const std::string &column) {
  return "SELECT evcs_drop_reference(" + quote_literal(type) + ", " + quote_literal(column) +
         ");\n";
}

std::string alter_reference_sql(const std::string &type, const std::string &column,
                                const std::string &on_delete) {
  return "SELECT evcs_alter_reference(" + quote_literal(type) + ", " + quote_literal(column) +
         ", " + quote_literal(on_delete) + ");\n";
}

std::string key_array(const std::vector<std::string> &columns) {
  std::string list;
  for (const auto &column : columns) list += (list.empty() ? "" : ", ") + quote_literal(column);
  return "ARRAY[" + list + "]";
}

std::string add_unique_key_sql(const std::string &type, const std::vector<std::string> &columns) {
  return "SELECT evcs_add_unique_key(" + quote_literal(type) + ", " + key_array(columns) + ");\n";
}

std::string drop_unique_key_sql(const std::string &type, const std::vector<std::string> &columns) {
  return "SELECT evcs_drop_unique_key(" + quote_literal(type) + ", " + key_array(columns) +
         ");\n";
}

std::string add_check_sql(const std::string &type, const std::string &check,
                          const std::string &expression) {
  return "SELECT evcs_add_check(" + quote_literal(type) + ", " + quote_literal(check) + ", " +
         quote_literal(expression) + ");\n";
}

std::string drop_check_sql(const std::string &type, const std::string &check) {
  return "SELECT evcs_drop_check(" + quote_literal(type) + ", " + quote_literal(check) + ");\n";
}

std::string drop_entity_type_sql(const std::string &name) {
  return "SELECT evcs_drop_entity_type(" + quote_literal(name) + ");\n";
}

std::string add_entity_column_sql(const std::string &type, const ColumnDefinition &column) {
  return "SELECT evcs_add_column(" + quote_literal(type) + ", " + quote_literal(column.name) +
         ", " + quote_literal(column.type) + ");\n";
}

std::string drop_entity_column_sql(const std::string &type, const std::string &column) {
  return "SELECT evcs_drop_column(" + quote_literal(type) + ", " + quote_literal(column) + ");\n";
}

// ---- the schema file --------------------------------------------------------------------------

struct Declared {
  std::string path; // JSON pointer, for errors
};

struct DeclaredColumn : Declared {
  std::string name;
  std::string type;
  bool nullable = true;
  std::optional<std::string> default_expression;
  // An entity type's reference column: the type it refers to and its on_delete.
  std::string references;
  std::string on_delete;
};

struct DeclaredIndex : Declared {
  std::string name;
  std::vector<std::string> keys; // SQL of each key: "\"email\"", "\"at\" DESC", "(lower(email))"
  bool unique = false;
  std::string method = "btree";
  std::optional<std::string> predicate;
};

struct DeclaredCheck : Declared {
  std::string name;
  std::string expression;
};

struct DeclaredForeignKey : Declared {
  ForeignKeyModel key;
  std::string references_path;
};

struct DeclaredTable : Declared {
  std::string name;
  std::vector<DeclaredColumn> columns;
  std::vector<std::string> primary_key;
  std::vector<DeclaredIndex> indexes;
  std::vector<DeclaredCheck> checks;
  std::vector<DeclaredForeignKey> foreign_keys;
};

struct DeclaredEntityType : Declared {
  std::string name;
  std::vector<DeclaredColumn> columns;
  std::vector<ColumnDefinition> definitions;
  EntityConstraints constraints;
  // The JSON path of each check, for the server's errors about it.
  std::map<std::string, std::string> check_paths;
};

struct DeclaredSchema {
  std::string file;
  std::map<std::string, DeclaredTable> tables;
  std::map<std::string, DeclaredEntityType> entity_types;
};

std::string pointer_token(const std::string &key) {
  std::string token;
  for (char c : key) {
    if (c == '~') token += "~0";
    else if (c == '/') token += "~1";
    else token += c;
  }
  return token;
}

// Reads one schema file, turning every problem into InvalidArgument "FILE: /json/path: ...".
class SchemaReader {
public:
  // Reads the file at `file`.
  explicit SchemaReader(std::string file) : file_(std::move(file)) {}
  // Reads `text`, naming it `name` in errors.
  SchemaReader(std::string name, std::string text)
      : file_(std::move(name)), text_(std::move(text)) {}

  [[noreturn]] void fail(const std::string &path, const std::string &message) const {
    throw InvalidArgument(file_ + ": " + (path.empty() ? "/" : path) + ": " + message);
  }

  DeclaredSchema read() {
    json document = parse(text_ ? *text_ : read_text());
    DeclaredSchema schema;
    schema.file = file_;
    require_object(document, "", {"version", "entity_types", "tables"});
    if (document.contains("version") &&
        (!document["version"].is_number_integer() || document["version"].get<long long>() != 1))
      fail("/version", "unsupported schema format version " + document["version"].dump() +
                           ": this evcs reads version 1");
    if (document.contains("entity_types")) {
      const json &types = document["entity_types"];
      if (!types.is_object())
        fail("/entity_types", "must be an object mapping entity type names to definitions");
      for (const auto &[name, definition] : types.items())
        schema.entity_types.emplace(name,
                                    read_entity_type(name, definition, "/entity_types/" +
                                                                           pointer_token(name)));
    }
    if (document.contains("tables")) {
      const json &tables = document["tables"];
      if (!tables.is_object()) fail("/tables", "must be an object mapping table names to definitions");
      for (const auto &[name, definition] : tables.items())
        schema.tables.emplace(name, read_table(name, definition, "/tables/" + pointer_token(name)));
    }
    check_references(schema);
    return schema;
  }

private:
  std::string read_text() const {
    std::ifstream in(file_, std::ios::binary);
    if (!in)
      throw InvalidArgument("cannot read the schema file " + file_ +
                            ": check that it exists and is readable");
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
  }

  // Parses JSON, rejecting duplicate keys (a later definition would silently replace an earlier
  // one). Syntax errors name the line and column.
  json parse(const std::string &text) const {
    struct Frame {
      bool object;
      std::set<std::string> keys;
      std::string key;
      long index = -1;
    };
    std::vector<Frame> frames;
    auto path_of = [&frames](std::size_t depth) {
      std::string path;
      for (std::size_t i = 0; i < depth; ++i)
        path += "/" + (frames[i].object ? pointer_token(frames[i].key)
                                        : std::to_string(frames[i].index));
      return path;
    };
    auto element_starts = [&frames] {
      if (!frames.empty() && !frames.back().object) ++frames.back().index;
    };
    std::optional<std::pair<std::string, std::string>> duplicate;
    json::parser_callback_t callback = [&](int, json::parse_event_t event, json &parsed) {
      switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        element_starts();
        frames.push_back({event == json::parse_event_t::object_start, {}, {}, -1});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case json::parse_event_t::key: {
        std::string key = parsed.get<std::string>();
        if (!frames.back().keys.insert(key).second && !duplicate)
          duplicate.emplace(path_of(frames.size() - 1), key);
        frames.back().key = key;
        break;
      }
      case json::parse_event_t::value:
        element_starts();
        break;
      }
      return true;
    };
    json document;
    try {
      document = json::parse(text, callback);
    } catch (const json::parse_error &error) {
      std::size_t line = 1, column = 1;
      for (std::size_t i = 0; i + 1 < error.byte && i < text.size(); ++i) {
        if (text[i] == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      std::string what = error.what();
      std::size_t detail = what.find(": ", what.find("column"));
      throw InvalidArgument(file_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                            ": not valid JSON: " +
                            (detail == std::string::npos ? what : what.substr(detail + 2)));
    }
    if (duplicate)
      fail(duplicate->first, "the key \"" + duplicate->second +
                                 "\" is given twice: each name may be defined only once");
    return document;
  }

  void require_object(const json &value, const std::string &path,
                      const std::set<std::string> &known) const {
    if (!value.is_object()) fail(path, "must be an object, not " + value.dump());
    for (const auto &[key, member] : value.items()) {
      if (known.count(key) == 0) {
        std::string list;
        for (const auto &name : known) list += (list.empty() ? "" : ", ") + name;
        fail(path + "/" + pointer_token(key), "unknown key \"" + key + "\" (known: " + list + ")");
      }
    }
  }

  std::string string_member(const json &value, const std::string &path, const char *key) const {
    if (!value.contains(key)) fail(path, std::string("\"") + key + "\" is required");
    if (!value[key].is_string())
      fail(path + "/" + key, "must be a string, not " + value[key].dump());
    return value[key].get<std::string>();
  }

  bool bool_member(const json &value, const std::string &path, const char *key,
                   bool fallback) const {
    if (!value.contains(key)) return fallback;
    if (!value[key].is_boolean())
      fail(path + "/" + key, "must be true or false, not " + value[key].dump());
    return value[key].get<bool>();
  }

  std::vector<std::string> names_member(const json &value, const std::string &path,
                                        const char *key) const {
    std::string member_path = path + "/" + key;
    if (!value.contains(key)) fail(path, std::string("\"") + key + "\" is required");
    const json &list = value[key];
    if (!list.is_array() || list.empty())
      fail(member_path, "must be a non-empty array of column names");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string element_path = member_path + "/" + std::to_string(i);
      if (!list[i].is_string()) fail(element_path, "must be a string, not " + list[i].dump());
      names.push_back(identifier(list[i].get<std::string>(), element_path));
    }
    return names;
  }

  // Lowercase identifiers only: they need no case folding, and nothing in them can end a quote.
  std::string identifier(const std::string &name, const std::string &path) const {
    static const std::regex valid("[a-z_][a-z0-9_]*");
    if (!std::regex_match(name, valid) || name.size() > 63)
      fail(path, "invalid identifier \"" + name + "\": use 1-63 lowercase letters, digits and "
                                                  "underscores, starting with a letter or "
                                                  "underscore");
    return name;
  }

  // A PostgreSQL type name, lowercased with single spaces: "numeric(14,2)", "text[]",
  // "timestamp with time zone". Only these shapes pass, so it is safe in DDL.
  std::string type_name(const std::string &declared, const std::string &path) const {
    std::string normal = single_spaced_lowercase(declared);
    if (!has_type_name_shape(normal))
      fail(path, "invalid type \"" + declared + "\": give a PostgreSQL type such as text, "
                                                "bigint, numeric(14,2), jsonb, uuid, "
                                                "timestamptz or text[]");
    return normal;
  }

  // A SQL expression that stays one expression inside parentheses: no statement separator, no
  // comment, no dollar quoting, and balanced parentheses outside quotes. The server then checks
  // it on the temporary tables.
  std::string expression(const std::string &text, const std::string &path) const {
    auto reject = [&](const std::string &why) {
      fail(path, "invalid expression \"" + text + "\": " + why);
    };
    std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string::npos) reject("it is empty");
    int depth = 0;
    for (std::size_t at = 0; at < text.size(); ++at) {
      char c = text[at];
      if (c == '\'' || c == '"') {
        bool backslashes = c == '\'' && at > 0 && (text[at - 1] == 'E' || text[at - 1] == 'e');
        std::size_t close = at + 1;
        while (true) {
          if (close >= text.size()) reject("a quote is not closed");
          if (backslashes && text[close] == '\\') {
            close += 2;
            continue;
          }
          if (text[close] == c) {
            if (close + 1 < text.size() && text[close + 1] == c) {
              close += 2;
              continue;
            }
            break;
          }
          ++close;
        }
        at = close;
      } else if (c == ';') {
        reject("';' is not allowed (one expression, not statements)");
      } else if (text.compare(at, 2, "--") == 0 || text.compare(at, 2, "/*") == 0) {
        reject("comments are not allowed");
      } else if (c == '$') {
        reject("'$' (dollar quoting or parameters) is not allowed");
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth < 0) {
        reject("a ')' has no matching '('");
      }
    }
    if (depth != 0) reject("a '(' is not closed");
    std::size_t end = text.find_last_not_of(" \t\r\n");
    return text.substr(start, end - start + 1);
  }

  DeclaredColumn read_column(const json &value, const std::string &path, bool entity) const {
    DeclaredColumn column;
    column.path = path;
    if (entity) {
      require_object(value, path, {"name", "type", "references", "on_delete"});
    } else {
      require_object(value, path, {"name", "type", "nullable", "default"});
    }
    column.name = identifier(string_member(value, path, "name"), path + "/name");
    if (entity && value.contains("references"))
      read_reference(value, path, column);
    else if (entity && value.contains("on_delete"))
      fail(path + "/on_delete", "only a column with \"references\" has an on_delete");
    std::string type = column.references.empty() || value.contains("type")
                           ? type_name(string_member(value, path, "type"), path + "/type")
                           : "uuid";
    if (entity) {
      const std::string suffix = " not null";
      if (type.size() > suffix.size() &&
          type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0) {
        column.nullable = false;
        type.erase(type.size() - suffix.size());
      }
    } else {
      column.nullable = bool_member(value, path, "nullable", true);
      if (value.contains("default")) {
        if (!value["default"].is_string())
          fail(path + "/default", "must be a SQL expression in a string, e.g. \"'active'\" or "
                                  "\"now()\", not " + value["default"].dump());
        column.default_expression = expression(value["default"].get<std::string>(),
                                               path + "/default");
      }
    }
    column.type = type;
    if (!column.references.empty()) {
      try {
        detail::require_reference_column(column.name, column.type, !column.nullable,
                                         column.on_delete);
      } catch (const InvalidArgument &error) {
        fail(path, error.what());
      }
    }
    return column;
  }

  // "references" (an entity type of the file) and "on_delete" (restrict unless given).
  void read_reference(const json &value, const std::string &path, DeclaredColumn &column) const {
    column.references = string_member(value, path, "references");
    try {
      detail::require_entity_type_name(column.references);
    } catch (const InvalidArgument &error) {
      fail(path + "/references", error.what());
    }
    column.on_delete =
        value.contains("on_delete") ? string_member(value, path, "on_delete") : "restrict";
  }

  std::vector<DeclaredColumn> read_columns(const json &value, const std::string &path,
                                           bool entity) const {
    std::string columns_path = path + "/columns";
    if (!value.contains("columns")) fail(path, "\"columns\" is required");
    const json &list = value["columns"];
    if (!list.is_array())
      fail(columns_path, "must be an array of column objects, in column order");
    std::vector<DeclaredColumn> columns;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
      DeclaredColumn column = read_column(list[i], columns_path + "/" + std::to_string(i), entity);
      if (!seen.insert(column.name).second)
        fail(column.path + "/name", "column \"" + column.name + "\" is declared twice");
      columns.push_back(std::move(column));
    }
    return columns;
  }

  DeclaredEntityType read_entity_type(const std::string &name, const json &value,
                                      const std::string &path) const {
    DeclaredEntityType type;
    type.path = path;
    try {
      detail::require_entity_type_name(name);
    } catch (const InvalidArgument &error) {
      fail(path, error.what());
    }
    type.name = name;
    require_object(value, path, {"columns", "unique", "checks"});
    type.columns = read_columns(value, path, true);
    for (const auto &column : type.columns) {
      try {
        detail::require_column_name(column.name);
      } catch (const InvalidArgument &error) {
        fail(column.path + "/name", error.what());
      }
      type.definitions.push_back({column.name, column.type + (column.nullable ? "" : " not null"),
                                  column.references, column.on_delete});
    }
    // The same shape, and the same parser, as create_entity_type's constraints.
    json rules = json::object();
    for (const char *key : {"unique", "checks"})
      if (value.contains(key)) rules[key] = value[key];
    try {
      type.constraints = EntityConstraints::from_json(rules);
    } catch (const InvalidArgument &) {
      fail(path, "\"unique\" must be an array of keys, each an array of column names, and "
                 "\"checks\" an object mapping check names to SQL expressions, not " +
                     rules.dump());
    }
    std::set<std::vector<std::string>> keys;
    for (std::size_t i = 0; i < type.constraints.unique.size(); ++i) {
      const auto &key = type.constraints.unique[i];
      std::string key_path = path + "/unique/" + std::to_string(i);
      if (key.empty()) fail(key_path, "a unique key needs at least one column");
      if (!keys.insert(sorted(key)).second)
        fail(key_path, "the unique key is declared twice");
      for (std::size_t j = 0; j < key.size(); ++j)
        if (std::find_if(type.columns.begin(), type.columns.end(), [&](const auto &column) {
              return column.name == key[j];
            }) == type.columns.end() || std::count(key.begin(), key.end(), key[j]) != 1)
          fail(key_path + "/" + std::to_string(j),
               "\"" + key[j] + "\" is not a column of the type, or is given twice");
    }
    for (auto &[check_name, expression_text] : type.constraints.checks) {
      std::string check_path = path + "/checks/" + pointer_token(check_name);
      expression_text = expression(expression_text, check_path);
      try {
        detail::require_check(name, check_name, expression_text);
      } catch (const InvalidArgument &error) {
        fail(check_path, error.what());
      }
      type.check_paths[check_name] = check_path;
    }
    return type;
  }

  static std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
  }

  DeclaredIndex read_index(const json &value, const std::string &path,
                           const DeclaredTable &table) const {
    DeclaredIndex index;
    index.path = path;
    require_object(value, path, {"name", "columns", "unique", "using", "where"});
    if (!value.contains("columns")) fail(path, "\"columns\" is required");
    const json &keys = value["columns"];
    if (!keys.is_array() || keys.empty())
      fail(path + "/columns", "must be a non-empty array of column names or expressions");
    static const std::regex column_key("([a-z_][a-z0-9_]*)( (asc|desc))?");
    std::vector<std::string> name_parts{table.name};
    bool plain = true;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string key_path = path + "/columns/" + std::to_string(i);
      if (!keys[i].is_string()) fail(key_path, "must be a string, not " + keys[i].dump());
      std::string key = keys[i].get<std::string>();
      std::smatch match;
      if (std::regex_match(key, match, column_key)) {
        if (!declares_column(table, match[1].str()))
          fail(key_path, "the table has no column \"" + match[1].str() + "\"");
        index.keys.push_back(quoted(match[1].str()) +
                             (match[3].str() == "desc" ? " DESC" : ""));
        name_parts.push_back(match[1].str());
      } else {
        index.keys.push_back("(" + expression(key, key_path) + ")");
        plain = false;
      }
    }
    index.unique = bool_member(value, path, "unique", false);
    if (value.contains("using"))
      index.method = identifier(string_member(value, path, "using"), path + "/using");
    if (value.contains("where")) {
      if (!value["where"].is_string())
        fail(path + "/where", "must be a SQL expression in a string");
      index.predicate = expression(value["where"].get<std::string>(), path + "/where");
    }
    if (value.contains("name")) {
      index.name = identifier(string_member(value, path, "name"), path + "/name");
    } else {
      if (!plain) fail(path, "an index on an expression needs a \"name\"");
      index.name = default_name(name_parts, "idx", path);
    }
    return index;
  }

  DeclaredForeignKey read_foreign_key(const json &value, const std::string &path,
                                      const DeclaredTable &table) const {
    DeclaredForeignKey declared;
    declared.path = path;
    ForeignKeyModel &key = declared.key;
    require_object(value, path, {"name", "columns", "references", "on_delete", "on_update"});
    key.columns = names_member(value, path, "columns");
    for (std::size_t i = 0; i < key.columns.size(); ++i)
      if (!declares_column(table, key.columns[i]))
        fail(path + "/columns/" + std::to_string(i),
             "the table has no column \"" + key.columns[i] + "\"");
    declared.references_path = path + "/references";
    if (!value.contains("references")) fail(path, "\"references\" is required");
    const json &references = value["references"];
    require_object(references, declared.references_path, {"table", "columns"});
    key.referenced_table = identifier(string_member(references, declared.references_path, "table"),
                                      declared.references_path + "/table");
    key.referenced_columns = names_member(references, declared.references_path, "columns");
    if (key.referenced_columns.size() != key.columns.size())
      fail(declared.references_path + "/columns",
           "references " + std::to_string(key.referenced_columns.size()) + " columns for " +
               std::to_string(key.columns.size()) + ": give one referenced column per column");
    for (const char *action_key : {"on_delete", "on_update"}) {
      if (!value.contains(action_key)) continue;
      std::string action = string_member(value, path, action_key);
      std::transform(action.begin(), action.end(), action.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      static const std::set<std::string> actions = {"no action", "restrict", "cascade",
                                                    "set null", "set default"};
      if (actions.count(action) == 0)
        fail(path + "/" + action_key, "unknown action \"" + action +
                                          "\" (known: no action, restrict, cascade, set null, "
                                          "set default)");
      (std::string(action_key) == "on_delete" ? key.on_delete : key.on_update) = action;
    }
    std::vector<std::string> name_parts{table.name};
    name_parts.insert(name_parts.end(), key.columns.begin(), key.columns.end());
    key.name = value.contains("name")
                   ? identifier(string_member(value, path, "name"), path + "/name")
                   : default_name(name_parts, "fkey", path);
    return declared;
  }

  DeclaredTable read_table(const std::string &name, const json &value,
                           const std::string &path) const {
    DeclaredTable table;
    table.path = path;
    table.name = identifier(name, path);
    if (name.compare(0, 5, "evcs_") == 0)
      fail(path, "table names starting with evcs_ are reserved for evcs's own catalog");
    require_object(value, path, {"columns", "primary_key", "indexes", "foreign_keys", "checks"});
    table.columns = read_columns(value, path, false);
    if (value.contains("primary_key")) {
      table.primary_key = names_member(value, path, "primary_key");
      for (std::size_t i = 0; i < table.primary_key.size(); ++i)
        if (!declares_column(table, table.primary_key[i]))
          fail(path + "/primary_key/" + std::to_string(i),
               "the table has no column \"" + table.primary_key[i] + "\"");
    }
    std::set<std::string> constraint_names;
    if (!table.primary_key.empty()) constraint_names.insert(name + "_pkey");
    auto each = [&](const char *key, const std::function<void(const json &, const std::string &)>
                                         &read) {
      if (!value.contains(key)) return;
      if (!value[key].is_array()) fail(path + "/" + key, "must be an array");
      for (std::size_t i = 0; i < value[key].size(); ++i)
        read(value[key][i], path + "/" + key + "/" + std::to_string(i));
    };
    auto unique_name = [&](const std::string &constraint, const std::string &at) {
      if (!constraint_names.insert(constraint).second)
        fail(at, "the name \"" + constraint + "\" is used twice in this table");
    };
    each("checks", [&](const json &element, const std::string &at) {
      DeclaredCheck check;
      check.path = at;
      require_object(element, at, {"name", "expression"});
      check.name = identifier(string_member(element, at, "name"), at + "/name");
      check.expression = expression(string_member(element, at, "expression"), at + "/expression");
      unique_name(check.name, at + "/name");
      table.checks.push_back(std::move(check));
    });
    each("foreign_keys", [&](const json &element, const std::string &at) {
      table.foreign_keys.push_back(read_foreign_key(element, at, table));
      unique_name(table.foreign_keys.back().key.name, at);
    });
    each("indexes", [&](const json &element, const std::string &at) {
      table.indexes.push_back(read_index(element, at, table));
    });
    return table;
  }

  static bool declares_column(const DeclaredTable &table, const std::string &column) {
    for (const auto &declared : table.columns)
      if (declared.name == column) return true;
    return false;
  }

  // PostgreSQL's own naming ("customer_email_idx", "order_customer_id_fkey"), refused when it
  // would be truncated.
  std::string default_name(const std::vector<std::string> &parts, const std::string &suffix,
                           const std::string &path) const {
    std::string name;
    for (const auto &part : parts) name += part + "_";
    name += suffix;
    if (name.size() > 63)
      fail(path, "the default name \"" + name + "\" is longer than 63 characters: give a "
                                                "\"name\"");
    return name;
  }

  void check_references(const DeclaredSchema &schema) const {
    for (const auto &[type_name, type] : schema.entity_types)
      for (const auto &column : type.columns)
        if (!column.references.empty() && schema.entity_types.count(column.references) == 0)
          fail(column.path + "/references",
               "\"" + column.references + "\" is not an entity type of this file");
    for (const auto &[type_name, type] : schema.entity_types) {
      for (const std::string &owned : {type_name, type_name + "_version", type_name + "_current"})
        if (schema.tables.count(owned) != 0)
          fail(schema.tables.at(owned).path,
               "the name \"" + owned + "\" belongs to the entity type \"" + type_name + "\"");
    }
    for (const auto &[table_name, table] : schema.tables) {
      for (const auto &declared : table.foreign_keys) {
        const ForeignKeyModel &key = declared.key;
        std::vector<std::string> columns;
        if (auto found = schema.tables.find(key.referenced_table); found != schema.tables.end()) {
          for (const auto &column : found->second.columns) columns.push_back(column.name);
        } else if (schema.entity_types.count(key.referenced_table) != 0) {
          columns = {"head_id", "created_at", "created_by"};
        } else {
          fail(declared.references_path + "/table",
               "\"" + key.referenced_table + "\" is not a table or entity type of this file");
        }
        for (std::size_t i = 0; i < key.referenced_columns.size(); ++i)
          if (std::find(columns.begin(), columns.end(), key.referenced_columns[i]) == columns.end())
            fail(declared.references_path + "/columns/" + std::to_string(i),
                 "\"" + key.referenced_table + "\" has no column \"" +
                     key.referenced_columns[i] + "\"");
      }
    }
  }

  std::string file_;
  std::optional<std::string> text_;
};

// ---- reading the catalog ----------------------------------------------------------------------

std::vector<std::string> json_names(const std::string &text) {
  std::vector<std::string> names;
  for (const auto &name : json::parse(text)) names.push_back(name.get<std::string>());
  return names;
}

std::string action_name(const std::string &code) {
  static const std::map<std::string, std::string> names = {
      {"a", "no action"}, {"r", "restrict"}, {"c", "cascade"}, {"n", "set null"},
      {"d", "set default"}};
  auto found = names.find(code);
  return found == names.end() ? "no action" : found->second;
}

// The tables of one namespace (`namespace_sql` is a SQL expression for its oid) accepted by
// `include`.
std::map<std::string, TableModel> read_tables(Session &session, const std::string &namespace_sql,
                                              const std::function<bool(const std::string &)> &include) {
  std::map<std::string, TableModel> tables;
  const std::string tables_filter =
      "c.relnamespace = " + namespace_sql + " AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
      " AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass"
      " AND e.objid = c.oid AND e.deptype = 'e')";
  Result columns = session.execute(
      "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
      "pg_get_expr(d.adbin, d.adrelid) FROM pg_class c "
      "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
      "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum WHERE " +
      tables_filter + " ORDER BY c.relname, a.attnum");
  Result relations = session.execute("SELECT c.relname FROM pg_class c WHERE " + tables_filter);
  for (std::int64_t row = 0; row < relations.rows(); ++row) {
    std::string name = relations.get_text(row, 0);
    if (include(name)) tables[name].name = name;
  }
  for (std::int64_t row = 0; row < columns.rows(); ++row) {
    auto table = tables.find(columns.get_text(row, 0));
    if (table == tables.end()) continue;
    ColumnModel column{columns.get_text(row, 1), columns.get_text(row, 2),
                       columns.get_bool(row, 3), std::nullopt};
    if (!columns.is_null(row, 4)) column.default_expression = columns.get_text(row, 4);
    table->second.columns.push_back(std::move(column));
  }
  const std::string attribute_names =
      "array_to_json(ARRAY(SELECT a.attname FROM unnest(%s) WITH ORDINALITY u(n, i) "
      "JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = u.n ORDER BY u.i))::text";
  auto names_of = [&](const char *numbers, const char *relation) {
    std::string sql = attribute_names;
    sql.replace(sql.find("%s"), 2, numbers);
    sql.replace(sql.find("%s"), 2, relation);
    return sql;
  };
  Result constraints = session.execute(
      "SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), " +
      names_of("k.conkey", "k.conrelid") + ", f.relname, " +
      names_of("k.confkey", "k.confrelid") +
      ", k.confdeltype::text, k.confupdtype::text FROM pg_constraint k "
      "JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_class f ON f.oid = k.confrelid "
      "WHERE k.contype IN ('p', 'c', 'f') AND " + tables_filter);
  for (std::int64_t row = 0; row < constraints.rows(); ++row) {
    auto table = tables.find(constraints.get_text(row, 0));
    if (table == tables.end()) continue;
    std::string name = constraints.get_text(row, 1);
    std::string kind = constraints.get_text(row, 2);
    if (kind == "p") {
      table->second.primary_key = PrimaryKeyModel{name, json_names(constraints.get_text(row, 4))};
    } else if (kind == "c") {
      table->second.checks[name] = constraints.get_text(row, 3);
    } else {
      ForeignKeyModel key;
      key.name = name;
      key.columns = json_names(constraints.get_text(row, 4));
      key.referenced_table = constraints.get_text(row, 5);
      key.referenced_columns = json_names(constraints.get_text(row, 6));
      key.on_delete = action_name(constraints.get_text(row, 7));
      key.on_update = action_name(constraints.get_text(row, 8));
      table->second.foreign_keys[name] = std::move(key);
    }
  }
  // Indexes other than those of primary key and exclusion constraints; the definition is what
  // pg_get_indexdef gives after "... ON schema.table USING ".
  Result indexes = session.execute(
      "SELECT c.relname, i.relname, x.indisunique, d.definition, "
      "CASE WHEN k.contype = 'u' THEN pg_get_constraintdef(k.oid) END "
      "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
      "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
      "AND k.contype IN ('p', 'u', 'x') "
      "CROSS JOIN LATERAL (SELECT pg_get_indexdef(x.indexrelid) AS full_definition, "
      "'CREATE ' || CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || "
      "quote_ident(i.relname) || ' ON ' || CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END || "
      "CASE WHEN n.oid = pg_my_temp_schema() THEN 'pg_temp' ELSE quote_ident(n.nspname) END || "
      "'.' || quote_ident(c.relname) || ' USING ' AS prefix) p "
      "CROSS JOIN LATERAL (SELECT CASE WHEN starts_with(p.full_definition, p.prefix) THEN "
      "substr(p.full_definition, length(p.prefix) + 1) ELSE p.full_definition END AS definition) d "
      "WHERE (k.contype IS NULL OR k.contype = 'u') AND " + tables_filter);
  for (std::int64_t row = 0; row < indexes.rows(); ++row) {
    auto table = tables.find(indexes.get_text(row, 0));
    if (table == tables.end()) continue;
    IndexModel index;
    index.name = indexes.get_text(row, 1);
    index.unique = indexes.get_bool(row, 2);
    index.definition = indexes.get_text(row, 3);
    if (!indexes.is_null(row, 4)) index.constraint_definition = indexes.get_text(row, 4);
    table->second.indexes[index.name] = std::move(index);
  }
  return tables;
}

const char *const live_namespace = "current_schema()::regnamespace";
const char *const probe_namespace = "pg_my_temp_schema()";
// Entity types' columns are built on probe tables of this prefix; declared tables cannot use it.
const std::string entity_probe_prefix = "evcs_probe_";

// Builds the declared schema as temporary tables in the session's (open, to be rolled back)
// transaction and reads it back, so it comes out in the server's spelling. A statement the
// server refuses is reported with the JSON path it came from.
class Probe {
public:
  Probe(Session &session, std::string file) : session_(session), file_(std::move(file)) {}

  void run(const std::string &sql, const std::string &path) {
    try {
      session_.execute(sql);
    } catch (const ConnectionLost &) {
      throw;
    } catch (const Error &error) {
      session_.rollback();
      throw InvalidArgument(file_ + ": " + path + ": " + error.what(), error.sqlstate());
    }
  }

  void create(const std::string &table, const std::vector<DeclaredColumn> &columns,
              const std::string &path) {
    std::string qualified = "pg_temp." + quoted(table);
    run("CREATE TEMPORARY TABLE " + quoted(table) + " ()", path);
    for (const auto &column : columns) {
      std::string sql = "ALTER TABLE " + qualified + " ADD COLUMN " +
                        quoted(column.name) + " " + column.type;
      if (column.default_expression) sql += " DEFAULT (" + *column.default_expression + ")";
      if (!column.nullable) sql += " NOT NULL";
      run(sql, column.path);
    }
  }

  void build(const DeclaredTable &table) {
    std::string qualified = "pg_temp." + quoted(table.name);
    create(table.name, table.columns, table.path);
    if (!table.primary_key.empty())
      run("ALTER TABLE " + qualified + " ADD PRIMARY KEY (" + identifier_list(table.primary_key) +
              ")",
          table.path + "/primary_key");
    for (const auto &check : table.checks)
      run("ALTER TABLE " + qualified + " ADD CONSTRAINT " + quoted(check.name) +
              " CHECK (" + check.expression + ")",
          check.path);
    for (const auto &index : table.indexes) {
      std::string sql = std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
                        quoted(index.name) + " ON " + qualified + " USING " +
                        quoted(index.method) + " (";
      for (std::size_t i = 0; i < index.keys.size(); ++i)
        sql += (i == 0 ? "" : ", ") + index.keys[i];
      sql += ")";
      if (index.predicate) sql += " WHERE (" + *index.predicate + ")";
      run(sql, index.path);
    }
  }

private:
  Session &session_;
  std::string file_;
};

std::vector<ColumnDefinition> catalog_definitions(const std::string &columns_json) {
  std::vector<ColumnDefinition> definitions;
  for (const auto &column : json::parse(columns_json))
    definitions.push_back({column.at("name").get<std::string>(), column.at("type").get<std::string>(),
                           column.value("references", ""), column.value("on_delete", "")});
  return definitions;
}

// The name of the version table's CHECK constraint of an entity type's check (the server
// truncates identifiers to 63 bytes, as it did when it was created).
std::string check_constraint_name(const std::string &type, const std::string &check) {
  return (type + "_check_" + check).substr(0, 63);
}

// The live entity types' checks as their version tables hold them: the definition and the
// columns read, per type and check name of the catalog.
void read_live_checks(Session &session, std::map<std::string, EntityModel> &types) {
  Result checks = session.execute(
      "SELECT t.name, k.conname, pg_get_constraintdef(k.oid), array_to_json(ARRAY(SELECT "
      "a.attname FROM unnest(k.conkey) u(n) JOIN pg_attribute a ON a.attrelid = k.conrelid "
      "AND a.attnum = u.n ORDER BY a.attname))::text FROM evcs_entity_type t JOIN pg_constraint k "
      "ON k.conrelid = to_regclass(quote_ident(t.name || '_version')) AND k.contype = 'c'");
  for (auto &[name, type] : types)
    for (const auto &[check, expression] : type.constraints.checks) type.check_definitions[check];
  for (std::int64_t row = 0; row < checks.rows(); ++row) {
    auto type = types.find(checks.get_text(row, 0));
    if (type == types.end()) continue;
    for (const auto &[check, expression] : type->second.constraints.checks)
      if (check_constraint_name(type->first, check) == checks.get_text(row, 1)) {
        type->second.check_definitions[check] = checks.get_text(row, 2);
        type->second.check_columns[check] = json_names(checks.get_text(row, 3));
      }
  }
}

// The probe columns of an entity type's definitions ("numeric(14,2) not null").
std::vector<DeclaredColumn> probe_columns(const std::vector<ColumnDefinition> &definitions,
                                          const std::string &path) {
  std::vector<DeclaredColumn> columns;
  for (std::size_t i = 0; i < definitions.size(); ++i) {
    DeclaredColumn column;
    column.path = path + "/columns/" + std::to_string(i);
    column.name = definitions[i].name;
    column.type = definitions[i].type;
    const std::string suffix = " not null";
    if (column.type.size() > suffix.size() &&
        column.type.compare(column.type.size() - suffix.size(), suffix.size(), suffix) == 0) {
      column.nullable = false;
      column.type.erase(column.type.size() - suffix.size());
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

struct Models {
  SchemaModel live;
  SchemaModel declared;
};

Models read_models(Engine &engine, const DeclaredSchema &schema) {
  Models models;
  auto session = engine.session();
  // The steps call the EVCS DDL functions, which live in the evcs catalog: install it as every
  // other entity operation does on first use.
  if (!schema.entity_types.empty()) {
    detail::ensure_catalog(*session.state());
    session.commit();
  }
  // Live entity types, from the evcs catalog when the database has one (its constraints from
  // catalog step 0005 on).
  std::vector<std::pair<std::string, std::vector<ColumnDefinition>>> live_types;
  std::map<std::string, EntityConstraints> live_constraints;
  const bool has_catalog =
      session.scalar<bool>("SELECT to_regclass('evcs_entity_type') IS NOT NULL").value_or(false);
  if (has_catalog) {
    Result types = session.execute("SELECT name, columns::text, coalesce(to_jsonb(t) -> "
                                   "'constraints', '{}')::text FROM evcs_entity_type t "
                                   "ORDER BY name");
    for (std::int64_t row = 0; row < types.rows(); ++row) {
      live_types.emplace_back(types.get_text(row, 0), catalog_definitions(types.get_text(row, 1)));
      live_constraints[types.get_text(row, 0)] =
          EntityConstraints::from_json(json::parse(types.get_text(row, 2)));
    }
  }
  std::set<std::string> entity_owned;
  for (const auto &[name, definitions] : live_types) {
    entity_owned.insert(name);
    entity_owned.insert(name + "_version");
  }
  models.live.tables = read_tables(session, live_namespace, [&](const std::string &name) {
    return name.compare(0, 5, "evcs_") != 0 && entity_owned.count(name) == 0;
  });

  Probe probe(session, schema.file);
  for (const auto &[name, table] : schema.tables) probe.build(table);
  for (const auto &[name, type] : schema.entity_types) {
    const std::string table = entity_probe_prefix + "declared_" + name;
    probe.create(table, type.columns, type.path);
    for (const auto &[check, expression] : type.constraints.checks)
      probe.run("ALTER TABLE pg_temp." + quoted(table) + " ADD CONSTRAINT " + quoted(check) +
                    " CHECK (" + expression + ")",
                type.check_paths.at(check));
  }
  for (const auto &[name, definitions] : live_types)
    probe.create(entity_probe_prefix + "live_" + name,
                 probe_columns(definitions, "the catalog's entity type " + name),
                 "the catalog's entity type " + name);
  auto probed = read_tables(session, probe_namespace, [](const std::string &) { return true; });
  session.rollback();

  for (const auto &[name, table] : schema.tables) {
    TableModel model = probed.at(name);
    for (const auto &declared : table.foreign_keys)
      model.foreign_keys[declared.key.name] = declared.key;
    models.declared.tables[name] = std::move(model);
  }
  auto entity = [&](const std::string &name, const std::string &probe_table,
                    std::vector<ColumnDefinition> definitions) {
    EntityModel model;
    model.name = name;
    model.columns = probed.at(probe_table).columns;
    model.definitions = std::move(definitions);
    return model;
  };
  for (const auto &[name, type] : schema.entity_types) {
    const std::string table = entity_probe_prefix + "declared_" + name;
    EntityModel model = entity(name, table, type.definitions);
    model.constraints = type.constraints;
    model.check_definitions = probed.at(table).checks;
    models.declared.entity_types[name] = std::move(model);
  }
  for (const auto &[name, definitions] : live_types) {
    models.live.entity_types[name] = entity(name, entity_probe_prefix + "live_" + name, definitions);
    models.live.entity_types[name].constraints = live_constraints[name];
  }
  if (has_catalog) read_live_checks(session, models.live.entity_types);
  session.rollback();
  return models;
}

// ---- comparing ----------------------------------------------------------------------------------

// One change: a line for the summary, the SQL that applies it and the SQL that reverts it.
struct Operation {
  std::string change;
  std::string up;
  std::string down;
};

// The operations in the order the up step runs them; the down step runs their reversals in the
// reverse order. Foreign keys go first and come back last, so every table they join exists
// whenever one exists.
// An entity type's references, unique keys and checks that go are dropped before its columns
// and the types change, and those that come are added after, so a rule never names a column or
// a type that is not there.
struct Plan {
  std::vector<Operation> drop_foreign_keys, drop_table_parts, drop_entity_rules, drop_tables,
      entity_types, create_tables, alter_columns, add_entity_rules, add_table_parts,
      add_foreign_keys;
  std::vector<std::string> warnings;

  std::vector<Operation> in_order() const {
    std::vector<Operation> all;
    for (const auto *group : {&drop_foreign_keys, &drop_table_parts, &drop_entity_rules,
                              &drop_tables, &entity_types, &create_tables, &alter_columns,
                              &add_entity_rules, &add_table_parts, &add_foreign_keys})
      all.insert(all.end(), group->begin(), group->end());
    return all;
  }
};

std::string describe_column(const ColumnModel &column) {
  return column.type + (column.not_null ? " not null" : "") +
         (column.default_expression ? " default " + *column.default_expression : "");
}

std::string column_changes(const ColumnModel &from, const ColumnModel &to) {
  std::vector<std::string> parts;
  if (from.type != to.type) parts.push_back("type " + from.type + " -> " + to.type);
  if (from.not_null != to.not_null)
    parts.push_back(to.not_null ? "nullable -> not null" : "not null -> nullable");
  if (from.default_expression != to.default_expression)
    parts.push_back("default " + from.default_expression.value_or("none") + " -> " +
                    to.default_expression.value_or("none"));
  return plain_list(parts);
}

bool same_column(const ColumnModel &a, const ColumnModel &b) {
  return a.type == b.type && a.not_null == b.not_null &&
         a.default_expression == b.default_expression;
}

bool same_index(const IndexModel &a, const IndexModel &b) {
  return a.unique == b.unique && a.definition == b.definition;
}

// "name type, ..." sorted by name: tables or entity types with equal signatures may be a rename.
std::string signature(const std::vector<ColumnModel> &columns) {
  std::vector<std::string> parts;
  for (const auto &column : columns) parts.push_back(column.name + " " + column.type);
  std::sort(parts.begin(), parts.end());
  return plain_list(parts);
}

void warn_renamed_columns(Plan &plan, const std::string &owner, const std::string &kind,
                          const std::vector<const ColumnModel *> &dropped,
                          const std::vector<const ColumnModel *> &added,
                          const std::string &rename_hint) {
  for (const auto *old_column : dropped)
    for (const auto *new_column : added)
      if (old_column->type == new_column->type)
        plan.warnings.push_back(
            kind + " " + owner + ": column " + old_column->name + " is dropped and " +
            new_column->name + " is added with the same type " + new_column->type +
            ". If this is a rename, replace the two with " +
            (rename_hint.empty()
                 ? "ALTER TABLE " + quoted(owner) + " RENAME COLUMN " +
                       quoted(old_column->name) + " TO " +
                       quoted(new_column->name)
                 : "SELECT evcs_rename_column(" + quote_literal(owner) + ", " +
                       quote_literal(old_column->name) + ", " + quote_literal(new_column->name) +
                       ")") +
            " to keep the data");
}

void compare_tables(const SchemaModel &live, const SchemaModel &declared, Plan &plan) {
  for (const auto &[name, table] : live.tables) {
    auto wanted = declared.tables.find(name);
    const TableModel *target = wanted == declared.tables.end() ? nullptr : &wanted->second;
    for (const auto &[key_name, key] : table.foreign_keys) {
      const ForeignKeyModel *kept = nullptr;
      if (target != nullptr) {
        auto found = target->foreign_keys.find(key_name);
        if (found != target->foreign_keys.end() && same_foreign_key(found->second, key))
          kept = &found->second;
      }
      if (kept == nullptr)
        plan.drop_foreign_keys.push_back(
            {"drop foreign key " + name + "." + key_name,
             alter_table(name) + "DROP CONSTRAINT " + quoted(key_name) + ";\n",
             alter_table(name) + "ADD CONSTRAINT " + quoted(key_name) + " " +
                 foreign_key_sql(key) + ";\n"});
    }
    if (target == nullptr) {
      plan.drop_tables.push_back({"drop table " + name,
                                  "DROP TABLE " + quoted(name) + ";\n",
                                  create_table_sql(table)});
      continue;
    }
    // Parts that differ are dropped here and added back after the columns changed.
    if (table.primary_key &&
        (!target->primary_key || target->primary_key->columns != table.primary_key->columns))
      plan.drop_table_parts.push_back(
          {"drop primary key " + name + "." + table.primary_key->name,
           alter_table(name) + "DROP CONSTRAINT " + quoted(table.primary_key->name) +
               ";\n",
           alter_table(name) + "ADD CONSTRAINT " + quoted(table.primary_key->name) +
               " PRIMARY KEY (" + identifier_list(table.primary_key->columns) + ");\n"});
    if (target->primary_key &&
        (!table.primary_key || target->primary_key->columns != table.primary_key->columns))
      plan.add_table_parts.push_back(
          {"add primary key " + name + "." + target->primary_key->name,
           alter_table(name) + "ADD CONSTRAINT " + quoted(target->primary_key->name) +
               " PRIMARY KEY (" + identifier_list(target->primary_key->columns) + ");\n",
           alter_table(name) + "DROP CONSTRAINT " + quoted(target->primary_key->name) +
               ";\n"});
    for (const auto &[check_name, definition] : table.checks) {
      auto found = target->checks.find(check_name);
      if (found == target->checks.end() || found->second != definition)
        plan.drop_table_parts.push_back(
            {"drop check " + name + "." + check_name,
             alter_table(name) + "DROP CONSTRAINT " + quoted(check_name) + ";\n",
             alter_table(name) + "ADD CONSTRAINT " + quoted(check_name) + " " +
                 definition + ";\n"});
    }
    for (const auto &[check_name, definition] : target->checks) {
      auto found = table.checks.find(check_name);
      if (found == table.checks.end() || found->second != definition)
        plan.add_table_parts.push_back(
            {"add check " + name + "." + check_name,
             alter_table(name) + "ADD CONSTRAINT " + quoted(check_name) + " " +
                 definition + ";\n",
             alter_table(name) + "DROP CONSTRAINT " + quoted(check_name) + ";\n"});
    }
    for (const auto &[index_name, index] : table.indexes) {
      auto found = target->indexes.find(index_name);
      if (found == target->indexes.end() || !same_index(found->second, index))
        plan.drop_table_parts.push_back({"drop index " + name + "." + index_name,
                                         drop_index_sql(name, index), add_index_sql(name, index)});
    }
    for (const auto &[index_name, index] : target->indexes) {
      auto found = table.indexes.find(index_name);
      if (found == table.indexes.end() || !same_index(found->second, index))
        plan.add_table_parts.push_back({"add index " + name + "." + index_name,
                                        add_index_sql(name, index), drop_index_sql(name, index)});
    }
    // Columns: added (declared order), changed (declared order), dropped (table order).
    std::vector<const ColumnModel *> added, dropped;
    for (const auto &column : target->columns) {
      const ColumnModel *current = table.column(column.name);
      if (current == nullptr) {
        added.push_back(&column);
        plan.alter_columns.push_back(
            {"add column " + name + "." + column.name + " " + describe_column(column),
             alter_table(name) + "ADD COLUMN " + column_sql(column) + ";\n",
             alter_table(name) + "DROP COLUMN " + quoted(column.name) + ";\n"});
      }
    }
    for (const auto &column : target->columns) {
      const ColumnModel *current = table.column(column.name);
      if (current != nullptr && !same_column(*current, column))
        plan.alter_columns.push_back(
            {"alter column " + name + "." + column.name + ": " + column_changes(*current, column),
             alter_column_sql(name, *current, column), alter_column_sql(name, column, *current)});
    }
    for (const auto &column : table.columns) {
      if (target->column(column.name) == nullptr) {
        dropped.push_back(&column);
        plan.alter_columns.push_back(
            {"drop column " + name + "." + column.name,
             alter_table(name) + "DROP COLUMN " + quoted(column.name) + ";\n",
             alter_table(name) + "ADD COLUMN " + column_sql(column) + ";\n"});
      }
    }
    warn_renamed_columns(plan, name, "table", dropped, added, "");
  }
  for (const auto &[name, table] : declared.tables) {
    if (live.tables.count(name) == 0) {
      plan.create_tables.push_back({"add table " + name, create_table_sql(table),
                                    "DROP TABLE " + quoted(name) + ";\n"});
      for (const auto &[dropped_name, dropped] : live.tables)
        if (declared.tables.count(dropped_name) == 0 &&
            signature(dropped.columns) == signature(table.columns))
          plan.warnings.push_back("table " + dropped_name + " is dropped and table " + name +
                                  " is added with the same columns. If this is a rename, "
                                  "replace the two with ALTER TABLE " +
                                  quoted(dropped_name) + " RENAME TO " +
                                  quoted(name) + " to keep the data");
    }
    for (const auto &[key_name, key] : table.foreign_keys) {
      auto current = live.tables.find(name);
      bool present = false;
      if (current != live.tables.end()) {
        auto found = current->second.foreign_keys.find(key_name);
        present = found != current->second.foreign_keys.end() && same_foreign_key(found->second, key);
      }
      if (!present)
        plan.add_foreign_keys.push_back(
            {"add foreign key " + name + "." + key_name,
             alter_table(name) + "ADD CONSTRAINT " + quoted(key_name) + " " +
                 foreign_key_sql(key) + ";\n",
             alter_table(name) + "DROP CONSTRAINT " + quoted(key_name) + ";\n"});
    }
  }
}

// The order to create `types` in so that each one's references name a type that exists by
// then (one of `existing`, one created before it, or itself), alphabetical where the references
// leave a choice; the references no order satisfies (a cycle) are left for afterwards, as
// (type, column) pairs.
struct CreationOrder {
  std::vector<std::string> types;
  std::set<std::pair<std::string, std::string>> deferred;

  std::set<std::string> deferred_columns(const std::string &type) const {
    std::set<std::string> columns;
    for (const auto &[owner, column] : deferred)
      if (owner == type) columns.insert(column);
    return columns;
  }
};

CreationOrder creation_order(const std::map<std::string, const EntityModel *> &types,
                             const std::set<std::string> &existing) {
  CreationOrder order;
  std::set<std::string> remaining, created;
  for (const auto &[name, type] : types) remaining.insert(name);
  auto unmet = [&](const std::string &name) {
    std::vector<std::string> columns;
    for (const auto &definition : types.at(name)->definitions)
      if (!definition.references.empty() && definition.references != name &&
          existing.count(definition.references) == 0 && created.count(definition.references) == 0)
        columns.push_back(definition.name);
    return columns;
  };
  // In a cycle, the first type another one still waits for goes first, without the references
  // it cannot have yet.
  auto awaited = [&](const std::string &name) {
    for (const auto &other : remaining)
      for (const auto &column : unmet(other))
        if (types.at(other)->definition(column)->references == name) return true;
    return false;
  };
  while (!remaining.empty()) {
    auto next = std::find_if(remaining.begin(), remaining.end(),
                             [&](const std::string &name) { return unmet(name).empty(); });
    if (next == remaining.end()) next = std::find_if(remaining.begin(), remaining.end(), awaited);
    std::string name = next == remaining.end() ? *remaining.begin() : *next;
    for (const auto &column : unmet(name)) order.deferred.insert({name, column});
    order.types.push_back(name);
    created.insert(name);
    remaining.erase(name);
  }
  return order;
}

// A live check's expression as its table holds it ("(qty > 0)"), which stays right when a
// column it reads was renamed; the catalog's text for one its table lost.
std::string live_check_expression(const EntityModel &type, const std::string &check) {
  const std::string &definition = type.check_definitions.at(check);
  const std::string prefix = "CHECK (";
  if (definition.compare(0, prefix.size(), prefix) == 0 && definition.back() == ')')
    return definition.substr(prefix.size(), definition.size() - prefix.size() - 1);
  for (const auto &[name, expression] : type.constraints.checks)
    if (name == check) return expression;
  return definition;
}

// The live type's constraints with each check as its table holds it.
EntityConstraints live_constraints(const EntityModel &type) {
  EntityConstraints constraints = type.constraints;
  for (auto &[check, expression] : constraints.checks)
    expression = live_check_expression(type, check);
  return constraints;
}

std::string describe_reference(const ColumnDefinition &column) {
  return column.references + " (on delete " + column.on_delete + ")";
}

std::string describe_key(const std::vector<std::string> &columns) {
  return "(" + plain_list(columns) + ")";
}

// The changes of the references, unique keys and checks of a type on both sides. `replaced`
// and `dropped` are the columns that lose their values: rules on them go first.
void compare_entity_rules(const EntityModel &from, const EntityModel &to,
                          const std::set<std::string> &replaced,
                          const std::set<std::string> &dropped, Plan &plan) {
  const std::string &name = to.name;
  for (const auto &column : from.definitions) {
    if (column.references.empty()) continue;
    const ColumnDefinition *target = to.definition(column.name);
    if (target != nullptr && replaced.count(column.name) == 0 &&
        target->references == column.references) {
      if (target->on_delete != column.on_delete)
        plan.add_entity_rules.push_back(
            {"alter reference " + name + "." + column.name + ": on delete " + column.on_delete +
                 " -> " + target->on_delete,
             alter_reference_sql(name, column.name, target->on_delete),
             alter_reference_sql(name, column.name, column.on_delete)});
      continue;
    }
    plan.drop_entity_rules.push_back(
        {"drop reference " + name + "." + column.name + " -> " + column.references,
         drop_reference_sql(name, column.name), add_reference_sql(name, column)});
  }
  for (const auto &column : to.definitions) {
    if (column.references.empty()) continue;
    const ColumnDefinition *current = from.definition(column.name);
    if (current != nullptr && replaced.count(column.name) == 0 &&
        current->references == column.references)
      continue;
    plan.add_entity_rules.push_back(
        {"add reference " + name + "." + column.name + " -> " + describe_reference(column),
         add_reference_sql(name, column), drop_reference_sql(name, column.name)});
  }
  auto has_key = [](const EntityModel &model, const std::vector<std::string> &key) {
    return std::find(model.constraints.unique.begin(), model.constraints.unique.end(), key) !=
           model.constraints.unique.end();
  };
  auto touches = [&](const std::vector<std::string> &columns) {
    return std::any_of(columns.begin(), columns.end(), [&](const std::string &column) {
      return replaced.count(column) != 0 || dropped.count(column) != 0;
    });
  };
  for (const auto &key : from.constraints.unique)
    if (!has_key(to, key) || touches(key))
      plan.drop_entity_rules.push_back({"drop unique key " + name + " " + describe_key(key),
                                        drop_unique_key_sql(name, key),
                                        add_unique_key_sql(name, key)});
  for (const auto &key : to.constraints.unique)
    if (!has_key(from, key) || touches(key))
      plan.add_entity_rules.push_back({"add unique key " + name + " " + describe_key(key),
                                       add_unique_key_sql(name, key),
                                       drop_unique_key_sql(name, key)});
  // Checks compare in the server's spelling; one reading a column that loses its values goes and
  // comes back, since dropping the column drops it.
  auto kept_check = [&](const std::string &check) {
    auto wanted = to.check_definitions.find(check);
    auto current = from.check_columns.find(check);
    return wanted != to.check_definitions.end() &&
           from.check_definitions.at(check) == wanted->second &&
           (current == from.check_columns.end() || !touches(current->second));
  };
  for (const auto &[check, expression] : from.constraints.checks)
    if (!kept_check(check))
      plan.drop_entity_rules.push_back(
          {"drop check " + name + "." + check, drop_check_sql(name, check),
           add_check_sql(name, check, live_check_expression(from, check))});
  for (const auto &[check, expression] : to.constraints.checks)
    if (from.check_definitions.count(check) == 0 || !kept_check(check))
      plan.add_entity_rules.push_back({"add check " + name + "." + check,
                                       add_check_sql(name, check, expression),
                                       drop_check_sql(name, check)});
}

// The column changes of a type on both sides, then its rules.
void compare_entity_type(const EntityModel &from, const EntityModel &type, Plan &plan) {
  const std::string &name = type.name;
  std::vector<const ColumnModel *> added, dropped;
  std::set<std::string> replaced_names, dropped_names;
  auto find = [](const EntityModel &model, const std::string &column) -> const ColumnModel * {
    for (const auto &candidate : model.columns)
      if (candidate.name == column) return &candidate;
    return nullptr;
  };
  for (const auto &column : type.columns) {
    const ColumnModel *old_column = find(from, column.name);
    const ColumnDefinition &definition = *type.definition(column.name);
    if (old_column == nullptr) {
      added.push_back(&column);
      plan.entity_types.push_back({"add column " + name + "." + column.name + " " +
                                       describe_column(column) + " (entity type)",
                                   add_entity_column_sql(name, definition),
                                   drop_entity_column_sql(name, column.name)});
    } else if (!same_column(*old_column, column)) {
      // The EVCS DDL has no type change for versioned columns: the column is replaced, and its
      // values in every version are lost.
      replaced_names.insert(column.name);
      plan.warnings.push_back("entity type " + name + ": column " + column.name +
                              " changes (" + column_changes(*old_column, column) +
                              "); versioned columns cannot be altered in place, so it is "
                              "dropped and added again and its values in every version are "
                              "lost. Edit the step if the data must be converted.");
      const ColumnDefinition &old_definition = *from.definition(column.name);
      plan.entity_types.push_back(
          {"replace column " + name + "." + column.name + ": " +
               column_changes(*old_column, column) + " (entity type)",
           drop_entity_column_sql(name, column.name) + add_entity_column_sql(name, definition),
           drop_entity_column_sql(name, column.name) +
               add_entity_column_sql(name, old_definition)});
    }
  }
  for (const auto &column : from.columns) {
    if (find(type, column.name) != nullptr) continue;
    dropped.push_back(&column);
    dropped_names.insert(column.name);
    plan.entity_types.push_back({"drop column " + name + "." + column.name + " (entity type)",
                                 drop_entity_column_sql(name, column.name),
                                 add_entity_column_sql(name, *from.definition(column.name))});
  }
  warn_renamed_columns(plan, name, "entity type", dropped, added, "evcs_rename_column");
  compare_entity_rules(from, type, replaced_names, dropped_names, plan);
}

void compare_entity_types(const SchemaModel &live, const SchemaModel &declared, Plan &plan) {
  std::set<std::string> kept;
  std::map<std::string, const EntityModel *> gone, created;
  for (const auto &[name, type] : live.entity_types)
    if (declared.entity_types.count(name) != 0) kept.insert(name);
    else gone[name] = &type;
  for (const auto &[name, type] : declared.entity_types)
    if (live.entity_types.count(name) == 0) created[name] = &type;

  // Kept types first: their references to the types that go are dropped before those are.
  for (const auto &name : kept)
    compare_entity_type(live.entity_types.at(name), declared.entity_types.at(name), plan);

  // Types that go are dropped referrers first, in the reverse of the order that would create
  // them (which the down step does); a reference cycle among them is broken first.
  CreationOrder dropping = creation_order(gone, kept);
  for (const auto &[name, column] : dropping.deferred)
    plan.drop_entity_rules.push_back(
        {"drop reference " + name + "." + column + " -> " +
             gone.at(name)->definition(column)->references,
         drop_reference_sql(name, column), add_reference_sql(name, *gone.at(name)->definition(column))});
  std::vector<Operation> type_changes;
  for (auto name = dropping.types.rbegin(); name != dropping.types.rend(); ++name) {
    const EntityModel &type = *gone.at(*name);
    type_changes.push_back({"drop entity type " + *name, drop_entity_type_sql(*name),
                            create_entity_type_sql(type, live_constraints(type),
                                                   dropping.deferred_columns(*name))});
  }
  // New types are created types referred to first; a reference cycle among them is closed
  // once all exist.
  CreationOrder creating = creation_order(created, kept);
  for (const auto &name : creating.types) {
    const EntityModel &type = *created.at(name);
    type_changes.push_back({"add entity type " + name,
                            create_entity_type_sql(type, type.constraints,
                                                   creating.deferred_columns(name)),
                            drop_entity_type_sql(name)});
    for (const auto &[dropped_name, dropped] : gone)
      if (signature(dropped->columns) == signature(type.columns))
        plan.warnings.push_back("entity type " + dropped_name + " is dropped and entity type " +
                                name + " is added with the same columns: if this is a rename, "
                                "the versions of " + dropped_name + " are lost");
  }
  for (const auto &[name, column] : creating.deferred) {
    const ColumnDefinition &definition = *created.at(name)->definition(column);
    plan.add_entity_rules.push_back(
        {"add reference " + name + "." + column + " -> " + describe_reference(definition),
         add_reference_sql(name, definition), drop_reference_sql(name, column)});
  }
  // Types change before their columns do.
  plan.entity_types.insert(plan.entity_types.begin(), type_changes.begin(), type_changes.end());
}

std::string render_body(const std::vector<Operation> &operations, bool down) {
  std::string sql;
  if (!down) {
    for (std::size_t i = 0; i < operations.size(); ++i)
      sql += (i == 0 ? "" : "\n") + ("-- " + operations[i].change + "\n") + operations[i].up;
  } else {
    for (std::size_t i = operations.size(); i-- > 0;)
      sql += (i + 1 == operations.size() ? "" : "\n") + ("-- revert: " + operations[i].change +
                                                          "\n") + operations[i].down;
  }
  return sql;
}

std::string warning_comments(const std::vector<std::string> &warnings) {
  std::string comments;
  for (const auto &warning : warnings) comments += "-- WARNING: " + warning + "\n";
  return comments.empty() ? comments : comments + "\n";
}

} // namespace

namespace {

AutogenerateResult compare(Engine &engine, const DeclaredSchema &schema) {
  Models models = read_models(engine, schema);
  Plan plan;
  compare_tables(models.live, models.declared, plan);
  compare_entity_types(models.live, models.declared, plan);
  AutogenerateResult result;
  std::vector<Operation> operations = plan.in_order();
  if (operations.empty()) return result;
  for (const auto &operation : operations) result.changes.push_back(operation.change);
  result.warnings = plan.warnings;
  result.up_sql = warning_comments(plan.warnings) + render_body(operations, false);
  result.down_sql = render_body(operations, true);
  return result;
}

// Compares the schema `read` gives (its `source` named in the step's header) and writes the
// step pair.
AutogenerateResult write_step(Engine &engine, const std::string &message,
                              const std::function<DeclaredSchema()> &read,
                              const std::string &source, const std::string &directory) {
  if (fs::is_directory(directory)) {
    MigrationRunner runner(engine, directory);
    auto pending = runner.pending();
    if (!pending.empty())
      throw MigrationError("the database is not up to date with " + directory + ": " +
                           std::to_string(pending.size()) + " step(s) not applied, from " +
                           pending.front().name() +
                           ". Run `evcs migrate upgrade` first, so the comparison does not "
                           "repeat their changes.");
  }
  AutogenerateResult result = compare(engine, read());
  if (!result.has_changes()) return result;
  std::string up_path = MigrationRunner::new_step(directory, message);
  std::string base = up_path.substr(0, up_path.size() - std::string(".up.sql").size());
  std::string down_path = base + ".down.sql";
  std::string step = fs::path(base).filename().string();
  // The message goes into a comment line: a line break in it must not start SQL.
  std::string comment = message;
  std::replace(comment.begin(), comment.end(), '\n', ' ');
  std::replace(comment.begin(), comment.end(), '\r', ' ');
  result.up_sql = "-- " + comment + "\n-- Generated by evcs migrate autogenerate from " + source +
                  ": review before applying.\n\n" + result.up_sql;
  result.down_sql = "-- Reverts " + step + ".up.sql (generated by evcs migrate autogenerate).\n\n" +
                    result.down_sql;
  for (const auto &[path, content] : {std::pair<const std::string &, const std::string &>(
                                          up_path, result.up_sql),
                                      {down_path, result.down_sql}}) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
      std::error_code ignored;
      fs::remove(up_path, ignored);
      fs::remove(down_path, ignored);
      throw MigrationError("cannot write " + path + ": check the directory's permissions");
    }
  }
  result.up_path = up_path;
  result.down_path = down_path;
  return result;
}

} // namespace

AutogenerateResult compare_schema(Engine &engine, const std::string &schema_path) {
  return compare(engine, SchemaReader(schema_path).read());
}

AutogenerateResult compare_schema_text(Engine &engine, const std::string &schema_json,
                                       const std::string &source_name) {
  return compare(engine, SchemaReader(source_name, schema_json).read());
}

AutogenerateResult autogenerate(Engine &engine, const std::string &message,
                                const std::string &schema_path, const std::string &directory) {
  return write_step(
      engine, message, [&] { return SchemaReader(schema_path).read(); },
      fs::path(schema_path).filename().string(), directory);
}

AutogenerateResult autogenerate_from_text(Engine &engine, const std::string &message,
                                          const std::string &schema_json,
                                          const std::string &directory,
                                          const std::string &source_name) {
  return write_step(
      engine, message, [&] { return SchemaReader(source_name, schema_json).read(); },
      source_name, directory);
}

} // namespace evcs
