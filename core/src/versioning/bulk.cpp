// Repository::create_many: many new entities through COPY instead of one write function call
// per entity.
//
// The versions need the commit stamp (docs/versioning.md). Inside begin() they carry the pending
// sentinel 'infinity' and the transaction's commit stamps them, like every other write.
// Otherwise create_many commits by itself and stamps the rows as it copies them, which saves
// rewriting every row at commit (that UPDATE costs as much as the COPY): it takes the stamp
// under the evcs_clock row lock and keeps that lock until its COMMIT, as evcs_finalize does,
// so stamps still follow commit order.
#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/versioning.hpp"
#include "pg/copy_text.hpp"
#include "versioning/version_writes.hpp"

#include <cctype>
#include <limits>
#include <random>
#include <set>

namespace evcs {

using detail::append_copy_field;
using detail::append_copy_value;
using detail::ColumnShape;
using detail::EntityType;
using detail::quoted;
using detail::SessionState;

namespace {

std::string describe_row(std::size_t index) { return "row " + std::to_string(index); }

// The canonical (lowercase, hyphenated) form of a uuid given by the caller.
std::string canonical_uuid(const nlohmann::json &value, std::size_t row) {
  std::string text = value.is_string() ? value.get<std::string>() : "";
  bool valid = text.size() == 36;
  for (std::size_t i = 0; valid && i < text.size(); ++i) {
    bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    valid = hyphen_position ? text[i] == '-' : std::isxdigit(static_cast<unsigned char>(text[i]));
    text[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  if (!valid)
    throw InvalidArgument(describe_row(row) + ": head_id must be a uuid such as "
                          "123e4567-e89b-12d3-a456-426614174000, not " + value.dump());
  return text;
}

// A random (version 4) uuid, so the version rows can name their head before the server has it.
std::string random_uuid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uint64_t high = generator(), low = generator();
  high = (high & ~0xF000ULL) | 0x4000ULL;
  low = (low & ~(0xC000ULL << 48)) | (0x8000ULL << 48);
  static const char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (int nibble = 15; nibble >= 0; --nibble) {
    text += digits[(high >> (nibble * 4)) & 0xF];
    if (nibble == 8 || nibble == 4) text += '-';
  }
  text += '-';
  for (int nibble = 15; nibble >= 0; --nibble) {
    text += digits[(low >> (nibble * 4)) & 0xF];
    if (nibble == 12) text += '-';
  }
  return text;
}

// The rows as COPY text for the head and the version table, built (and so validated) before
// anything reaches the server. The version rows end right before their stamp column
// (head_id, branch, version, author, fields..., valid_from), so the stamp is appended per row.
struct CopyData {
  std::vector<std::string> head_ids;
  std::string heads;
  std::vector<std::string> version_prefixes;
};

CopyData copy_data(const EntityType &type, const nlohmann::json &rows, const std::string &branch,
                   const std::string &author) {
  if (!rows.is_array())
    throw InvalidArgument("rows must be a list of objects mapping field names to values");
  std::vector<ColumnShape> shapes;
  for (const auto &column : type.columns) shapes.push_back(detail::shape_of(column));
  std::string author_field;
  if (author.empty()) author_field = "\\N";
  else append_copy_field(author_field, author);
  std::string branch_field;
  append_copy_field(branch_field, branch);
  CopyData data;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const nlohmann::json &values = rows[row];
    if (!values.is_object())
      throw InvalidArgument(describe_row(row) + " must be an object mapping field names to "
                            "values, not " + std::string(values.type_name()));
    std::size_t known = 0;
    auto head_id = values.find("head_id");
    if (head_id != values.end()) ++known;
    data.head_ids.push_back(head_id != values.end() ? canonical_uuid(*head_id, row)
                                                    : random_uuid());
    std::string line = data.head_ids.back() + '\t' + branch_field + "\t1\t" + author_field;
    for (std::size_t index = 0; index < type.columns.size(); ++index) {
      const ColumnDefinition &column = type.columns[index];
      line += '\t';
      auto value = values.find(column.name);
      if (value == values.end()) {
        line += "\\N";
        continue;
      }
      ++known;
      append_copy_value(line, *value, column, shapes[index], row);
    }
    if (known != values.size())
      for (const auto &item : values.items())
        if (item.key() != "head_id" && !type.has_column(item.key())) {
          std::string fields;
          for (const auto &column : type.columns)
            fields += (fields.empty() ? "" : ", ") + column.name;
          throw InvalidArgument(describe_row(row) + ": '" + item.key() +
                                "' is not a field of entity type '" + type.name +
                                "' (fields: " + fields + ")");
        }
    line += '\t';
    data.version_prefixes.push_back(std::move(line));
    data.heads += data.head_ids.back() + '\t' + author_field + '\n';
  }
  return data;
}

std::string version_copy_sql(const EntityType &type) {
  std::string sql = "COPY " + quoted(type.version_table()) +
                    " (head_id, branch, version, author";
  for (const auto &column : type.columns) sql += ", " + quoted(column.name);
  return sql + ", valid_from) FROM STDIN";
}

// Whether a bulk write commits by itself (outside begin(): the session must then hold nothing
// uncommitted) or joins the transaction in progress, whose commit records the message.
bool commits_by_itself(SessionState &session, const std::string &operation,
                       const std::string &message) {
  const bool own_commit = session.frames.empty();
  if (!own_commit && !message.empty())
    throw InvalidArgument("inside begin(), " + operation + " joins the transaction and its "
                          "commit records the message: pass the message to commit() instead");
  if (own_commit)
    session.require_nothing_uncommitted(operation + ", which commits its rows by itself",
                                        ", or call " + operation + " inside begin() to make it "
                                        "part of that transaction");
  return own_commit;
}

// update_many's rows: each row's head id (canonical) and the values it sets, checked before
// anything reaches the server.
struct Updates {
  std::vector<std::string> head_ids;
  std::vector<const nlohmann::json *> values;
  std::string head_ids_array;
};

Updates updates_of(const EntityType &type, const nlohmann::json &rows) {
  if (!rows.is_array())
    throw InvalidArgument("rows must be a list of objects, each with a head_id and the fields to "
                          "change");
  Updates updates;
  std::set<std::string> seen;
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const nlohmann::json &values = rows[row];
    if (!values.is_object())
      throw InvalidArgument(describe_row(row) + " must be an object with a head_id and the "
                            "fields to change, not " + std::string(values.type_name()));
    auto head_id = values.find("head_id");
    if (head_id == values.end())
      throw InvalidArgument(describe_row(row) + " has no head_id: name the entity to update");
    std::string id = canonical_uuid(*head_id, row);
    if (!seen.insert(id).second)
      throw InvalidArgument(describe_row(row) + " updates " + id + " again: give each entity "
                            "once, with all of its changes");
    for (const auto &item : values.items())
      if (item.key() != "head_id" && !type.has_column(item.key()))
        throw InvalidArgument(describe_row(row) + ": '" + item.key() +
                              "' is not a field of entity type '" + type.name + "'");
    updates.head_ids_array += (updates.head_ids.empty() ? "{" : ",") + id;
    updates.head_ids.push_back(std::move(id));
    updates.values.push_back(&values);
  }
  updates.head_ids_array += "}";
  return updates;
}

} // namespace

