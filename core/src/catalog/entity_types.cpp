#include "catalog/entity_type.hpp"

#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

namespace evcs::detail {

bool EntityType::has_column(const std::string &column) const {
  for (const auto &definition : columns)
    if (definition.name == column) return true;
  return false;
}

std::string EntityType::select_list(const std::string &qualifier) const {
  std::string list;
  for (const char *system : FoundPage::system_columns)
    list += (list.empty() ? "" : ", ") + qualifier + system;
  for (const auto &column : columns) list += ", " + qualifier + quoted(column.name);
  return list;
}

const std::string &
EntityType::autocommit_update_sql(const std::vector<std::size_t> &changed) const {
  std::lock_guard<std::mutex> lock(update_statements_mutex_);
  auto found = update_statements_.find(changed);
  if (found == update_statements_.end())
    found = update_statements_.emplace(changed, autocommit_update_statement(*this, changed)).first;
  return found->second;
}

namespace {

// `text` between two `quote` characters, each one inside doubled.
std::string quote_with(const std::string &text, char quote) {
  std::string result(1, quote);
  for (char c : text) {
    result += c;
    if (c == quote) result += quote;
  }
  return result + quote;
}

} // namespace

std::string quoted(const std::string &identifier) { return quote_with(identifier, '"'); }
std::string quote_literal(const std::string &text) { return quote_with(text, '\''); }

void require_entity_type_name(const std::string &name) {
  static const std::regex valid("[a-z_][a-z0-9_]{0,39}");
  if (!std::regex_match(name, valid) || name.compare(0, 5, "evcs_") == 0)
    throw InvalidArgument("invalid entity type name '" + name +
                          "': use 1-40 lowercase letters, digits and underscores, starting with "
                          "a letter or underscore (and not with evcs_)",
                          "EVI01");
}

void require_column_name(const std::string &name) {
  static const std::regex valid("[a-z_][a-z0-9_]{0,62}");
  if (!std::regex_match(name, valid))
    throw InvalidArgument("invalid column name '" + name +
                          "': use lowercase letters, digits and underscores, starting with a "
                          "letter or underscore",
                          "EVI01");
  for (const char *system : FoundPage::system_columns)
    if (name == system)
      throw InvalidArgument("column name '" + name + "' is reserved for evcs's version metadata",
                            "EVI01");
}

std::shared_ptr<const EntityType> EntityTypeRegistry::find(SessionState &session,
                                                           const std::string &name) {
  require_entity_type_name(name);
  ensure_catalog(session);
  // Read in the session's transaction on every call, so a column change committed by anyone
  // (a migration step, another process) or made earlier in this transaction is seen.
  Result row = session.run("SELECT columns::text, constraints::text FROM evcs_entity_type "
                           "WHERE name = $1",
                           Params::of(name));
  if (row.rows() == 0)
    throw NotFound("unknown entity type '" + name + "': create it with create_entity_type",
                   "EVN01");
  std::string definition = row.get_text(0, 0) + '\n' + row.get_text(0, 1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = types_.find(name);
    if (found != types_.end() && found->second.definition == definition) return found->second.type;
  }
  auto type = std::make_shared<EntityType>();
  type->name = name;
  for (const auto &column : nlohmann::json::parse(row.get_text(0, 0)))
    type->columns.push_back({column.at("name").get<std::string>(),
                             column.at("type").get<std::string>(), column.value("references", ""),
                             column.value("on_delete", "")});
  type->constraints = EntityConstraints::from_json(nlohmann::json::parse(row.get_text(0, 1)));
  // The version table's column types, read once per definition, as results report them (the
  // server describes a domain's cells as its base type).
  Result types = session.run("SELECT a.attname::text, coalesce(nullif(t.typbasetype, 0), "
                             "a.atttypid)::bigint, format_type(a.atttypid, a.atttypmod), "
                             "a.attnotnull FROM pg_attribute a JOIN pg_type t ON "
                             "t.oid = a.atttypid WHERE a.attrelid = $1::regclass AND "
                             "a.attnum > 0 AND NOT a.attisdropped",
                             Params::of(quoted(type->version_table())));
  for (const auto &column : type->columns) {
    ColumnType value_type = ColumnType::text;
    std::string sql_type = "text";
    bool nullable = true;
    for (std::int64_t row = 0; row < types.rows(); ++row)
      if (types.get_text(row, 0) == column.name) {
        value_type = column_type_of_oid(static_cast<std::uint32_t>(types.get_int64(row, 1)));
        sql_type = types.get_text(row, 2);
        nullable = !types.get_bool(row, 3);
      }
    type->value_types.push_back(value_type);
    type->sql_types.push_back(sql_type);
    type->nullable.push_back(nullable);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  types_[name] = {std::move(definition), type};
  return type;
}

// Raises InvalidArgument unless a column of `base_type` can hold references followed by
// `on_delete` (the SQL functions check the same, but their errors abort the transaction).
void require_reference_column(const std::string &column, const std::string &base_type,
                              bool not_null, const std::string &on_delete) {
  if (on_delete != "restrict" && on_delete != "cascade" && on_delete != "set null")
    throw InvalidArgument("on_delete of column '" + column + "' must be restrict, cascade or set "
                          "null, not '" + on_delete + "'", "EVI01");
  if (base_type != "uuid")
    throw InvalidArgument("reference column '" + column + "' must be of type uuid, not " +
                          base_type, "EVI01");
  if (on_delete == "set null" && not_null)
    throw InvalidArgument("column '" + column + "' is not null: its references cannot be set "
                          "null on delete", "EVI01");
}

// Raises InvalidArgument unless `check` names a check and `expression` can be one.
void require_check(const std::string &type_name, const std::string &check,
                   const std::string &expression) {
  static const std::regex check_name("[a-z_][a-z0-9_]{0,39}");
  if (!std::regex_match(check, check_name) || expression.find(';') != std::string::npos ||
      expression.find_first_not_of(" \t\n") == std::string::npos)
    throw InvalidArgument("invalid check '" + check + "' of entity type '" + type_name + "': "
                          "name it with lowercase letters, digits and underscores and give one "
                          "SQL boolean expression over the columns, e.g. \"qty > 0\"", "EVI01");
}

std::string single_spaced_lowercase(const std::string &declared) {
  std::string normal;
  for (char c : declared) {
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isspace(static_cast<unsigned char>(lower))) lower = ' ';
    if (lower == ' ' && (normal.empty() || normal.back() == ' ')) continue;
    normal.push_back(lower);
  }
  while (!normal.empty() && normal.back() == ' ') normal.pop_back();
  return normal;
}

bool has_type_name_shape(const std::string &normal) {
  static const std::regex shape(
      "[a-z_][a-z0-9_]*( [a-z_][a-z0-9_]*)*( ?\\( ?[0-9]+ ?(, ?[0-9]+ ?)?\\))?(\\[\\])*");
  return std::regex_match(normal, shape);
}

namespace {

// Splits "numeric(14,2) not null" into the type and its nullability, normalising case and
// spaces; only the shapes of PostgreSQL type names pass, so the result is safe in DDL.
std::pair<std::string, bool> parse_column_type(const std::string &column,
                                               const std::string &declared) {
  std::string normal = single_spaced_lowercase(declared);
  bool not_null = false;
  const std::string suffix = " not null";
  if (normal.size() > suffix.size() &&
      normal.compare(normal.size() - suffix.size(), suffix.size(), suffix) == 0) {
    not_null = true;
    normal.erase(normal.size() - suffix.size());
  }
  if (!has_type_name_shape(normal))
    throw InvalidArgument("column '" + column + "' has an invalid type '" + declared +
                          "': give a PostgreSQL type such as text, numeric(14,2), jsonb, uuid, "
                          "timestamptz or text[], optionally followed by 'not null'",
                          "EVI01");
  return {normal, not_null};
}

void require_known_type(SessionState &session, const std::string &column,
                        const std::string &base_type) {
  if (!session.run("SELECT to_regtype($1) IS NOT NULL", Params::of(base_type)).get_bool(0, 0))
    throw InvalidArgument("column '" + column + "' has an unknown type '" + base_type + "'",
                          "EVI01");
}

// The type's definition as this transaction sees it, for checking a column change before it is
// sent (the SQL functions check again, but their errors abort the transaction).
std::shared_ptr<const EntityType> definition_for_change(SessionState &session,
                                                        const std::string &type_name,
                                                        const std::string &column) {
  auto type = session.engine->entity_types.find(session, type_name);
  for (const char *system : FoundPage::system_columns)
    if (column == system)
      throw InvalidArgument("column '" + column + "' is evcs's version metadata: it cannot be "
                            "dropped or renamed", "EVI01");
  if (!type->has_column(column))
    throw NotFound("entity type '" + type_name + "' has no column '" + column + "'", "EVN01");
  return type;
}

// The definition of one of the type's columns (which it has).
const ColumnDefinition &column_definition(const EntityType &type, const std::string &column) {
  return *std::find_if(type.columns.begin(), type.columns.end(),
                       [&column](const ColumnDefinition &each) { return each.name == column; });
}

// The definition of a column that holds references (for changing its reference); the type's
// definition stays cached by the registry.
ColumnDefinition require_reference(SessionState &session, const std::string &type_name,
                                   const std::string &column) {
  ColumnDefinition definition =
      column_definition(*definition_for_change(session, type_name, column), column);
  if (definition.references.empty())
    throw InvalidArgument("column '" + column + "' of entity type '" + type_name +
                          "' refers to no entity type", "EVI01");
  return definition;
}

std::string comma_list(const std::vector<std::string> &names) {
  std::string list;
  for (const auto &name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

} // namespace

} // namespace evcs::detail

namespace evcs {

using detail::SessionState;
using detail::require_known_type;

void Session::create_entity_type(const std::string &name,
                                 const std::vector<ColumnDefinition> &columns,
                                 const EntityConstraints &constraints) {
  SessionState::UseGuard guard(*state_);
  // Checked here as well as by the SQL function so that a mistake leaves the transaction usable.
  detail::require_entity_type_name(name);
  detail::EntityType type;
  type.name = name;
  std::vector<std::string> base_types;
  nlohmann::json declared = nlohmann::json::array();
  for (const auto &column : columns) {
    detail::require_column_name(column.name);
    if (type.has_column(column.name))
      throw InvalidArgument("column '" + column.name + "' is given twice", "EVI01");
    const bool reference = !column.references.empty();
    if (!reference && !column.on_delete.empty())
      throw InvalidArgument("column '" + column.name + "' has an on_delete but references no "
                            "entity type", "EVI01");
    auto [base_type, not_null] = detail::parse_column_type(
        column.name, reference && column.type.empty() ? "uuid" : column.type);
    type.columns.push_back({column.name, base_type + (not_null ? " not null" : ""),
                            column.references, column.on_delete});
    base_types.push_back(base_type);
    declared.push_back({{"name", column.name}, {"type", type.columns.back().type}});
    if (reference) {
      detail::require_entity_type_name(column.references);
      const std::string on_delete = column.on_delete.empty() ? "restrict" : column.on_delete;
      detail::require_reference_column(column.name, base_type, not_null, on_delete);
      declared.back()["references"] = column.references;
      declared.back()["on_delete"] = on_delete;
    }
  }
  for (const auto &key : constraints.unique) {
    if (key.empty())
      throw InvalidArgument("a unique key of entity type '" + name + "' has no column", "EVI01");
    for (const auto &column : key)
      if (!type.has_column(column))
        throw InvalidArgument("unique key column '" + column + "' is not a column of entity "
                              "type '" + name + "'", "EVI01");
  }
  for (const auto &[check, expression] : constraints.checks)
    detail::require_check(name, check, expression);
  detail::ensure_catalog(*state_);
  for (std::size_t index = 0; index < base_types.size(); ++index)
    require_known_type(*state_, type.columns[index].name, base_types[index]);
  if (state_->run("SELECT 1 FROM evcs_entity_type WHERE name = $1", Params::of(name)).rows() != 0)
    throw InvalidArgument("entity type '" + name + "' already exists", "EVI01");
  for (const auto &column : type.columns)
    if (!column.references.empty() && column.references != name &&
        state_->run("SELECT 1 FROM evcs_entity_type WHERE name = $1",
                    Params::of(column.references)).rows() == 0)
      throw NotFound("column '" + column.name + "' references unknown entity type '" +
                     column.references + "': create the type referred to first", "EVN01");
  Params params = Params::of(name);
  params.add_json(declared.dump());
  params.add_json(constraints.to_json().dump());
  state_->run("SELECT evcs_create_entity_type($1, $2::jsonb, $3::jsonb)", params);
}

nlohmann::json EntityConstraints::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  if (!unique.empty()) json["unique"] = unique;
  if (!checks.empty()) {
    json["checks"] = nlohmann::json::object();
    for (const auto &[check_name, expression] : checks) json["checks"][check_name] = expression;
  }
  return json;
}

EntityConstraints EntityConstraints::from_json(const nlohmann::json &json) {
  const auto invalid = [&json]() {
    return InvalidArgument("constraints must be {\"unique\": [[column, ...], ...], \"checks\": "
                           "{name: expression, ...}}, not " + json.dump(), "EVI01");
  };
  EntityConstraints constraints;
  if (json.is_null()) return constraints;
  if (!json.is_object()) throw invalid();
  for (const auto &[key, value] : json.items()) {
    if (key == "unique" && value.is_array()) {
      for (const auto &columns : value) {
        if (!columns.is_array()) throw invalid();
        std::vector<std::string> names;
        for (const auto &column : columns) {
          if (!column.is_string()) throw invalid();
          names.push_back(column.get<std::string>());
        }
        constraints.unique.push_back(std::move(names));
      }
    } else if (key == "checks" && value.is_object()) {
      for (const auto &[check_name, expression] : value.items()) {
        if (!expression.is_string()) throw invalid();
        constraints.checks.emplace_back(check_name, expression.get<std::string>());
      }
    } else {
      throw invalid();
    }
  }
  return constraints;
}

Repository Session::repository(const std::string &entity_type) {
  SessionState::UseGuard guard(*state_);
  return Repository(state_, state_->engine->entity_types.find(*state_, entity_type));
}

void Session::add_column(const std::string &entity_type, const ColumnDefinition &column,
                         const std::optional<std::string> &default_value) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::require_column_name(column.name);
  const bool reference = !column.references.empty();
  if (!reference && !column.on_delete.empty())
    throw InvalidArgument("column '" + column.name + "' has an on_delete but references no "
                          "entity type", "EVI01");
  auto [base_type, not_null] = detail::parse_column_type(
      column.name, reference && column.type.empty() ? "uuid" : column.type);
  const std::string on_delete = column.on_delete.empty() ? "restrict" : column.on_delete;
  if (reference) {
    detail::require_entity_type_name(column.references);
    detail::require_reference_column(column.name, base_type, not_null, on_delete);
  }
  auto type = state_->engine->entity_types.find(*state_, entity_type);
  if (type->has_column(column.name))
    throw InvalidArgument("entity type '" + entity_type + "' already has a column '" +
                          column.name + "'", "EVI01");
  require_known_type(*state_, column.name, base_type);
  Params params = Params::of(entity_type, column.name, base_type + (not_null ? " not null" : ""));
  params.add(default_value);
  state_->run("SELECT evcs_add_column($1, $2, $3, $4)", params);
  // A new referencing column is a column, then a reference on it.
  if (reference)
    state_->run("SELECT evcs_add_reference($1, $2, $3, $4)",
                Params::of(entity_type, column.name, column.references, on_delete));
}

void Session::drop_column(const std::string &entity_type, const std::string &column) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::definition_for_change(*state_, entity_type, column);
  state_->run("SELECT evcs_drop_column($1, $2)", Params::of(entity_type, column));
}

