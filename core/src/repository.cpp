#include "commits.hpp"
#include "copy_text.hpp"
#include "entity_type.hpp"
#include "evcs/error.hpp"
#include "evcs/versioning.hpp"
#include "session_state.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <string_view>

namespace evcs {

using detail::EntityType;
using detail::quoted;
using detail::SessionState;

namespace {

// Version metadata that filters and order_by may name besides the entity's own columns.
const char *const queryable_system_fields[] = {"head_id", "version", "valid_from", "valid_to",
                                               "author", nullptr};

std::string known_fields(const EntityType &type) {
  std::string known;
  for (const auto &column : type.columns) known += (known.empty() ? "" : ", ") + column.name;
  return known;
}

std::string field_sql(const EntityType &type, const std::string &field) {
  if (type.has_column(field)) return quoted(field);
  for (const char *const *system = queryable_system_fields; *system != nullptr; ++system)
    if (field == *system) return quoted(field);
  throw InvalidArgument("unknown field '" + field + "' of entity type '" + type.name +
                        "' (fields: " + known_fields(type) +
                        "; metadata: head_id, version, valid_from, valid_to, author)");
}

// A JSON scalar as the text the server parses for the column's type.
std::string scalar_text(const nlohmann::json &value, const std::string &field) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_float()) return detail::double_text(value.get<double>());
  if (value.is_number() || value.is_object()) return detail::json_text(value);
  throw InvalidArgument("the value for '" + field + "' must be a string, number, boolean or "
                        "object, not " + std::string(value.type_name()));
}