nlohmann::json UpdatedEntities::to_json() const {
  return {{"head_ids", head_ids}, {"versions", versions}, {"branch", branch},
          {"valid_from", valid_from}, {"author", author}};
}

UpdatedEntities Repository::update_many(const nlohmann::json &rows, const std::string &message) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*session_, type_->name);
  SessionState &session = *session_;
  const bool own_commit = commits_by_itself(session, "update_many", message);
  Updates updates = updates_of(*type_, rows);
  UpdatedEntities updated;
  updated.branch = session.branch;
  updated.author = session.author;
  updated.valid_from = std::numeric_limits<std::int64_t>::max();
  if (updates.head_ids.empty()) return updated;
  if (!own_commit) {
    for (std::size_t row = 0; row < updates.head_ids.size(); ++row) {
      nlohmann::json values = *updates.values[row];
      values.erase("head_id");
      updated.versions.push_back(
          write("update", updates.head_ids[row], values, std::nullopt).version);
    }
    updated.head_ids = std::move(updates.head_ids);
    return updated;
  }
  std::vector<std::int64_t> next_versions;
  detail::OperationScope scope(session);
  try {
    const std::string versions = quoted(type_->version_table());
    session.run("SELECT evcs_require_writable($1)", Params::of(session.branch));
    // Writers of these entities wait from here to the commit, so the versions read next are
    // still the current ones when they are closed.
    session.run_set_based(
        "SELECT head_id::text FROM " + quoted(type_->name) +
            " WHERE head_id = ANY($1::uuid[]) ORDER BY head_id FOR UPDATE",
        Params::of(updates.head_ids_array));
    Result current = session.run_set_based(
        "WITH candidate AS (SELECT unnest($2::uuid[]) AS head_id, "
        "generate_subscripts($2::uuid[], 1) AS position), "
        "lineage AS (SELECT * FROM evcs_lineage($1, 'infinity')) "
        "SELECT c.deleted AS \"current.deleted\", c.branch AS \"current.branch\", "
        "c.version AS \"current.version\", c.parent_branch AS \"current.parent_branch\", "
        "c.parent_version AS \"current.parent_version\", " + type_->select_list("c.") +
            " FROM candidate LEFT JOIN LATERAL " + detail::visible_through(versions, "lineage") +
            " c ON true ORDER BY candidate.position",
        Params::of(session.branch, updates.head_ids_array));
    const detail::TargetLineage lineage(current, session.branch, "current.");
    // The five columns above, then the version's own (as a find's rows have them), then fields.
    const std::int64_t first_field = 5 + FoundPage::first_field;
    detail::VersionRows written(*type_, session.branch, "", session.author);
    for (std::int64_t row = 0; row < current.rows(); ++row) {
      const std::string &head_id = updates.head_ids[static_cast<std::size_t>(row)];
      if (current.is_null(row, 0))
        throw NotFound(type_->name + " " + head_id + " does not exist", "EVN01");
      if (current.get_bool(row, 0))
        throw NotFound(type_->name + " " + head_id + " is deleted: restore it first", "EVN01");
      const nlohmann::json &given = *updates.values[static_cast<std::size_t>(row)];
      std::vector<nlohmann::json> values;
      bool changes = false;
      for (std::size_t field = 0; field < type_->columns.size(); ++field) {
        nlohmann::json now = current.get_json(row, first_field + static_cast<std::int64_t>(field));
        auto set = given.find(type_->columns[field].name);
        if (set != given.end() && *set != now) {
          changes = true;
          now = *set;
        }
        values.push_back(std::move(now));
      }
      const std::int64_t version = current.get_int64(row, 2);
      if (!changes) {
        next_versions.push_back(version);
        continue;
      }
      const std::string continuation = lineage.continuation(current, row);
      next_versions.push_back(std::stoll(continuation.substr(0, continuation.find('\t'))));
      written.add(head_id, continuation, false, values);
    }
    if (!written.empty()) {
      SessionState::CommitStamp stamp = session.take_commit_stamp();
      detail::write_stamped(session, session.branch, written, stamp.text);
      session.commit_stamped(stamp, session.branch, message,
                             static_cast<std::int64_t>(written.size()));
      updated.valid_from = stamp.micros;
    } else {
      session.close_quietly();
    }
  } catch (...) {
    session.close_quietly();
    throw;
  }
  updated.head_ids = std::move(updates.head_ids);
  updated.versions = std::move(next_versions);
  return updated;
}

