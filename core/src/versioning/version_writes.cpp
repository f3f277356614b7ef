#include "versioning/version_writes.hpp"

namespace evcs::detail {

std::string visible_through(const std::string &versions, const std::string &lineage) {
  return "(SELECT x.* FROM " + lineage + " l CROSS JOIN LATERAL (SELECT z.* FROM (SELECT * FROM " +
         versions + " y WHERE (y.head_id, y.branch, y.valid_from) <= (candidate.head_id, "
         "l.branch, l.at) ORDER BY y.head_id DESC, y.branch DESC, y.valid_from DESC LIMIT 1) z "
         "WHERE z.head_id = candidate.head_id AND z.branch = l.branch) x ORDER BY l.depth LIMIT 1)";
}

TargetLineage::TargetLineage(const Result &result, const std::string &target,
                             const std::string &prefix)
    : target_(target), branch_(result.column_index(prefix + "branch")),
      version_(result.column_index(prefix + "version")),
      parent_branch_(result.column_index(prefix + "parent_branch")),
      parent_version_(result.column_index(prefix + "parent_version")) {}

std::string TargetLineage::continuation(const Result &result, std::int64_t row) const {
  if (result.is_null(row, branch_)) return "1\t\\N\t\\N";
  std::string version = result.get_text(row, version_);
  std::string fields;
  if (result.get_text(row, branch_) != target_) {
    fields = "1\t";
    append_copy_field(fields, result.get_text(row, branch_));
    return fields + '\t' + version;
  }
  fields = std::to_string(std::stoll(version) + 1) + '\t';
  if (result.is_null(row, parent_branch_)) return fields + "\\N\t\\N";
  append_copy_field(fields, result.get_text(row, parent_branch_));
  return fields + '\t' + result.get_text(row, parent_version_);
}

VersionRows::VersionRows(const EntityType &type, const std::string &target,
                         const std::string &source, const std::string &author)
    : type_(type) {
  for (const auto &column : type.columns) shapes_.push_back(shape_of(column));
  append_copy_field(target_field_, target);
  if (source.empty()) source_field_ = "\\N";
  else append_copy_field(source_field_, source);
  if (author.empty()) author_field_ = "\\N";
  else append_copy_field(author_field_, author);
}

void VersionRows::add(const std::string &head_id, const std::string &continuation, bool deleted,
                      const std::vector<nlohmann::json> &values) {
  std::string row = head_id + '\t' + target_field_ + '\t' + continuation +
                    (deleted ? "\ttrue\t" : "\tfalse\t") + source_field_ + '\t' + author_field_;
  for (std::size_t field = 0; field < values.size(); ++field) {
    row += '\t';
    append_copy_value(row, values[field], type_.columns[field], shapes_[field], rows_.size());
  }
  rows_.push_back(std::move(row));
  head_ids_ += head_ids_.empty() ? "{" : ",";
  head_ids_ += head_id;
}

std::string VersionRows::copy_sql() const {
  std::string sql = "COPY " + quoted(type_.version_table()) +
                    " (head_id, branch, version, parent_branch, parent_version, deleted, "
                    "merged_from, author";
  for (const auto &column : type_.columns) sql += ", " + quoted(column.name);
  return sql + ", valid_from) FROM STDIN";
}

std::string VersionRows::stamped_rows(const std::string &stamp) const {
  std::string data;
  for (const auto &row : rows_) data += row + '\t' + stamp + '\n';
  return data;
}

std::int64_t write_stamped(SessionState &session, const std::string &target,
                           const VersionRows &rows, const std::string &stamp) {
  session.run_set_based("UPDATE " + quoted(rows.type().version_table()) +
                            " SET valid_to = $2::timestamptz WHERE head_id = ANY($3::uuid[]) AND "
                            "branch = $1 AND valid_to IS NULL",
                        Params::of(target, stamp, rows.head_ids_array()));
  return session.copy_in(rows.copy_sql(), rows.stamped_rows(stamp));
}

} // namespace evcs::detail
