#include "branching/commits.hpp"
#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/versioning.hpp"
#include "pg/copy_text.hpp"
#include "versioning/page_cursor.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <string_view>
#include <tuple>

namespace evcs {

using detail::EntityType;
using detail::PageCursor;
using detail::quoted;
using detail::RelationCache;
using detail::SessionState;

namespace {

// A version row as every read here selects it: EntityType::select_list's columns, in its order
// (the system columns, then the entity's fields), so cells are read by position.
namespace version_column {
enum : std::int64_t {
  head_id, branch, version_number, valid_from, valid_to, deleted, parent_branch, parent_version,
  merged_from, author, first_field
};
static_assert(first_field == FoundPage::first_field, "FoundPage documents this layout");
} // namespace version_column

// A field filters and order_by may name, as a read uses it: its SQL, the type a value bound as
// text is cast to for comparing with it, whether it may be NULL, and its cell in a version row.
struct QueryableField {
  std::string sql;
  std::string sql_type;
  bool nullable;
  std::int64_t cell;
};

// Version metadata that filters and order_by may name besides the entity's own columns.
struct SystemField {
  const char *name;
  const char *sql_type;
  bool nullable;
  std::int64_t cell;
};
const SystemField queryable_system_fields[] = {
    {"head_id", "uuid", false, version_column::head_id},
    {"version", "int", false, version_column::version_number},
    {"valid_from", "timestamptz", false, version_column::valid_from},
    {"valid_to", "timestamptz", true, version_column::valid_to},
    {"author", "text", true, version_column::author}};

std::string known_fields(const EntityType &type) {
  std::string known;
  for (const auto &column : type.columns) known += (known.empty() ? "" : ", ") + column.name;
  return known;
}

QueryableField queryable_field(const EntityType &type, const std::string &field) {
  for (std::size_t index = 0; index < type.columns.size(); ++index)
    if (type.columns[index].name == field)
      return {quoted(field), type.sql_types[index], type.nullable[index],
              version_column::first_field + static_cast<std::int64_t>(index)};
  std::string metadata;
  for (const auto &system : queryable_system_fields) {
    if (field == system.name) return {quoted(field), system.sql_type, system.nullable, system.cell};
    metadata += (metadata.empty() ? "" : ", ") + std::string(system.name);
  }
  throw InvalidArgument("unknown field '" + field + "' of entity type '" + type.name +
                        "' (fields: " + known_fields(type) + "; metadata: " + metadata + ")");
}

std::string field_sql(const EntityType &type, const std::string &field) {
  return queryable_field(type, field).sql;
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

// A relation of FindOptions::include, resolved against the catalog.
struct RelationToLoad {
  std::string name;
  std::shared_ptr<const EntityType> related;
  bool to_one = false;
  // The referencing column: of the type read (to_one), or of the related type.
  std::size_t column = 0;
};

std::optional<std::size_t> column_index(const EntityType &type, const std::string &name) {
  for (std::size_t index = 0; index < type.columns.size(); ++index)
    if (type.columns[index].name == name) return index;
  return std::nullopt;
}

// FindOptions::include's names: a referencing field of `type` (or that name without "_id"), a
// type referring to `type` (its name, with an "s", or "type.field").
RelationToLoad resolve_relation(SessionState &session, const EntityType &type,
                                const std::string &name) {
  require_utf8(name, "the relation name");
  const std::string suffix = "_id";
  for (std::size_t index = 0; index < type.columns.size(); ++index) {
    const ColumnDefinition &column = type.columns[index];
    if (column.references.empty()) continue;
    const bool stem = column.name.size() > suffix.size() &&
                      column.name.compare(column.name.size() - suffix.size(), suffix.size(),
                                          suffix) == 0 &&
                      column.name.substr(0, column.name.size() - suffix.size()) == name;
    if (column.name == name || stem)
      return {name, session.engine->entity_types.find(session, column.references), true, index};
  }
  Result referrers = session.run("SELECT referrer, column_name FROM evcs_references() "
                                 "WHERE referenced = $1 ORDER BY 1, 2",
                                 Params::of(type.name));
  std::vector<std::pair<std::string, std::string>> matches;
  std::string known;
  for (const auto &column : type.columns)
    if (!column.references.empty())
      known += (known.empty() ? "" : ", ") + column.name;
  for (std::int64_t row = 0; row < referrers.rows(); ++row) {
    std::string referrer = referrers.get_text(row, 0), field = referrers.get_text(row, 1);
    known += (known.empty() ? "" : ", ") + referrer + "." + field;
    if (name == referrer || name == referrer + "s" || name == referrer + "." + field)
      matches.emplace_back(referrer, field);
  }
  if (matches.size() > 1)
    throw InvalidArgument("the relation '" + name + "' of entity type '" + type.name +
                          "' is ambiguous: " + matches[0].first + " refers to it through " +
                          std::to_string(matches.size()) + " fields; name one as '" +
                          matches[0].first + "." + matches[0].second + "'");
  if (matches.empty())
    throw InvalidArgument("entity type '" + type.name + "' has no relation '" + name +
                          "' (relations: " + (known.empty() ? "none" : known) + ")");
  auto related = session.engine->entity_types.find(session, matches[0].first);
  return {name, related, false, *column_index(*related, matches[0].second)};
}

// The state of every entity of `type` as a subquery ($1 = branch): the current state (with the
// transaction's own uncommitted versions), or the state as of `instant` (SQL: a bound
// parameter or latest_committed_stamp). Deleted entities are in it: their tombstones. A branch
// other than main reads through to its parents: per entity, the nearest branch that has a
// version valid at its instant wins. On main, a whole state as of an instant is found through
// the GiST index on the validity range; a page (`ordered`) is found with plain comparisons
// instead, which the primary key (head_id, branch, valid_from) walks in head_id order from the
// cursor on, so a page costs the same anywhere in the walk (the GiST scan would collect and
// sort every entity from the cursor on).
std::string state_source(const EntityType &type, const std::string &branch,
                         const std::string &instant, bool ordered) {
  std::string table = quoted(type.version_table());
  if (branch != "main")
    return "SELECT DISTINCT ON (x.head_id) x.* FROM evcs_lineage($1, " +
           (instant.empty() ? std::string("'infinity'") : instant) + ") l JOIN " + table +
           " x ON x.branch = l.branch AND tstzrange(x.valid_from, x.valid_to) @> l.at "
           "ORDER BY x.head_id, l.depth";
  if (!instant.empty() && ordered)
    return "SELECT * FROM " + table + " WHERE branch = $1 AND valid_from <= " + instant +
           " AND (valid_to IS NULL OR valid_to > " + instant + ")";
  if (!instant.empty())
    return "SELECT * FROM " + table + " WHERE branch = $1 AND "
           "tstzrange(valid_from, valid_to) @> " + instant;
  return "SELECT * FROM " + table + " WHERE branch = $1 AND valid_to IS NULL";
}

} // namespace

// The relations of one entity type that reads named, each resolved once.
class detail::RelationCache {
public:
  RelationToLoad get(SessionState &session, const EntityType &type, const std::string &name) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = relations_.find(name);
      if (found != relations_.end()) return found->second;
    }
    RelationToLoad relation = resolve_relation(session, type, name);
    std::lock_guard<std::mutex> lock(mutex_);
    return relations_.emplace(name, std::move(relation)).first->second;
  }

private:
  std::mutex mutex_;
  std::map<std::string, RelationToLoad> relations_;
};

