// Repository::create_many: many new entities through COPY instead of one write function call
// per entity.
//
// The versions need the commit stamp (docs/versioning.md). Inside begin() they carry the pending
// sentinel 'infinity' and the transaction's commit stamps them, like every other write.
// Otherwise create_many commits by itself and stamps the rows as it copies them, which saves
// rewriting every row at commit (that UPDATE costs as much as the COPY): it takes the stamp
// under the evcs_clock row lock and keeps that lock until its COMMIT, as evcs_finalize does,
// so stamps still follow commit order.
#include "copy_text.hpp"
#include "entity_type.hpp"
#include "evcs/error.hpp"
#include "evcs/versioning.hpp"
#include "session_state.hpp"

#include <cctype>
#include <limits>
#include <random>

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

} // namespace

nlohmann::json CreatedEntities::to_json() const {
  return {{"head_ids", head_ids}, {"branch", branch}, {"version", 1},
          {"valid_from", valid_from}, {"author", author}};
}

CreatedEntities Repository::create_many(const nlohmann::json &rows, const std::string &message) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*session_, type_->name);
  SessionState &session = *session_;
  const bool own_commit = session.frames.empty();
  if (!own_commit && !message.empty())
    throw InvalidArgument("inside begin(), create_many joins the transaction and its commit "
                          "records the message: pass the message to commit() instead");
  if (own_commit)
    session.require_nothing_uncommitted("create_many, which commits its rows by itself",
                                        ", or call create_many inside begin() to make it part "
                                        "of that transaction");
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