void Session::rename_column(const std::string &entity_type, const std::string &column,
                            const std::string &new_name) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::require_column_name(new_name);
  auto type = detail::definition_for_change(*state_, entity_type, column);
  if (type->has_column(new_name))
    throw InvalidArgument("entity type '" + entity_type + "' already has a column '" + new_name +
                          "': drop or rename that column first", "EVI01");
  state_->run("SELECT evcs_rename_column($1, $2, $3)",
              Params::of(entity_type, column, new_name));
}

void Session::add_reference(const std::string &entity_type, const std::string &column,
                            const std::string &references, const std::string &on_delete) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::require_entity_type_name(references);
  const ColumnDefinition definition = detail::column_definition(
      *detail::definition_for_change(*state_, entity_type, column), column);
  if (!definition.references.empty())
    throw InvalidArgument("column '" + column + "' of entity type '" + entity_type +
                          "' already refers to " + definition.references + ": drop the "
                          "reference first, or change its on_delete with alter_reference",
                          "EVI01");
  auto [base_type, not_null] = detail::parse_column_type(column, definition.type);
  detail::require_reference_column(column, base_type, not_null, on_delete);
  state_->run("SELECT evcs_add_reference($1, $2, $3, $4)",
              Params::of(entity_type, column, references, on_delete));
}