namespace {

// What a read needs to name the fields of related entities ("project.status" in a filter or an
// order_by): the relations, and the related entities as the read sees them.
class RelatedStates {
public:
  RelatedStates(SessionState &session, const EntityType &type, RelationCache &relations,
                std::string branch, std::string instant)
      : session_(session), type_(type), relations_(relations), branch_(std::move(branch)),
        instant_(std::move(instant)) {}

  RelationToLoad relation(const std::string &name) {
    return relations_.get(session_, type_, name);
  }

  // `FROM (...) r WHERE <r belongs to the read's row v> AND NOT r.deleted`: the live related
  // entities of the row `v` on the read's branch at its instant.
  std::string related_rows(const RelationToLoad &relation) const {
    const std::string link =
        relation.to_one
            ? "r.head_id = v." + quoted(type_.columns[relation.column].name)
            : "r." + quoted(relation.related->columns[relation.column].name) + " = v.head_id";
    return "FROM (" + state_source(*relation.related, branch_, instant_, true) + ") r WHERE " +
           link + " AND NOT r.deleted";
  }

private:
  SessionState &session_;
  const EntityType &type_;
  RelationCache &relations_;
  std::string branch_;
  std::string instant_;
};

// "relation.field" as its relation (up to the last dot) and field; none without a dot.
std::optional<std::pair<std::string, std::string>> related_field_name(const std::string &name) {
  std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  return std::make_pair(name.substr(0, dot), name.substr(dot + 1));
}

class FilterCompiler {
public:
  FilterCompiler(const EntityType &type, Params &params, RelatedStates *related = nullptr)
      : type_(type), params_(params), related_(related) {}

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
    auto related_field = related_field_name(field);
    if (related_field && related_ != nullptr && !type_.has_column(field)) {
      // Some related entity, as of the read's instant, matches: an EXISTS over the relation.
      const RelationToLoad relation = related_->relation(related_field->first);
      FilterCompiler related(*relation.related, params_);
      return "EXISTS (SELECT 1 " + related_->related_rows(relation) + " AND " +
             related.field_condition(related_field->second, value) + ")";
    }
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
  RelatedStates *related_;
};

// One key of a read's order.
struct SortKey {
  QueryableField field;
  bool descending;
};

// find's order: order_by's fields ("-field": descending), then head_id, which makes the order
// total (a state has one version per entity), so a cursor names exactly one position. A field of
// a many-to-one relation ("project.name") sorts by the related entity's value as the read sees
// it (NULL without one); the read selects it after the row's own columns, in `cell` order from
// `first_extra_cell`.
std::vector<SortKey> find_sort_keys(const EntityType &type,
                                    const std::vector<std::string> &order_by,
                                    RelatedStates &related, std::int64_t first_extra_cell) {
  std::vector<SortKey> keys;
  for (const auto &given : order_by) {
    const bool descending = !given.empty() && given[0] == '-';
    const std::string field = descending ? given.substr(1) : given;
    auto related_field = related_field_name(field);
    if (!related_field || type.has_column(field)) {
      keys.push_back({queryable_field(type, field), descending});
      continue;
    }
    const RelationToLoad relation = related.relation(related_field->first);
    if (!relation.to_one)
      throw InvalidArgument("order_by cannot name '" + field + "': '" + related_field->first +
                            "' is a one-to-many relation (many values per entity)");
    QueryableField sort = queryable_field(*relation.related, related_field->second);
    sort.sql = "(SELECT r." + sort.sql + " " + related.related_rows(relation) + ")";
    sort.nullable = true;
    sort.cell = first_extra_cell++;
    keys.push_back({sort, descending});
  }
  keys.push_back({queryable_field(type, "head_id"), false});
  return keys;
}

// PostgreSQL's defaults, which the keyset predicate below follows: ASC puts NULLs last, DESC
// first.
std::string order_sql(const std::vector<SortKey> &keys) {
  std::string sql;
  for (const auto &key : keys)
    sql += (sql.empty() ? "" : ", ") + key.field.sql + (key.descending ? " DESC" : "");
  return sql;
}

// The rows after the one whose sort keys were `last` (the server's text of each, null for
// NULL), in the order of `keys`, written out as
//   k1 after c1 OR (k1 = c1 AND k2 after c2) OR (k1 = c1 AND k2 = c2 AND k3 after c3) ...
// where "after" is greater for ASC (or NULL, which sorts last) and smaller for DESC (a NULL
// key, first in DESC, is followed by every non-NULL one), and a NULL key equals only NULL. A row
// comparison (k1, k2) > (c1, c2) would be shorter but is wrong for mixed directions and NULLs.
// Each value is bound once and cast to its column's type, so it compares as the column does.
// In front stands a bound on the first key alone, implied by the rest, so that an index led by
// it scans from the cursor on instead of filtering from the start.
std::string keyset_condition(const std::vector<SortKey> &keys, const nlohmann::json &last,
                             Params &params) {
  if (!last.is_array() || last.size() != keys.size())
    detail::throw_malformed_cursor("its last row has " + std::to_string(last.size()) +
                                   " sort keys, the order " + std::to_string(keys.size()));
  std::vector<std::string> values;  // the bound value of each key, empty for NULL
  for (std::size_t index = 0; index < keys.size(); ++index) {
    if (last[index].is_null()) {
      if (!keys[index].field.nullable)
        detail::throw_malformed_cursor("a NULL key of a NOT NULL field");
      values.emplace_back();
      continue;
    }
    if (!last[index].is_string()) detail::throw_malformed_cursor("a sort key that is not text");
    params.add(last[index].get<std::string>());
    values.push_back("$" + std::to_string(params.size()) + "::" + keys[index].field.sql_type);
  }
  auto after = [&](std::size_t index) -> std::string {
    const std::string &column = keys[index].field.sql;
    const std::string &value = values[index];
    if (value.empty()) return keys[index].descending ? column + " IS NOT NULL" : "";
    if (keys[index].descending) return column + " < " + value;
    if (!keys[index].field.nullable) return column + " > " + value;
    return "(" + column + " > " + value + " OR " + column + " IS NULL)";
  };
  auto equal = [&](std::size_t index) {
    const std::string &column = keys[index].field.sql;
    return values[index].empty() ? column + " IS NULL" : column + " = " + values[index];
  };
  std::string any, equal_before;
  for (std::size_t index = 0; index < keys.size(); ++index) {
    std::string beyond = after(index);
    if (!beyond.empty()) any += (any.empty() ? "(" : " OR (") + equal_before + beyond + ")";
    equal_before += equal(index) + " AND ";
  }
  if (any.empty()) any = "FALSE";
  std::string bound;
  const SortKey &first = keys.front();
  if (keys.size() > 1 && !values.front().empty() && first.descending)
    bound = first.field.sql + " <= " + values.front();
  else if (keys.size() > 1 && !values.front().empty() && !first.field.nullable)
    bound = first.field.sql + " >= " + values.front();
  else if (keys.size() > 1 && values.front().empty() && !first.descending)
    bound = first.field.sql + " IS NULL";
  return bound.empty() ? "(" + any + ")" : bound + " AND (" + any + ")";
}

// The last row's sort keys as a cursor keeps them: the server's text of each cell, null for NULL.
nlohmann::json sort_key_texts(const Result &result, std::int64_t row,
                              const std::vector<SortKey> &keys) {
  nlohmann::json texts = nlohmann::json::array();
  for (const auto &key : keys)
    texts.push_back(result.is_null(row, key.field.cell)
                        ? nlohmann::json(nullptr)
                        : nlohmann::json(result.get_text(row, key.field.cell)));
  return texts;
}

// The latest committed commit stamp, read inside the statement that reads as of it: every
// commit stamped at or before it is visible in that statement's snapshot (commits take stamps
// in commit order under the clock row's lock, and the row shows the last committed one), and a
// commit still in flight, or to come, stamps later. So the state as of it is the committed
// present, and stays what it was for every later read as of it: the instant a first page pins.
constexpr const char *latest_committed_stamp =
    "(SELECT last_stamp FROM evcs_clock WHERE id = 1)";

// The cursor `after` continues, checked against the read it is given to: the same kind of read,
// branch, order and selection (`what_selects` names the latter in the message), and as_of
// when one is given.
PageCursor continued_cursor(const std::string &after, const std::string &read,
                            const std::string &branch, const std::optional<std::int64_t> &as_of,
                            const std::vector<std::string> &order, const std::string &selection,
                            const char *what_selects) {
  PageCursor cursor = PageCursor::decode(after, read);
  if (cursor.order != order)
    detail::throw_cursor_of_another_query("it was made for order_by " +
                                          nlohmann::json(cursor.order).dump() + ", not " +
                                          nlohmann::json(order).dump());
  if (cursor.selection != selection)
    detail::throw_cursor_of_another_query(std::string("it was made for ") + what_selects);
  if (cursor.branch != branch)
    detail::throw_cursor_of_another_query("it reads branch '" + cursor.branch + "', not '" +
                                          branch + "'");
  if (as_of && *as_of != cursor.at)
    detail::throw_cursor_of_another_query("it reads as of " + format_timestamp(cursor.at) +
                                          ", not " + format_timestamp(*as_of));
  return cursor;
}

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

// A record's `,"included":{"name":[versions],...}` for `count` relations (nothing for none): the
// relation's name is `name_of(index)`, its versions' records `append_versions(out, index)`.
template <typename NameOf, typename AppendVersions>
void append_included_json(std::string &out, std::size_t count, NameOf name_of,
                          AppendVersions append_versions) {
  if (count == 0) return;
  out += ",\"included\":{";
  for (std::size_t index = 0; index < count; ++index) {
    if (index > 0) out += ',';
    detail::append_json_string(out, name_of(index));
    out += ":[";
    append_versions(out, index);
    out += ']';
  }
  out += '}';
}

// Appends `version` as its JSON record, keys in order, the fields object written by
// `append_fields(out)`: from Version::fields, or straight from a row's cells (find_json).
template <typename FieldsWriter, typename IncludedWriter>
void append_version_json(std::string &out, const Version &version, FieldsWriter append_fields,
                         IncludedWriter append_included) {
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
  append_included(out);
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

// A page as JSON text: {"versions": <the records' array>, "cursor": text or null}.
std::string page_json(const std::string &versions_array, const std::optional<std::string> &cursor) {
  std::string out = "{\"versions\":" + versions_array + ",\"cursor\":";
  if (cursor) detail::append_json_string(out, *cursor);
  else out += "null";
  return out + "}";
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
  }, [this](std::string &text) {
    append_included_json(
        text, included.size(),
        [&](std::size_t index) -> const std::string & { return included[index].name; },
        [&](std::string &versions, std::size_t index) {
          for (std::size_t at = 0; at < included[index].versions.size(); ++at)
            versions += (at == 0 ? "" : ",") + included[index].versions[at].to_json_text();
        });
  });
  return out;
}

