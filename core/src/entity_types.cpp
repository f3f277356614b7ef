#include "entity_type.hpp"

#include "catalog_sql.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"
#include "session_state.hpp"

#include <regex>
#include <sstream>

namespace evcs::detail {

const char *const system_columns[] = {"head_id", "branch", "version", "valid_from", "valid_to",
                                      "deleted", "parent_branch", "parent_version",
                                      "merged_from", "author", nullptr};

bool EntityType::has_column(const std::string &column) const {
  for (const auto &definition : columns)
    if (definition.name == column) return true;
  return false;
}

std::string quoted(const std::string &identifier) { return '"' + identifier + '"'; }

void require_entity_type_name(const std::string &name) {
  static const std::regex valid("[a-z_][a-z0-9_]{0,39}");
  if (!std::regex_match(name, valid) || name.compare(0, 5, "evcs_") == 0)
    throw InvalidArgument("invalid entity type name '" + name +
                          "': use 1-40 lowercase letters, digits and underscores, starting with "
                          "a letter or underscore (and not with evcs_)");
}

void require_column_name(const std::string &name) {
  static const std::regex valid("[a-z_][a-z0-9_]{0,62}");
  if (!std::regex_match(name, valid))
    throw InvalidArgument("invalid column name '" + name +
                          "': use lowercase letters, digits and underscores, starting with a "
                          "letter or underscore");
  for (const char *const *system = system_columns; *system != nullptr; ++system)
    if (name == *system)
      throw InvalidArgument("column name '" + name + "' is reserved for evcs's version metadata");
}

void ensure_catalog(SessionState &session) {
  if (session.engine->catalog_ready) return;
  Result present = session.run("SELECT to_regprocedure('evcs_finalize(text[],text,text,text,text)') "
                               "IS NOT NULL",
                               Params());
  if (!present.get_bool(0, 0)) {
    // Serialises first-time creation between processes; released at the end of the transaction.
    session.run("SELECT pg_advisory_xact_lock(7310598)", Params());
    session.run_script(catalog_sql);
  }
  session.engine->catalog_ready = true;
}

std::shared_ptr<const EntityType> EntityTypeRegistry::find(SessionState &session,
                                                           const std::string &name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = types_.find(name);
    if (found != types_.end()) return found->second;
  }
  require_entity_type_name(name);
  ensure_catalog(session);
  Result row = session.run("SELECT columns::text FROM evcs_entity_type WHERE name = $1",
                           Params::of(name));
  if (row.rows() == 0)
    throw NotFound("unknown entity type '" + name + "': create it with create_entity_type",
                   "EVN01");
  auto type = std::make_shared<EntityType>();
  type->name = name;
  for (const auto &column : nlohmann::json::parse(row.get_text(0, 0)))
    type->columns.push_back({column.at("name").get<std::string>(),
                             column.at("type").get<std::string>()});
  // The version table's column types, read once per definition, as results report them (the
  // server describes a domain's cells as its base type).
  Result types = session.run("SELECT a.attname::text, coalesce(nullif(t.typbasetype, 0), "
                             "a.atttypid)::bigint FROM pg_attribute a JOIN pg_type t ON t.oid = "
                             "a.atttypid WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND "
                             "NOT a.attisdropped",
                             Params::of(quoted(type->version_table())));
  for (const auto &column : type->columns) {
    ColumnType value_type = ColumnType::text;
    for (std::int64_t row = 0; row < types.rows(); ++row)
      if (types.get_text(row, 0) == column.name)
        value_type = column_type_of_oid(static_cast<std::uint32_t>(types.get_int64(row, 1)));
    type->value_types.push_back(value_type);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return types_.emplace(name, std::move(type)).first->second;
}

void EntityTypeRegistry::forget(const std::string &name) {
  std::lock_guard<std::mutex> lock(mutex_);
  types_.erase(name);
}

namespace {

// Splits "numeric(14,2) not null" into the type and its nullability, normalising case and
// spaces; only the shapes of PostgreSQL type names pass, so the result is safe in DDL.
std::pair<std::string, bool> parse_column_type(const std::string &column,
                                               const std::string &declared) {
  std::string normal;
  for (char c : declared) {
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isspace(static_cast<unsigned char>(lower))) lower = ' ';
    if (lower == ' ' && (normal.empty() || normal.back() == ' ')) continue;
    normal.push_back(lower);
  }
  while (!normal.empty() && normal.back() == ' ') normal.pop_back();
  bool not_null = false;
  const std::string suffix = " not null";
  if (normal.size() > suffix.size() &&
      normal.compare(normal.size() - suffix.size(), suffix.size(), suffix) == 0) {
    not_null = true;
    normal.erase(normal.size() - suffix.size());
  }
  static const std::regex type_shape(
      "[a-z][a-z0-9_]*( [a-z][a-z0-9_]*)*( ?\\( ?[0-9]+ ?(, ?[0-9]+ ?)?\\))?(\\[\\])*");
  if (!std::regex_match(normal, type_shape))
    throw InvalidArgument("column '" + column + "' has an invalid type '" + declared +
                          "': give a PostgreSQL type such as text, numeric(14,2), jsonb, uuid, "
                          "timestamptz or text[], optionally followed by 'not null'");
  return {normal, not_null};
}

std::string column_list(const EntityType &type, const std::string &prefix = "") {
  std::string list;
  for (const auto &column : type.columns)
    list += (list.empty() ? "" : ", ") + prefix + quoted(column.name);
  return list;
}

} // namespace