// A PostgreSQL array literal of the values' text forms, every element quoted.
std::string array_literal(const nlohmann::json &values, const std::string &field) {
  if (!values.is_array())
    throw InvalidArgument("the value of 'in'/'not_in' for '" + field + "' must be a list");
  std::string literal = "{";
  for (const auto &value : values) {
    if (literal.size() > 1) literal += ",";
    if (value.is_null()) {
      literal += "NULL";
      continue;
    }
    literal += '"';
    for (char c : scalar_text(value, field)) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

class FilterCompiler {
public:
  FilterCompiler(const EntityType &type, Params &params) : type_(type), params_(params) {}

  std::string compile(const nlohmann::json &filter) {
    if (filter.is_null()) return "TRUE";
    if (!filter.is_object())
      throw InvalidArgument("a filter must be an object such as {\"status\": \"active\"}");
    std::string sql;
    for (const auto &[key, value] : filter.items()) {
      std::string condition;
      if (key == "and" || key == "or") {
        if (!value.is_array() || value.empty())
          throw InvalidArgument("'" + key + "' takes a non-empty list of filters");
        for (const auto &part : value)
          condition += (condition.empty() ? "" : key == "and" ? " AND " : " OR ") +
                       ("(" + compile(part) + ")");
      } else if (key == "not") {
        condition = "NOT (" + compile(value) + ")";
      } else {
        condition = field_condition(key, value);
      }
      sql += (sql.empty() ? "" : " AND ") + ("(" + condition + ")");
    }
    return sql.empty() ? "TRUE" : sql;
  }

private:
  std::string parameter(const std::string &text) {
    params_.add(text);
    return "$" + std::to_string(params_.size());
  }

  std::string field_condition(const std::string &field, const nlohmann::json &value) {
    std::string column = field_sql(type_, field);
    if (!value.is_object() || type_column_is_json(field)) {
      if (value.is_null()) return column + " IS NULL";
      return column + " = " + parameter(scalar_text(value, field));
    }
    std::string sql;
    for (const auto &[op, operand] : value.items()) {
      std::string condition;
      if (op == "is_null") {
        if (!operand.is_boolean()) throw InvalidArgument("'is_null' takes true or false");
        condition = column + (operand.get<bool>() ? " IS NULL" : " IS NOT NULL");
      } else if (op == "in") {
        condition = column + " = ANY(" + parameter(array_literal(operand, field)) + ")";
      } else if (op == "not_in") {
        condition = column + " <> ALL(" + parameter(array_literal(operand, field)) + ")";
      } else if (op == "like") {
        condition = column + "::text LIKE " + parameter(scalar_text(operand, field));
      } else if (operand.is_null() && (op == "eq" || op == "ne")) {
        condition = column + (op == "eq" ? " IS NULL" : " IS NOT NULL");
      } else {
        static const std::pair<const char *, const char *> comparisons[] = {
            {"eq", " = "}, {"ne", " IS DISTINCT FROM "}, {"lt", " < "},
            {"le", " <= "}, {"gt", " > "}, {"ge", " >= "}};
        const char *symbol = nullptr;
        for (const auto &[name, sql_operator] : comparisons)
          if (op == name) symbol = sql_operator;
        if (symbol == nullptr)
          throw InvalidArgument("unknown filter operator '" + op + "' on '" + field +
                                "' (operators: eq ne lt le gt ge in not_in is_null like)");
        condition = column + symbol + parameter(scalar_text(operand, field));
      }
      sql += (sql.empty() ? "" : " AND ") + condition;
    }
    if (sql.empty()) throw InvalidArgument("the filter on '" + field + "' has no operator");
    return sql;
  }

  bool type_column_is_json(const std::string &field) const {
    for (const auto &column : type_.columns)
      if (column.name == field) return column.type.compare(0, 4, "json") == 0;
    return false;
  }

  const EntityType &type_;
  Params &params_;
};

// A version row as every read here selects it: EntityType::select_list's columns, in its order
// (the system columns, then the entity's fields), so cells are read by position.
namespace version_column {
enum : std::int64_t {
  head_id, branch, version_number, valid_from, valid_to, deleted, parent_branch, parent_version,
  merged_from, author, first_field
};
} // namespace version_column

// Everything of the row's version but its fields.
Version metadata_from_row(const Result &result, std::int64_t row) {
  auto text = [&](std::int64_t cell) -> std::optional<std::string> {
    if (result.is_null(row, cell)) return std::nullopt;
    return result.get_text(row, cell);
  };
  Version version;
  version.head_id = result.get_text(row, version_column::head_id);
  version.branch = result.get_text(row, version_column::branch);
  version.version = result.get_int64(row, version_column::version_number);
  version.valid_from = result.get_timestamp(row, version_column::valid_from);
  if (!result.is_null(row, version_column::valid_to))
    version.valid_to = result.get_timestamp(row, version_column::valid_to);
  version.deleted = result.get_bool(row, version_column::deleted);
  version.author = text(version_column::author).value_or("");
  version.parent_branch = text(version_column::parent_branch);
  if (!result.is_null(row, version_column::parent_version))
    version.parent_version = result.get_int64(row, version_column::parent_version);
  version.merged_from = text(version_column::merged_from);
  return version;
}

Version version_from_row(const Result &result, std::int64_t row, const EntityType &type) {
  Version version = metadata_from_row(result, row);
  for (std::size_t field = 0; field < type.columns.size(); ++field)
    version.fields[type.columns[field].name] =
        result.get_json(row, version_column::first_field + static_cast<std::int64_t>(field));
  return version;
}

// Appends `version` as its JSON record, keys in order, the fields object written by
// `append_fields(out)`: from Version::fields, or straight from a row's cells (find_json).
template <typename FieldsWriter>
void append_version_json(std::string &out, const Version &version, FieldsWriter append_fields) {
  auto optional_text = [&](const std::optional<std::string> &value) {
    if (value) detail::append_json_string(out, *value);
    else out += "null";
  };
  out += "{\"author\":";
  detail::append_json_string(out, version.author);
  out += ",\"branch\":";
  detail::append_json_string(out, version.branch);
  out += ",\"changed\":[";
  for (std::size_t index = 0; index < version.changed.size(); ++index) {
    if (index > 0) out += ',';
    detail::append_json_string(out, version.changed[index]);
  }
  out += "],\"deleted\":";
  out += version.deleted ? "true" : "false";
  out += ",\"fields\":{";
  append_fields(out);
  out += "},\"head_id\":";
  detail::append_json_string(out, version.head_id);
  out += ",\"merged_from\":";
  optional_text(version.merged_from);
  out += ",\"parent_branch\":";
  optional_text(version.parent_branch);
  out += ",\"parent_version\":";
  out += version.parent_version ? std::to_string(*version.parent_version) : "null";
  out += ",\"previous\":";
  out += version.previous.empty() ? "{}" : version.previous.dump();
  out += ",\"valid_from\":" + std::to_string(version.valid_from) + ",\"valid_to\":";
  out += version.valid_to ? std::to_string(*version.valid_to) : "null";
  out += ",\"version\":" + std::to_string(version.version) + "}";
}

// A JSON value as Version::to_json_text writes a field.
void append_field_value(std::string &out, const nlohmann::json &value) {
  if (value.is_string()) detail::append_json_string(out, value.get_ref<const std::string &>());
  else out += value.dump();
}

// A field's cell as JSON text: what Version::fields holds for it, written as
// Version::to_json_text writes it, without building the value for the common column types.
void append_field_json(std::string &out, const Result &result, std::int64_t row,
                       std::int64_t column) {
  if (result.is_null(row, column)) {
    out += "null";
    return;
  }
  switch (result.column_type(column)) {
  case ColumnType::int64: out += result.text(row, column); return;
  case ColumnType::boolean: out += result.get_bool(row, column) ? "true" : "false"; return;
  case ColumnType::float64:
  case ColumnType::json:
  case ColumnType::text_array:
  case ColumnType::int_array: append_field_value(out, result.get_json(row, column)); return;
  default: {
    std::size_t length = 0;
    const char *text = result.text(row, column, &length);
    detail::append_json_string(out, std::string_view(text, length));
  }
  }
}

// An update in autocommit mode as one statement (detail::autocommit_update_statement), the new
// values sent as text in their columns' types; nothing when the case is not that simple, when
// nothing would change, or when a value is not a plain value of its column (the write function
// reads those from JSON and reports or converts them).
std::optional<Version> update_in_one_statement(SessionState &session, const EntityType &type,
                                               const std::string &head_id,
                                               const nlohmann::json &values,
                                               std::optional<std::int64_t> expected,
                                               const std::optional<std::string> &author) {
  Params params = Params::of(head_id, session.branch);
  params.add(expected);
  params.add(author);
  std::vector<std::size_t> changed;
  for (std::size_t index = 0; index < type.columns.size(); ++index) {
    auto value = values.find(type.columns[index].name);
    if (value == values.end()) continue;
    changed.push_back(index);
    if (value->is_null()) {
      params.add_null();
      continue;
    }
    auto text = detail::value_text(*value, detail::shape_of(type.columns[index]));
    if (!text) return std::nullopt;
    params.add(*text);
  }
  if (changed.empty()) return std::nullopt;
  Result updated = session.run(type.autocommit_update_sql(changed), params);
  if (updated.rows() == 0) return std::nullopt;
  return version_from_row(updated, 0, type);
}

} // namespace

nlohmann::json Version::to_json() const { return nlohmann::json::parse(to_json_text()); }

// Written directly rather than through an nlohmann::json of the record: a scan of many
// versions spends much of its client time here.
std::string Version::to_json_text() const {
  std::string out;
  out.reserve(320);
  append_version_json(out, *this, [this](std::string &text) {
    bool first = true;
    for (const auto &field : fields.items()) {
      if (!first) text += ',';
      first = false;
      detail::append_json_string(text, field.key());
      text += ':';
      append_field_value(text, field.value());
    }
  });
  return out;
}

Repository::Repository(std::shared_ptr<SessionState> session,
                       std::shared_ptr<const EntityType> type)
    : session_(std::move(session)), type_(std::move(type)) {}

const std::string &Repository::entity_type() const noexcept { return type_->name; }

std::vector<FieldDefinition> Repository::fields() const {
  std::vector<FieldDefinition> fields;
  for (std::size_t index = 0; index < type_->columns.size(); ++index)
    fields.push_back({type_->columns[index].name, type_->columns[index].type,
                      type_->value_types.at(index), type_->columns[index].references,
                      type_->columns[index].on_delete});
  return fields;
}

std::string Repository::branch_or_default(const std::optional<std::string> &branch) const {
  if (!branch) return session_->branch;
  require_utf8(*branch, "the branch name");
  return *branch;
}

Version Repository::write(const char *operation, const std::string &head_id,
                          const nlohmann::json &values, std::optional<std::int64_t> expected) {
  if (!values.is_null() && !values.is_object())
    throw InvalidArgument("values must be an object mapping field names to values");
  if (values.is_object())
    for (const auto &item : values.items())
      if (!type_->has_column(item.key()))
        throw InvalidArgument("'" + item.key() + "' is not a field of entity type '" +
                              type_->name + "' (fields: " + known_fields(*type_) + ")");
  const std::optional<std::string> author =
      session_->author.empty() ? std::nullopt : std::optional<std::string>(session_->author);
  const bool commit_now = session_->statements_autocommit();
  if (commit_now && std::strcmp(operation, "update") == 0 && values.is_object())
    if (auto updated = update_in_one_statement(*session_, *type_, head_id, values, expected,
                                               author))
      return *updated;
  Params params = Params::of(std::string(operation));
  if (head_id.empty()) params.add_null();
  else params.add(head_id);
  params.add(session_->branch);
  params.add_json(values.is_null() ? "{}" : detail::json_text(values));
  params.add(expected);
  params.add(author);
  params.add(commit_now);
  Result result = session_->run("SELECT " + type_->select_list() + " FROM " +
                                    quoted(type_->name + "_evcs_write") +
                                    "($1, $2::uuid, $3, $4::jsonb, $5::int, $6, NULL, $7)",
                                params);
  if (!commit_now) session_->written_types.insert(type_->name);
  return version_from_row(result, 0, *type_);
}

Version Repository::create(const nlohmann::json &values, const std::string &head_id) {
  SessionState::UseGuard guard(*session_, type_->name);
  return write("create", head_id, values, std::nullopt);
}

Version Repository::update(const std::string &head_id, const nlohmann::json &values,
                           std::optional<std::int64_t> expected_version) {
  SessionState::UseGuard guard(*session_, type_->name);
  return write("update", head_id, values, expected_version);
}

Version Repository::remove(const std::string &head_id) {
  SessionState::UseGuard guard(*session_, type_->name);
  return write("delete", head_id, nullptr, std::nullopt);
}

Version Repository::restore(const std::string &head_id) {
  SessionState::UseGuard guard(*session_, type_->name);
  return write("restore", head_id, nullptr, std::nullopt);
}

namespace {

Result read_version(SessionState &session, const EntityType &type, const std::string &head_id,
                    std::optional<std::int64_t> as_of, const std::string &branch) {
  std::string table = quoted(type.version_table());
  if (branch != "main") {
    Params params = Params::of(head_id, branch);
    params.add(as_of ? std::optional<Timestamp>(Timestamp{*as_of}) : std::nullopt);
    return session.run_as_of("SELECT " + type.select_list("v.") +
                             " FROM evcs_lineage($2, coalesce($3::timestamptz, 'infinity')) l "
                             "CROSS JOIN LATERAL (SELECT * FROM " + table + " x WHERE "
                             "x.head_id = $1::uuid AND x.branch = l.branch AND x.valid_from <= "
                             "l.at ORDER BY x.valid_from DESC LIMIT 1) v ORDER BY l.depth LIMIT 1",
                             params, as_of);
  }
  if (!as_of)
    return session.run("SELECT " + type.select_list() + " FROM " + table +
                           " WHERE head_id = $1::uuid AND branch = $2 AND valid_to IS NULL",
                       Params::of(head_id, branch));
  return session.run_as_of("SELECT " + type.select_list() + " FROM " + table +
                               " WHERE head_id = $1::uuid AND branch = $2 AND valid_from <= $3 "
                               "ORDER BY valid_from DESC LIMIT 1",
                           Params::of(head_id, branch, Timestamp{*as_of}), as_of);
}

} // namespace

std::optional<Version> Repository::get(const std::string &head_id,
                                       std::optional<std::int64_t> as_of,
                                       const std::optional<std::string> &branch) {
  SessionState::UseGuard guard(*session_, type_->name);
  Result result = read_version(*session_, *type_, head_id, as_of, branch_or_default(branch));
  if (result.rows() == 0) return std::nullopt;
  Version version = version_from_row(result, 0, *type_);
  if (version.deleted) return std::nullopt;
  return version;
}

std::optional<Version> Repository::get_at_commit(const std::string &head_id,
                                                 const std::string &commit) {
  SessionState::UseGuard guard(*session_, type_->name);
  CommitInfo at = detail::resolve_commit(*session_, commit);
  Result result = read_version(*session_, *type_, head_id, at.stamp, at.branch);
  if (result.rows() == 0) return std::nullopt;
  Version version = version_from_row(result, 0, *type_);
  if (version.deleted) return std::nullopt;
  return version;
}

std::vector<Version> Repository::history(const std::string &head_id,
                                         const std::optional<std::string> &branch) {
  SessionState::UseGuard guard(*session_, type_->name);
  // Every version of the entity on the branches the read goes through, nearest first, each
  // branch up to the instant it is read at.
  Result result = session_->run(
      "SELECT " + type_->select_list("v.") + ", l.depth FROM evcs_lineage($2, 'infinity') l "
      "JOIN " + quoted(type_->version_table()) + " v ON v.head_id = $1::uuid AND "
      "v.branch = l.branch AND v.valid_from <= l.at ORDER BY l.depth, v.valid_from",
      Params::of(head_id, branch_or_default(branch)));
  const std::int64_t depth_column = result.columns() - 1;
  // A branch read through to its parent only before its own first version: an ancestor's
  // versions count up to the first version of any nearer branch.
  std::vector<Version> versions;
  versions.reserve(static_cast<std::size_t>(result.rows()));
  std::int64_t cutoff = INT64_MAX, nearer_first = INT64_MAX, depth = 0;
  for (std::int64_t row = 0; row < result.rows(); ++row) {
    if (result.get_int64(row, depth_column) != depth) {
      depth = result.get_int64(row, depth_column);
      cutoff = std::min(cutoff, nearer_first);
      nearer_first = INT64_MAX;
    }
    Version version = version_from_row(result, row, *type_);
    nearer_first = std::min(nearer_first, version.valid_from);
    if (version.valid_from < cutoff) versions.push_back(std::move(version));
  }
  std::stable_sort(versions.begin(), versions.end(), [](const Version &left, const Version &right) {
    return left.valid_from < right.valid_from;
  });
  for (std::size_t index = 0; index < versions.size(); ++index) {
    Version &version = versions[index];
    for (const auto &column : type_->columns) {
      const nlohmann::json &now = version.fields[column.name];
      if (index == 0) {
        version.changed.push_back(column.name);
        version.previous[column.name] = nullptr;
        continue;
      }
      const nlohmann::json &before = versions[index - 1].fields[column.name];
      if (before == now) continue;
      version.changed.push_back(column.name);
      version.previous[column.name] = before;
    }
  }
  return versions;
}

std::vector<Version> Repository::versions(const VersionRange &range) {
  SessionState::UseGuard guard(*session_, type_->name);
  const char *condition = nullptr;
  if (range.mode == "from_to")
    condition = "($2::timestamptz IS NULL OR coalesce(valid_to, 'infinity') > $2) AND "
                "($3::timestamptz IS NULL OR valid_from < $3)";
  else if (range.mode == "between")
    condition = "($2::timestamptz IS NULL OR coalesce(valid_to, 'infinity') > $2) AND "
                "($3::timestamptz IS NULL OR valid_from <= $3)";
  else if (range.mode == "contained_in")
    condition = "($2::timestamptz IS NULL OR valid_from >= $2) AND "
                "coalesce(valid_to, 'infinity') <= coalesce($3::timestamptz, 'infinity')";
  else
    throw InvalidArgument("a version range's mode must be \"from_to\", \"between\" or "
                          "\"contained_in\", not \"" + range.mode + "\"");
  if (range.from && range.to && *range.from > *range.to)
    throw InvalidArgument("a version range must not end before it starts");
  if (range.limit && *range.limit < 0) throw InvalidArgument("LIMIT must not be negative");
  auto instant = [](const std::optional<std::int64_t> &at) {
    return at ? std::optional<Timestamp>(Timestamp{*at}) : std::nullopt;
  };
  Params params = Params::of(branch_or_default(range.branch));
  params.add(instant(range.from)).add(instant(range.to));
  params.add(range.limit);
  Result result = session_->run_as_of(
      "SELECT " + type_->select_list() + " FROM " + quoted(type_->version_table()) +
          " WHERE branch = $1 AND " + condition + " ORDER BY valid_from, head_id LIMIT $4::bigint",
      params, range.to);
  std::vector<Version> versions;
  versions.reserve(static_cast<std::size_t>(result.rows()));
  for (std::int64_t row = 0; row < result.rows(); ++row)
    versions.push_back(version_from_row(result, row, *type_));
  return versions;
}

Version Repository::revert(const std::string &head_id, std::optional<std::int64_t> to_version,
                           std::optional<std::int64_t> as_of) {
  SessionState::UseGuard guard(*session_, type_->name);
  if (to_version.has_value() == as_of.has_value())
    throw InvalidArgument("revert needs exactly one of to_version and as_of");
  Result source =
      to_version ? session_->run("SELECT " + type_->select_list() + " FROM " +
                                     quoted(type_->version_table()) +
                                     " WHERE head_id = $1::uuid AND branch = $2 AND version = $3",
                                 Params::of(head_id, session_->branch, *to_version))
                 : read_version(*session_, *type_, head_id, as_of, session_->branch);
  if (source.rows() == 0)
    throw NotFound(type_->name + " " + head_id + " has no such version on branch " +
                       session_->branch,
                   "EVN01");
  Version old = version_from_row(source, 0, *type_);
  if (old.deleted)
    throw InvalidArgument("that version of " + type_->name + " " + head_id +
                          " is a deletion: use remove() to delete it again");
  return write("revert", head_id, old.fields, std::nullopt);
}

namespace {

// The state of every entity at the options' instant, as a subquery `v` ($1 = branch,
// $2 = instant or NULL for now), plus the filter. A branch other than main reads through to
// its parents: per entity, the nearest branch that has a version valid at its instant wins.
std::string state_query(const EntityType &type, const FindOptions &options,
                        const std::string &branch, const std::string &select, Params &params) {
  std::string table = quoted(type.version_table());
  params.add(branch);
  params.add(options.as_of ? std::optional<Timestamp>(Timestamp{*options.as_of}) : std::nullopt);
  std::string source;
  if (branch != "main") {
    source = "SELECT DISTINCT ON (x.head_id) x.* FROM evcs_lineage($1, coalesce($2::timestamptz, "
             "'infinity')) l JOIN " + table + " x ON x.branch = l.branch AND "
             "tstzrange(x.valid_from, x.valid_to) @> l.at ORDER BY x.head_id, l.depth";
  } else if (options.as_of) {
    source = "SELECT * FROM " + table + " WHERE branch = $1 AND "
             "tstzrange(valid_from, valid_to) @> $2::timestamptz";
  } else {
    source = "SELECT * FROM " + table + " WHERE branch = $1 AND valid_to IS NULL AND "
             "$2::timestamptz IS NULL";
  }
  FilterCompiler filters(type, params);
  return "SELECT " + select + " FROM (" + source + ") v WHERE NOT deleted AND " +
         filters.compile(options.where);
}

// The options with as_of_commit turned into the instant and branch it stands for.
FindOptions at_commit_resolved(SessionState &session, const FindOptions &options) {
  if (!options.as_of_commit) return options;
  if (options.as_of)
    throw InvalidArgument("give as_of (an instant) or as_of_commit, not both");
  CommitInfo commit = detail::resolve_commit(session, *options.as_of_commit);
  if (options.branch && *options.branch != commit.branch)
    throw InvalidArgument("commit " + commit.id + " is on branch '" + commit.branch +
                          "', not on '" + *options.branch + "'");
  FindOptions resolved = options;
  resolved.as_of_commit.reset();
  resolved.as_of = commit.stamp;
  resolved.branch = commit.branch;
  return resolved;
}

} // namespace

Result Repository::find_rows(const FindOptions &given) {
  const FindOptions options = at_commit_resolved(*session_, given);
  Params params;
  std::string sql = state_query(*type_, options, branch_or_default(options.branch),
                                type_->select_list(), params);
  std::string order;
  for (const auto &field : options.order_by) {
    bool descending = !field.empty() && field[0] == '-';
    order += (order.empty() ? "" : ", ") + field_sql(*type_, descending ? field.substr(1) : field) +
             (descending ? " DESC" : "");
  }
  sql += " ORDER BY " + (order.empty() ? std::string("head_id") : order + ", head_id");
  auto add_bound = [&](const char *clause, const std::optional<std::int64_t> &bound) {
    if (!bound) return;
    if (*bound < 0) throw InvalidArgument(std::string(clause) + " must not be negative");
    params.add(*bound);
    sql += std::string(" ") + clause + " $" + std::to_string(params.size()) + "::bigint";
  };
  add_bound("LIMIT", options.limit);
  add_bound("OFFSET", options.offset);
  return session_->run_as_of(sql, params, options.as_of);
}

std::vector<Version> Repository::find(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  Result result = find_rows(options);
  std::vector<Version> versions;
  versions.reserve(static_cast<std::size_t>(result.rows()));
  for (std::int64_t row = 0; row < result.rows(); ++row)
    versions.push_back(version_from_row(result, row, *type_));
  return versions;
}

std::string Repository::find_json(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  Result result = find_rows(options);
  std::vector<std::size_t> by_name(type_->columns.size());
  std::iota(by_name.begin(), by_name.end(), 0);
  std::sort(by_name.begin(), by_name.end(), [&](std::size_t left, std::size_t right) {
    return type_->columns[left].name < type_->columns[right].name;
  });
  std::string out = "[";
  for (std::int64_t row = 0; row < result.rows(); ++row) {
    if (row > 0) out += ',';
    append_version_json(out, metadata_from_row(result, row), [&](std::string &text) {
      for (std::size_t index = 0; index < by_name.size(); ++index) {
        if (index > 0) text += ',';
        detail::append_json_string(text, type_->columns[by_name[index]].name);
        text += ':';
        std::int64_t cell = version_column::first_field + static_cast<std::int64_t>(by_name[index]);
        append_field_json(text, result, row, cell);
      }
    });
  }
  out += ']';
  return out;
}

std::int64_t Repository::count(const FindOptions &given) {
  SessionState::UseGuard guard(*session_, type_->name);
  const FindOptions options = at_commit_resolved(*session_, given);
  Params params;
  std::string sql =
      state_query(*type_, options, branch_or_default(options.branch), "count(*)", params);
  return session_->run_as_of(sql, params, options.as_of).get_int64(0, 0);
}

bool Repository::exists(const FindOptions &given) {
  SessionState::UseGuard guard(*session_, type_->name);
  const FindOptions options = at_commit_resolved(*session_, given);
  Params params;
  std::string sql = state_query(*type_, options, branch_or_default(options.branch), "1", params);
  return session_->run_as_of("SELECT EXISTS (" + sql + ")", params, options.as_of).get_bool(0, 0);
}

namespace detail {

// Parameters: $1 head id, $2 branch, $3 expected version, $4 author, then the new values of the
// `changed` columns in that order, as text cast to the columns' types.
//
// The locks come in the write function's order: the entity's row (only if the branch is
// writable), then the as-of readers' advisory lock and the clock row (the stamp, held to the
// commit as evcs_finalize holds it). Then the current version is closed in place and its
// successor inserted from what the UPDATE returns, and the commit logged. Once it holds the
// entity's row the statement waits for nothing: only a holder of that row writes the entity's
// versions. Every case but the simple one writes nothing here, and the write function then
// reports or handles it: no own version on the branch, a deleted or unchanged entity, another
// expected version, a read-only branch, or a version closed by a writer that committed while
// this one waited for the row (re-checked when the version is updated). Such a statement may
// have moved the clock on, which stamps nothing.
std::string autocommit_update_statement(const EntityType &type,
                                        const std::vector<std::size_t> &changed) {
  std::string versions = quoted(type.version_table());
  std::string fields, kept_fields, inserted_fields, new_values, current_values;
  std::size_t next_changed = 0;
  for (std::size_t index = 0; index < type.columns.size(); ++index) {
    std::string name = quoted(type.columns[index].name);
    fields += ", " + name;
    if (next_changed < changed.size() && changed[next_changed] == index) {
      std::string value = "$" + std::to_string(5 + next_changed) + "::" + type.sql_types[index];
      inserted_fields += ", " + value;
      new_values += (next_changed == 0 ? "" : ", ") + value;
      current_values += (next_changed == 0 ? "v." : ", v.") + name;
      ++next_changed;
    } else {
      kept_fields += ", v." + name;
      inserted_fields += ", closed." + name;
    }
  }
  return "WITH head AS (SELECT head_id FROM " + quoted(type.name) +
         " WHERE head_id = $1::uuid AND EXISTS (SELECT 1 FROM evcs_branch WHERE name = $2 AND "
         "status = 'active') FOR UPDATE), "
         "frontier AS (" + lock_commit_stamp + " FROM head), "
         "clock AS (UPDATE evcs_clock SET last_stamp = greatest(clock_timestamp(), last_stamp + "
         "interval '1 microsecond') FROM frontier WHERE id = 1 RETURNING last_stamp AS stamp), "
         "closed AS (UPDATE " + versions + " v SET valid_to = clock.stamp FROM clock "
         "WHERE v.head_id = (SELECT head_id FROM head) AND v.branch = $2 AND v.valid_to IS NULL "
         "AND NOT v.deleted AND v.valid_from <> 'infinity' AND "
         "($3::int IS NULL OR v.version = $3::int) AND "
         "ROW(" + new_values + ") IS DISTINCT FROM ROW(" + current_values + ") "
         "RETURNING v.head_id, v.version, v.parent_branch, v.parent_version" + kept_fields +
         ", clock.stamp), "
         "inserted AS (INSERT INTO " + versions + " (head_id, branch, version, valid_from, "
         "deleted, parent_branch, parent_version, merged_from, author" + fields +
         ") SELECT closed.head_id, $2, closed.version + 1, closed.stamp, false, "
         "closed.parent_branch, closed.parent_version, NULL, $4" + inserted_fields +
         " FROM closed RETURNING " + type.select_list() + "), "
         "logged AS (INSERT INTO evcs_commit (stamp, branch, author, changes) SELECT stamp, $2, "
         "$4, 1 FROM closed) "
         "SELECT * FROM inserted";
}

} // namespace detail

} // namespace evcs