const IncludedRelation *Version::relation(const std::string &name) const {
  for (const auto &relation : included)
    if (relation.name == name) return &relation;
  return nullptr;
}

std::string VersionPage::to_json_text() const {
  std::string versions_array = "[";
  for (std::size_t index = 0; index < versions.size(); ++index)
    versions_array += (index == 0 ? "" : ",") + versions[index].to_json_text();
  return page_json(versions_array + "]", cursor);
}

Repository::Repository(std::shared_ptr<SessionState> session,
                       std::shared_ptr<const EntityType> type)
    : session_(std::move(session)), type_(std::move(type)),
      relations_(std::make_shared<detail::RelationCache>()) {}

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
  return history_page(head_id, {branch, std::nullopt, std::nullopt}).versions;
}

namespace {

// History's order, total over an entity's versions (one per branch and instant); a cursor
// keeps the last version's key as [valid_from, branch, version].
using HistoryKey = std::tuple<std::int64_t, std::string, std::int64_t>;

HistoryKey history_key(const Version &version) {
  return {version.valid_from, version.branch, version.version};
}

HistoryKey history_key(const nlohmann::json &last) {
  if (last.size() != 3 || !last[0].is_number_integer() || !last[1].is_string() ||
      !last[2].is_number_integer())
    detail::throw_malformed_cursor("not the key of a version in a history");
  return {last[0].get<std::int64_t>(), last[1].get<std::string>(), last[2].get<std::int64_t>()};
}

} // namespace