void Session::drop_reference(const std::string &entity_type, const std::string &column) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::require_reference(*state_, entity_type, column);
  state_->run("SELECT evcs_drop_reference($1, $2)", Params::of(entity_type, column));
}

void Session::alter_reference(const std::string &entity_type, const std::string &column,
                              const std::string &on_delete) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  const ColumnDefinition definition = detail::require_reference(*state_, entity_type, column);
  auto [base_type, not_null] = detail::parse_column_type(column, definition.type);
  detail::require_reference_column(column, base_type, not_null, on_delete);
  state_->run("SELECT evcs_alter_reference($1, $2, $3)",
              Params::of(entity_type, column, on_delete));
}

void Session::add_unique_key(const std::string &entity_type,
                             const std::vector<std::string> &columns) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  if (columns.empty())
    throw InvalidArgument("a unique key of entity type '" + entity_type + "' has no column",
                          "EVI01");
  for (const auto &column : columns) detail::definition_for_change(*state_, entity_type, column);
  Params params = Params::of(entity_type);
  params.add_json(nlohmann::json(columns).dump());
  state_->run("SELECT evcs_add_unique_key($1, ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))",
              params);
}

void Session::drop_unique_key(const std::string &entity_type,
                              const std::vector<std::string> &columns) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  auto type = state_->engine->entity_types.find(*state_, entity_type);
  if (std::find(type->constraints.unique.begin(), type->constraints.unique.end(), columns) ==
      type->constraints.unique.end())
    throw NotFound("entity type '" + entity_type + "' has no unique key (" +
                   detail::comma_list(columns) + ")", "EVN01");
  Params params = Params::of(entity_type);
  params.add_json(nlohmann::json(columns).dump());
  state_->run(
      "SELECT evcs_drop_unique_key($1, ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))",
      params);
}

void Session::add_check(const std::string &entity_type, const std::string &name,
                        const std::string &expression) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  detail::require_check(entity_type, name, expression);
  state_->run("SELECT evcs_add_check($1, $2, $3)", Params::of(entity_type, name, expression));
}

void Session::drop_check(const std::string &entity_type, const std::string &name) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(entity_type);
  auto type = state_->engine->entity_types.find(*state_, entity_type);
  const auto &checks = type->constraints.checks;
  if (std::find_if(checks.begin(), checks.end(),
                   [&name](const auto &check) { return check.first == name; }) == checks.end())
    throw NotFound("entity type '" + entity_type + "' has no check '" + name + "'", "EVN01");
  state_->run("SELECT evcs_drop_check($1, $2)", Params::of(entity_type, name));
}

} // namespace evcs