std::string entity_type_ddl(const EntityType &type) {
  const std::string head = quoted(type.name);
  const std::string versions = quoted(type.version_table());
  const std::string prefix = type.name + "_version";
  std::ostringstream ddl;
  ddl << "CREATE TABLE " << head
      << " (head_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
         "created_at timestamptz NOT NULL DEFAULT clock_timestamp(), created_by text);\n";
  ddl << "CREATE TABLE " << versions << " (\n"
      << "  head_id uuid NOT NULL REFERENCES " << head << " (head_id) ON DELETE CASCADE,\n"
      << "  branch text NOT NULL,\n"
      << "  version int NOT NULL CHECK (version > 0),\n"
      << "  valid_from timestamptz NOT NULL,\n"
      << "  valid_to timestamptz,\n"
      << "  deleted boolean NOT NULL DEFAULT false,\n"
      << "  parent_branch text,\n"
      << "  parent_version int,\n"
      << "  merged_from text,\n"
      << "  author text,\n";
  for (const auto &column : type.columns) ddl << "  " << quoted(column.name) << " " << column.type << ",\n";
  ddl << "  PRIMARY KEY (head_id, branch, valid_from),\n"
      << "  CONSTRAINT " << quoted(prefix + "_range") << " CHECK (valid_from < valid_to OR valid_to IS NULL),\n"
      << "  CONSTRAINT " << quoted(prefix + "_no_overlap")
      << " EXCLUDE USING gist (head_id WITH =, branch WITH =, tstzrange(valid_from, valid_to) WITH &&)\n"
      << ");\n";
  ddl << "CREATE UNIQUE INDEX " << quoted(prefix + "_open") << " ON " << versions
      << " (head_id, branch) WHERE valid_to IS NULL;\n";
  ddl << "CREATE INDEX " << quoted(prefix + "_travel") << " ON " << versions << " (head_id, valid_from);\n";
  ddl << "CREATE INDEX " << quoted(prefix + "_branch_current") << " ON " << versions
      << " (branch, head_id) WHERE valid_to IS NULL;\n";
  // The versions of the transaction in flight carry 'infinity' until its commit stamps them.
  ddl << "CREATE INDEX " << quoted(prefix + "_pending_from") << " ON " << versions
      << " (head_id) WHERE valid_from = 'infinity';\n";
  ddl << "CREATE INDEX " << quoted(prefix + "_pending_to") << " ON " << versions
      << " (head_id) WHERE valid_to = 'infinity';\n";
  ddl << "CREATE VIEW " << quoted(type.name + "_current") << " AS SELECT head_id, version, "
      << "valid_from, author" << (type.columns.empty() ? "" : ", ") << column_list(type) << " FROM "
      << versions << " WHERE branch = 'main' AND valid_to IS NULL AND NOT deleted;\n";

  // One function writes every kind of version, so each write is one round trip, and its
  // statements see rows committed while it waited for the entity's lock (READ COMMITTED takes
  // a snapshot per statement inside a function).
  const std::string row_type = versions;
  std::string assign_user_columns;
  for (const auto &column : type.columns)
    assign_user_columns += "    next_version." + quoted(column.name) + " := populated." +
                           quoted(column.name) + ";\n";
  std::string same_content = "ROW(next_version.deleted" + std::string(type.columns.empty() ? "" : ", ") +
                             column_list(type, "next_version.") + ") IS NOT DISTINCT FROM ROW(current_version.deleted" +
                             (type.columns.empty() ? "" : ", ") + column_list(type, "current_version.") + ")";
  std::string set_in_place = "deleted = next_version.deleted, author = next_version.author, "
                             "merged_from = next_version.merged_from";
  for (const auto &column : type.columns)
    set_in_place += ", " + quoted(column.name) + " = next_version." + quoted(column.name);
  // Version 1 of an entity on a branch: created there, or brought in by a merge.
  const std::string first_version =
      "    next_version := jsonb_populate_record(NULL::" + row_type + ", changes);\n"
      "    next_version.head_id := target;\n"
      "    next_version.branch := branch_name;\n"
      "    next_version.version := 1;\n"
      "    next_version.valid_from := 'infinity';\n"
      "    next_version.valid_to := NULL;\n"
      "    next_version.deleted := false;\n"
      "    next_version.parent_branch := NULL;\n"
      "    next_version.parent_version := NULL;\n"
      "    next_version.merged_from := source_branch;\n"
      "    next_version.author := author_name;\n"
      "    INSERT INTO " + versions + " SELECT next_version.* RETURNING * INTO next_version;\n"
      "    RETURN NEXT next_version;\n"
      "    RETURN;\n";
  ddl << "CREATE FUNCTION " << quoted(type.name + "_evcs_write")
      << "(operation text, target uuid, branch_name text, changes jsonb, expected int, author_name text,\n"
      << " source_branch text DEFAULT NULL)\n"
      << "RETURNS SETOF " << row_type << " LANGUAGE plpgsql AS $evcs$\n"
      << "DECLARE\n"
      << "  current_version " << row_type << ";\n"
      << "  next_version " << row_type << ";\n"
      << "  populated " << row_type << ";\n"
      << "  inherited boolean := false;\n"
      << "BEGIN\n"
      << "  PERFORM evcs_require_writable(branch_name);\n"
      << "  IF operation = 'create' THEN\n"
      << "    INSERT INTO " << head << " (head_id, created_by) VALUES (coalesce(target, gen_random_uuid()), author_name)\n"
      << "      RETURNING head_id INTO target;\n"
      << first_version
      << "  END IF;\n"
      << "  PERFORM 1 FROM " << head << " WHERE head_id = target FOR UPDATE;\n"
      << "  IF NOT FOUND THEN\n"
      << "    RAISE EXCEPTION '" << type.name << " % does not exist', target USING ERRCODE = 'EVN01';\n"
      << "  END IF;\n"
      << "  SELECT * INTO current_version FROM " << versions
      << " WHERE head_id = target AND branch = branch_name AND valid_to IS NULL;\n"
      << "  IF NOT FOUND THEN\n"
      << "    SELECT v.* INTO current_version FROM evcs_lineage(branch_name, 'infinity') l\n"
      << "      CROSS JOIN LATERAL (SELECT * FROM " << versions << " x WHERE x.head_id = target"
      << " AND x.branch = l.branch AND x.valid_from <= l.at ORDER BY x.valid_from DESC LIMIT 1) v\n"
      << "      WHERE l.depth > 0 ORDER BY l.depth LIMIT 1;\n"
      << "    IF NOT FOUND AND operation = 'merge' THEN\n"
      << first_version
      << "    END IF;\n"
      << "    IF NOT FOUND THEN\n"
      << "      RAISE EXCEPTION '" << type.name << " % has no version on branch % or the branches it reads through', target, branch_name\n"
      << "        USING ERRCODE = 'EVN01';\n"
      << "    END IF;\n"
      << "    inherited := true;\n"
      << "  END IF;\n"
      << "  IF expected IS NOT NULL AND current_version.version <> expected THEN\n"
      << "    RAISE EXCEPTION '" << type.name << " % is at version %, not the expected %', target, current_version.version, expected\n"
      << "      USING ERRCODE = 'EVC01', HINT = 'reload it and apply the change again';\n"
      << "  END IF;\n"
      << "  next_version := current_version;\n"
      << "  IF operation IN ('update', 'revert', 'merge') THEN\n"
      << "    IF current_version.deleted AND operation = 'update' THEN\n"
      << "      RAISE EXCEPTION '" << type.name << " % is deleted', target USING ERRCODE = 'EVN01', HINT = 'restore it first';\n"
      << "    END IF;\n"
      << "    populated := jsonb_populate_record(current_version, changes);\n"
      << assign_user_columns
      << "    next_version.deleted := false;\n"
      << "  ELSIF operation = 'merge_delete' THEN\n"
      << "    next_version.deleted := true;\n"
      << "  ELSIF operation = 'delete' THEN\n"
      << "    IF current_version.deleted THEN\n"
      << "      RAISE EXCEPTION '" << type.name << " % is already deleted', target USING ERRCODE = 'EVN01';\n"
      << "    END IF;\n"
      << "    next_version.deleted := true;\n"
      << "  ELSIF operation = 'restore' THEN\n"
      << "    IF NOT current_version.deleted THEN\n"
      << "      RAISE EXCEPTION '" << type.name << " % is not deleted', target USING ERRCODE = 'EVI01';\n"
      << "    END IF;\n"
      << "    next_version.deleted := false;\n"
      << "  ELSE\n"
      << "    RAISE EXCEPTION 'unknown operation %', operation USING ERRCODE = 'EVI01';\n"
      << "  END IF;\n"
      << "  next_version.author := author_name;\n"
      << "  next_version.merged_from := source_branch;\n"
      << "  IF " << same_content << " THEN\n"
      << "    RETURN NEXT current_version;\n"
      << "    RETURN;\n"
      << "  END IF;\n"
      << "  IF inherited THEN\n"
      << "    next_version.branch := branch_name;\n"
      << "    next_version.version := 1;\n"
      << "    next_version.parent_branch := current_version.branch;\n"
      << "    next_version.parent_version := current_version.version;\n"
      << "    next_version.valid_from := 'infinity';\n"
      << "    next_version.valid_to := NULL;\n"
      << "    INSERT INTO " << versions << " SELECT next_version.* RETURNING * INTO next_version;\n"
      << "  ELSIF current_version.valid_from = 'infinity' THEN\n"
      << "    UPDATE " << versions << " SET " << set_in_place
      << " WHERE head_id = target AND branch = branch_name AND valid_from = 'infinity' RETURNING * INTO next_version;\n"
      << "  ELSE\n"
      << "    UPDATE " << versions << " SET valid_to = 'infinity'"
      << " WHERE head_id = target AND branch = branch_name AND valid_from = current_version.valid_from;\n"
      << "    next_version.version := current_version.version + 1;\n"
      << "    next_version.valid_from := 'infinity';\n"
      << "    next_version.valid_to := NULL;\n"
      << "    INSERT INTO " << versions << " SELECT next_version.* RETURNING * INTO next_version;\n"
      << "  END IF;\n"
      << "  RETURN NEXT next_version;\n"
      << "END $evcs$;\n";
  ddl << "INSERT INTO evcs_entity_type (name, columns) VALUES ('" << type.name << "', '"
      << [&] {
           nlohmann::json columns = nlohmann::json::array();
           for (const auto &column : type.columns)
             columns.push_back({{"name", column.name}, {"type", column.type}});
           return columns.dump();
         }()
      << "');\n";
  return ddl.str();
}

} // namespace evcs::detail