HistoryRows Repository::history_rows(const std::string &head_id, const HistoryOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  if (options.limit && *options.limit < 0) throw InvalidArgument("LIMIT must not be negative");
  const std::string branch = branch_or_default(options.branch);
  const std::string selection = detail::fingerprint(head_id);
  std::optional<PageCursor> previous;
  std::optional<std::int64_t> at;
  if (options.after) {
    previous = continued_cursor(*options.after, "history", branch, std::nullopt, {}, selection,
                                "another entity");
    at = previous->at;
  }
  // Paged, the history is read as of the pinned instant (VersionPage); otherwise up to now.
  const bool pin_latest = options.limit && !at;
  Params params = Params::of(head_id, branch);
  std::string instant = "'infinity'";
  if (at) {
    params.add(Timestamp{*at});
    instant = "$3::timestamptz";
  } else if (pin_latest) {
    instant = latest_committed_stamp;
  }
  // Every version of the entity on the branches the read goes through, each branch up to the
  // instant it is read at; a branch reads through to its parent only before its own first
  // version, so an ancestor's versions count up to the first version of any nearer branch.
  const std::string through_nearer =
      "min(v.valid_from) OVER (ORDER BY l.depth RANGE BETWEEN UNBOUNDED PRECEDING AND 1 "
      "PRECEDING)";
  HistoryRows history;
  history.rows = session_->run_as_of(
      "SELECT * FROM (SELECT " + type_->select_list("v.") + ", " + through_nearer +
          " AS evcs_nearer_first" + (pin_latest ? ", " + instant + " AS evcs_pinned" : "") +
          " FROM evcs_lineage($2, " + instant + ") l JOIN " + quoted(type_->version_table()) +
          " v ON v.head_id = $1::uuid AND v.branch = l.branch AND v.valid_from <= l.at) h "
          "WHERE evcs_nearer_first IS NULL OR valid_from < evcs_nearer_first "
          "ORDER BY valid_from, branch COLLATE \"C\", version",
      params, at);
  const Result &rows = history.rows;
  const std::int64_t total = rows.rows();
  // A cell as the server sent it (nothing for NULL), compared without a copy.
  auto cell = [&rows](std::int64_t row, std::int64_t column) -> std::optional<std::string_view> {
    if (rows.is_null(row, column)) return std::nullopt;
    std::size_t length = 0;
    const char *text = rows.text(row, column, &length);
    return std::string_view(text, length);
  };
  history.changed.resize(static_cast<std::size_t>(total));
  for (std::int64_t row = 0; row < total; ++row) {
    for (std::size_t field = 0; field < type_->columns.size(); ++field) {
      const std::int64_t column = version_column::first_field + static_cast<std::int64_t>(field);
      if (row > 0 && cell(row, column) == cell(row - 1, column)) continue;
      history.changed[static_cast<std::size_t>(row)].push_back(field);
    }
  }
  // The page: what `changed` says needs the versions before it, so the whole history (of one
  // entity) is read and the page cut from it here.
  std::int64_t first = 0;
  if (previous) {
    HistoryKey last = history_key(previous->last);
    while (first < total && history_key(metadata_from_row(rows, first)) <= last) ++first;
  }
  std::int64_t end = total;
  if (options.limit && end - first > *options.limit) end = first + *options.limit;
  history.first = first;
  history.count = end - first;
  if (end != total && history.count > 0) {
    const Version last = metadata_from_row(rows, end - 1);
    PageCursor next;
    next.read = "history";
    next.branch = branch;
    next.at = at ? *at : rows.get_timestamp(0, rows.column_index("evcs_pinned"));
    next.selection = selection;
    next.last = nlohmann::json::array({last.valid_from, last.branch, last.version});
    history.cursor = next.encode();
  }
  return history;
}