nlohmann::json CreatedEntities::to_json() const {
  return {{"head_ids", head_ids}, {"branch", branch}, {"version", 1},
          {"valid_from", valid_from}, {"author", author}};
}

CreatedEntities Repository::create_many(const nlohmann::json &rows, const std::string &message) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*session_, type_->name);
  SessionState &session = *session_;
  const bool own_commit = commits_by_itself(session, "create_many", message);
  CopyData data = copy_data(*type_, rows, session.branch, session.author);
  CreatedEntities created;
  created.branch = session.branch;
  created.author = session.author;
  created.valid_from = std::numeric_limits<std::int64_t>::max();
  if (data.head_ids.empty()) return created;

  auto write = [&] {
    session.run("SELECT evcs_require_writable($1)", Params::of(session.branch));
    session.copy_in("COPY " + quoted(type_->name) + " (head_id, created_by) FROM STDIN",
                    data.heads);
    SessionState::CommitStamp stamp{"infinity", created.valid_from};
    if (own_commit) stamp = session.take_commit_stamp();
    created.valid_from = stamp.micros;
    std::string versions;
    versions.reserve(data.version_prefixes.size() * (data.version_prefixes[0].size() + 40));
    for (const auto &prefix : data.version_prefixes) versions += prefix + stamp.text + '\n';
    data.version_prefixes.clear();
    session.copy_in(version_copy_sql(*type_), versions);
    if (!own_commit) {
      session.written_types.insert(type_->name);
      return;
    }
    session.commit_stamped(stamp, session.branch, message,
                           static_cast<std::int64_t>(data.head_ids.size()));
  };
  if (!own_commit) {
    write();
  } else {
    detail::OperationScope scope(session);
    try {
      write();
    } catch (...) {
      session.close_quietly();
      throw;
    }
  }
  created.head_ids = std::move(data.head_ids);
  return created;
}

} // namespace evcs