namespace evcs {

using detail::SessionState;

void Session::create_entity_type(const std::string &name,
                                 const std::vector<ColumnDefinition> &columns) {
  SessionState::UseGuard guard(*state_);
  detail::require_entity_type_name(name);
  detail::EntityType type;
  type.name = name;
  std::vector<std::string> base_types;
  for (const auto &column : columns) {
    detail::require_column_name(column.name);
    if (type.has_column(column.name))
      throw InvalidArgument("column '" + column.name + "' is given twice");
    auto [base_type, not_null] = detail::parse_column_type(column.name, column.type);
    type.columns.push_back({column.name, base_type + (not_null ? " not null" : "")});
    base_types.push_back(base_type);
  }
  detail::ensure_catalog(*state_);
  for (std::size_t index = 0; index < base_types.size(); ++index) {
    Result known = state_->run("SELECT to_regtype($1) IS NOT NULL", Params::of(base_types[index]));
    if (!known.get_bool(0, 0))
      throw InvalidArgument("column '" + type.columns[index].name + "' has an unknown type '" +
                            base_types[index] + "'");
  }
  if (state_->run("SELECT 1 FROM evcs_entity_type WHERE name = $1", Params::of(name)).rows() != 0)
    throw InvalidArgument("entity type '" + name + "' already exists");
  state_->run_script(detail::entity_type_ddl(type));
  state_->engine->entity_types.forget(name);
}

Repository Session::repository(const std::string &entity_type) {
  SessionState::UseGuard guard(*state_);
  return Repository(state_, state_->engine->entity_types.find(*state_, entity_type));
}

} // namespace evcs