VersionPage Repository::history_page(const std::string &head_id, const HistoryOptions &options) {
  HistoryRows history = history_rows(head_id, options);
  VersionPage page;
  page.cursor = std::move(history.cursor);
  for (std::int64_t row = history.first; row < history.first + history.count; ++row) {
    Version version = version_from_row(history.rows, row, *type_);
    for (std::size_t field : history.changed[static_cast<std::size_t>(row)]) {
      const std::string &name = type_->columns[field].name;
      version.changed.push_back(name);
      version.previous[name] =
          row == 0 ? nlohmann::json(nullptr)
                   : history.rows.get_json(row - 1, version_column::first_field +
                                                        static_cast<std::int64_t>(field));
    }
    page.versions.push_back(std::move(version));
  }
  return page;
}

std::vector<Version> Repository::versions(const VersionRange &range) {
  return versions_page(range).versions;
}

VersionPage Repository::versions_page(const VersionRange &range) {
  SessionState::UseGuard guard(*session_, type_->name);
  if (range.mode != "from_to" && range.mode != "between" && range.mode != "contained_in")
    throw InvalidArgument("a version range's mode must be \"from_to\", \"between\" or "
                          "\"contained_in\", not \"" + range.mode + "\"");
  if (range.from && range.to && *range.from > *range.to)
    throw InvalidArgument("a version range must not end before it starts");
  if (range.limit && *range.limit < 0) throw InvalidArgument("LIMIT must not be negative");
  const std::string branch = branch_or_default(range.branch);
  auto bound = [](const std::optional<std::int64_t> &at) {
    return at ? nlohmann::json(*at) : nlohmann::json(nullptr);
  };
  const std::string selection =
      detail::fingerprint(nlohmann::json::array({range.mode, bound(range.from), bound(range.to)}));
  const std::vector<SortKey> keys = {{queryable_field(*type_, "valid_from"), false},
                                     {queryable_field(*type_, "head_id"), false}};
  std::optional<PageCursor> previous;
  if (range.after)
    previous = continued_cursor(*range.after, "versions", branch, std::nullopt, {}, selection,
                                "another range");
  auto instant = [](const std::optional<std::int64_t> &at) {
    return at ? std::optional<Timestamp>(Timestamp{*at}) : std::nullopt;
  };
  Params params = Params::of(branch);
  params.add(instant(range.from)).add(instant(range.to));
  // Paged, the range is read as of the pinned instant (VersionPage): versions stamped after it
  // are left out, and an end after it is no end yet.
  const bool pin_latest = range.limit && !previous;
  std::string pinned, valid_to = "valid_to";
  if (previous) {
    params.add(Timestamp{previous->at});
    pinned = "$4::timestamptz";
  } else if (pin_latest) {
    pinned = latest_committed_stamp;
  }
  if (!pinned.empty()) valid_to = "(CASE WHEN valid_to <= " + pinned + " THEN valid_to END)";
  std::string condition;
  if (range.mode == "from_to")
    condition = "($2::timestamptz IS NULL OR coalesce(" + valid_to + ", 'infinity') > $2) AND "
                "($3::timestamptz IS NULL OR valid_from < $3)";
  else if (range.mode == "between")
    condition = "($2::timestamptz IS NULL OR coalesce(" + valid_to + ", 'infinity') > $2) AND "
                "($3::timestamptz IS NULL OR valid_from <= $3)";
  else
    condition = "($2::timestamptz IS NULL OR valid_from >= $2) AND coalesce(" + valid_to +
                ", 'infinity') <= coalesce($3::timestamptz, 'infinity')";
  if (!pinned.empty()) condition += " AND valid_from <= " + pinned;
  if (previous) condition += " AND " + keyset_condition(keys, previous->last, params);
  std::string sql = "SELECT " + type_->select_list() + (pin_latest ? ", " + pinned : "") +
                    " FROM " + quoted(type_->version_table()) + " WHERE branch = $1 AND " +
                    condition + " ORDER BY " + order_sql(keys);
  if (range.limit) {
    params.add(*range.limit + 1);
    sql += " LIMIT $" + std::to_string(params.size()) + "::bigint";
  }
  Result result = session_->run_as_of(sql, params, range.to);
  std::int64_t rows = result.rows();
  if (range.limit && rows > *range.limit) rows = *range.limit;
  VersionPage page;
  page.versions.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t row = 0; row < rows; ++row)
    page.versions.push_back(version_from_row(result, row, *type_));
  if (range.limit && result.rows() > *range.limit && rows > 0) {
    PageCursor next;
    next.read = "versions";
    next.branch = branch;
    next.at = previous ? previous->at : result.get_timestamp(0, result.columns() - 1);
    next.selection = selection;
    next.last = sort_key_texts(result, rows - 1, keys);
    page.cursor = next.encode();
  }
  return page;
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

// The state of every entity, with the filter, as `SELECT select FROM (state_source) v WHERE
// NOT deleted AND filter`; filters may name related fields ("project.status"), read from the
// related types' state on the same branch as of the same instant.
std::string state_query(RelatedStates &related, const EntityType &type,
                        const nlohmann::json &where, const std::string &branch,
                        const std::string &instant, bool ordered, const std::string &select,
                        Params &params) {
  FilterCompiler filters(type, params, &related);
  return "SELECT " + select + " FROM (" + state_source(type, branch, instant, ordered) +
         ") v WHERE NOT deleted AND " + filters.compile(where);
}

// Binds the branch ($1) and the instant of a state read; returns the instant's SQL for
// state_query: `as_of` if given, else latest_committed_stamp when `pin_latest`, else none.
std::string bind_state(const std::string &branch, const std::optional<std::int64_t> &as_of,
                       bool pin_latest, Params &params) {
  params.add(branch);
  if (as_of) {
    params.add(Timestamp{*as_of});
    return "$2::timestamptz";
  }
  return pin_latest ? latest_committed_stamp : "";
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

// The versions a relation loaded for a page: the related rows, and per row of the page the
// related rows that belong to it (as FoundRelation keeps them: page row r's are
// indexes[offsets[r]] .. indexes[offsets[r + 1] - 1]).
struct LoadedRelation {
  RelationToLoad relation;
  Result result;
  std::vector<std::int64_t> offsets;
  std::vector<std::int64_t> indexes;

  // Calls `visit(related_row)` for each related row of page row `row`, in order.
  template <typename Visit> void for_each_of(std::int64_t row, Visit visit) const {
    const auto at = static_cast<std::size_t>(row);
    for (auto index = offsets[at]; index < offsets[at + 1]; ++index)
      visit(indexes[static_cast<std::size_t>(index)]);
  }
};

// Loads `relation` for the first `rows` rows of a page read on `branch` as of `instant` (none:
// the current state): one query for all of them, matching the keys the page holds.
LoadedRelation load_relation(SessionState &session, RelationToLoad relation, const Result &page,
                             std::int64_t rows, const std::string &branch,
                             const std::optional<std::int64_t> &instant) {
  const std::int64_t page_key_cell =
      relation.to_one
          ? version_column::first_field + static_cast<std::int64_t>(relation.column)
          : version_column::head_id;
  std::set<std::string> keys;
  for (std::int64_t row = 0; row < rows; ++row)
    if (!page.is_null(row, page_key_cell)) keys.insert(page.get_text(row, page_key_cell));
  LoadedRelation loaded{std::move(relation), Result(),
                        std::vector<std::int64_t>(static_cast<std::size_t>(rows) + 1, 0), {}};
  const EntityType &related = *loaded.relation.related;
  if (keys.empty()) return loaded;
  const std::string related_key =
      loaded.relation.to_one ? "head_id" : related.columns[loaded.relation.column].name;
  const nlohmann::json where = {{related_key, {{"in", keys}}}};
  Params params;
  const std::string instant_sql = bind_state(branch, instant, false, params);
  RelationCache no_relations;  // the filter names the related type's own fields only
  RelatedStates related_states(session, related, no_relations, branch, instant_sql);
  std::string sql = state_query(related_states, related, where, branch, instant_sql, true,
                                related.select_list(), params) +
                    " ORDER BY " + quoted(related_key) + ", head_id";
  loaded.result = session.run_as_of(sql, params, instant);
  const std::int64_t related_key_cell =
      loaded.relation.to_one
          ? version_column::head_id
          : version_column::first_field + static_cast<std::int64_t>(loaded.relation.column);
  std::map<std::string, std::vector<std::int64_t>> by_key;
  for (std::int64_t row = 0; row < loaded.result.rows(); ++row)
    by_key[loaded.result.get_text(row, related_key_cell)].push_back(row);
  for (std::int64_t row = 0; row < rows; ++row) {
    if (!page.is_null(row, page_key_cell)) {
      auto found = by_key.find(page.get_text(row, page_key_cell));
      if (found != by_key.end())
        loaded.indexes.insert(loaded.indexes.end(), found->second.begin(), found->second.end());
    }
    loaded.offsets[static_cast<std::size_t>(row) + 1] =
        static_cast<std::int64_t>(loaded.indexes.size());
  }
  return loaded;
}

} // namespace

// The rows a find read: the page is the first `rows_in_page` rows of `result` (one more row
// than the limit is read to know whether another page follows), and the cursor of the next one.
struct Repository::FoundRows {
  Result result;
  std::int64_t rows_in_page = 0;
  std::optional<std::string> cursor;
  // The relations of FindOptions::include, each loaded for the page.
  std::vector<LoadedRelation> included;
};

Repository::FoundRows Repository::read_page(const FindOptions &given) {
  FindOptions options = at_commit_resolved(*session_, given);
  if (options.after && options.offset)
    throw InvalidArgument("give offset or after (a cursor), not both: the cursor already says "
                          "where the page starts");
  const std::string branch = branch_or_default(options.branch);
  const std::string selection = detail::fingerprint(options.where);
  std::optional<PageCursor> previous;
  if (options.after) {
    previous = continued_cursor(*options.after, "find", branch, options.as_of, options.order_by,
                                selection, "another where");
    options.as_of = previous->at;
  }
  // A page pins the instant it reads (VersionPage): the as_of given, else the latest committed
  // stamp, read in this statement as its last column. Unless the transaction holds uncommitted
  // versions of the type, the current state is the state as of that stamp (this statement's
  // snapshot shows every commit up to it and none after), and reads on the index of current
  // versions; otherwise the page reads as of the stamp, without them.
  std::vector<RelationToLoad> relations;
  for (const auto &name : options.include)
    relations.push_back(relations_->get(*session_, *type_, name));
  // A read with include pins an instant too, so its queries read one state, unless the
  // transaction wrote one of its types (it then reads their current state, with its writes).
  bool own_writes = session_->written_types.count(type_->name) > 0;
  for (const auto &relation : relations)
    own_writes = own_writes || session_->written_types.count(relation.related->name) > 0;
  const bool pin_latest =
      !options.as_of && (options.limit || (!relations.empty() && !own_writes));
  const bool read_current = pin_latest && session_->written_types.count(type_->name) == 0;
  Params params;
  std::string instant = bind_state(branch, options.as_of, pin_latest && !read_current, params);
  RelatedStates related(*session_, *type_, *relations_, branch, instant);
  const std::vector<SortKey> keys =
      find_sort_keys(*type_, options.order_by, related,
                     version_column::first_field + static_cast<std::int64_t>(type_->columns.size()));
  std::string select = type_->select_list();
  // Named apart from the row's columns, which ORDER BY names too.
  for (const auto &key : keys)
    if (key.field.cell >= version_column::first_field +
                              static_cast<std::int64_t>(type_->columns.size()))
      select += ", " + key.field.sql + " AS evcs_related_key_" + std::to_string(key.field.cell);
  if (pin_latest) select += std::string(", ") + latest_committed_stamp;
  const bool page = options.limit || previous;
  std::string sql =
      state_query(related, *type_, options.where, branch, instant, page, select, params);
  if (previous) sql += " AND " + keyset_condition(keys, previous->last, params);
  sql += " ORDER BY " + order_sql(keys);
  auto add_bound = [&](const char *clause, const std::optional<std::int64_t> &bound,
                       std::int64_t extra) {
    if (!bound) return;
    if (*bound < 0) throw InvalidArgument(std::string(clause) + " must not be negative");
    params.add(*bound + extra);
    sql += std::string(" ") + clause + " $" + std::to_string(params.size()) + "::bigint";
  };
  add_bound("LIMIT", options.limit, 1);
  add_bound("OFFSET", options.offset, 0);
  FoundRows found{session_->run_as_of(sql, params, options.as_of), 0, std::nullopt, {}};
  found.rows_in_page = found.result.rows();
  if (options.limit && found.result.rows() > *options.limit) found.rows_in_page = *options.limit;
  std::optional<std::int64_t> instant_read = options.as_of;
  if (pin_latest && found.result.rows() > 0)
    instant_read = found.result.get_timestamp(0, found.result.columns() - 1);
  for (auto &relation : relations)
    found.included.push_back(
        load_relation(*session_, std::move(relation), found.result, found.rows_in_page, branch,
                      instant_read));
  if (!options.limit || found.result.rows() <= *options.limit || *options.limit == 0)
    return found;
  PageCursor next;
  next.read = "find";
  next.branch = branch;
  next.at = *instant_read;
  next.order = options.order_by;
  next.selection = selection;
  next.last = sort_key_texts(found.result, found.rows_in_page - 1, keys);
  found.cursor = next.encode();
  return found;
}

VersionPage Repository::find_page(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  FoundRows found = read_page(options);
  VersionPage page;
  page.versions.reserve(static_cast<std::size_t>(found.rows_in_page));
  for (std::int64_t row = 0; row < found.rows_in_page; ++row) {
    Version version = version_from_row(found.result, row, *type_);
    for (const auto &loaded : found.included) {
      IncludedRelation relation{loaded.relation.name, loaded.relation.related->name,
                                loaded.relation.to_one, {}};
      loaded.for_each_of(row, [&](std::int64_t related_row) {
        relation.versions.push_back(
            version_from_row(loaded.result, related_row, *loaded.relation.related));
      });
      version.included.push_back(std::move(relation));
    }
    page.versions.push_back(std::move(version));
  }
  page.cursor = std::move(found.cursor);
  return page;
}

std::vector<Version> Repository::find(const FindOptions &options) {
  return find_page(options).versions;
}

namespace {

// A row's version as its Version::to_json_text record, written straight from the cells, with
// the relations loaded for it (FoundRows::included).
class VersionRowWriter {
public:
  explicit VersionRowWriter(const EntityType &type) : type_(type), by_name_(type.columns.size()) {
    std::iota(by_name_.begin(), by_name_.end(), 0);
    std::sort(by_name_.begin(), by_name_.end(), [&](std::size_t left, std::size_t right) {
      return type.columns[left].name < type.columns[right].name;
    });
  }

  void append(std::string &out, const Result &result, std::int64_t row,
              const std::vector<LoadedRelation> &included = {}) const {
    append_version_json(
        out, metadata_from_row(result, row),
        [&](std::string &text) {
          for (std::size_t index = 0; index < by_name_.size(); ++index) {
            if (index > 0) text += ',';
            detail::append_json_string(text, type_.columns[by_name_[index]].name);
            text += ':';
            std::int64_t cell =
                version_column::first_field + static_cast<std::int64_t>(by_name_[index]);
            append_field_json(text, result, row, cell);
          }
        },
        [&](std::string &text) {
          append_included_json(
              text, included.size(),
              [&](std::size_t index) -> const std::string & {
                return included[index].relation.name;
              },
              [&](std::string &versions, std::size_t index) {
                const LoadedRelation &loaded = included[index];
                VersionRowWriter related(*loaded.relation.related);
                bool first = true;
                loaded.for_each_of(row, [&](std::int64_t related_row) {
                  if (!first) versions += ',';
                  first = false;
                  related.append(versions, loaded.result, related_row);
                });
              });
        });
  }

private:
  const EntityType &type_;
  std::vector<std::size_t> by_name_;
};

// The rows of a page as a JSON array of Version::to_json_text records.
std::string versions_json(const Result &result, std::int64_t rows, const EntityType &type,
                          const std::vector<LoadedRelation> &included = {}) {
  VersionRowWriter writer(type);
  std::string out = "[";
  for (std::int64_t row = 0; row < rows; ++row) {
    if (row > 0) out += ',';
    writer.append(out, result, row, included);
  }
  out += ']';
  return out;
}

// The relations a page loaded, as the page's JSON describes them: {name: {"entity_type",
// "to_one"}} in the order included.
std::string relations_json(const std::vector<LoadedRelation> &included) {
  std::string out = "{";
  for (std::size_t index = 0; index < included.size(); ++index) {
    if (index > 0) out += ',';
    detail::append_json_string(out, included[index].relation.name);
    out += ":{\"entity_type\":";
    detail::append_json_string(out, included[index].relation.related->name);
    out += std::string(",\"to_one\":") + (included[index].relation.to_one ? "true" : "false");
    out += '}';
  }
  return out + "}";
}

} // namespace

std::string Repository::find_json(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  FoundRows found = read_page(options);
  return versions_json(found.result, found.rows_in_page, *type_, found.included);
}

std::string Repository::find_page_json(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  FoundRows found = read_page(options);
  std::string page = page_json(
      versions_json(found.result, found.rows_in_page, *type_, found.included), found.cursor);
  if (found.included.empty()) return page;
  page.pop_back();
  return page + ",\"relations\":" + relations_json(found.included) + "}";
}

FoundPage Repository::find_rows(const FindOptions &options) {
  SessionState::UseGuard guard(*session_, type_->name);
  FoundRows found = read_page(options);
  FoundPage page{std::move(found.result), found.rows_in_page, std::move(found.cursor), {}};
  for (auto &loaded : found.included)
    page.relations.push_back({loaded.relation.name, loaded.relation.related->name,
                              loaded.relation.to_one, std::move(loaded.result),
                              std::move(loaded.offsets), std::move(loaded.indexes)});
  return page;
}

Result Repository::run_state_query(const FindOptions &given, const std::string &selected,
                                   const std::function<std::string(const std::string &)> &around) {
  const FindOptions options = at_commit_resolved(*session_, given);
  const std::string branch = branch_or_default(options.branch);
  Params params;
  std::string instant = bind_state(branch, options.as_of, false, params);
  RelatedStates related(*session_, *type_, *relations_, branch, instant);
  std::string sql =
      state_query(related, *type_, options.where, branch, instant, false, selected, params);
  return session_->run_as_of(around(sql), params, options.as_of);
}

std::int64_t Repository::count(const FindOptions &given) {
  SessionState::UseGuard guard(*session_, type_->name);
  return run_state_query(given, "count(*)", [](const std::string &sql) { return sql; })
      .get_int64(0, 0);
}

bool Repository::exists(const FindOptions &given) {
  SessionState::UseGuard guard(*session_, type_->name);
  return run_state_query(given, "1",
                         [](const std::string &sql) { return "SELECT EXISTS (" + sql + ")"; })
      .get_bool(0, 0);
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
