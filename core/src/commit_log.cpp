// The commit log (SPEC §3.3): one evcs_commit row per transaction that wrote versions, created a
// branch or merged one, written by evcs_finalize at commit.
#include "entity_type.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"
#include "session_state.hpp"

namespace evcs {

using detail::quoted;
using detail::SessionState;

nlohmann::json CommitInfo::to_json() const {
  return {{"id", id},
          {"stamp", stamp},
          {"branch", branch},
          {"author", author},
          {"message", message},
          {"changes", changes},
          {"merged_from", merged_from ? nlohmann::json(*merged_from) : nlohmann::json(nullptr)}};
}

std::vector<CommitInfo> Session::commit_log(const CommitLogOptions &options) {
  SessionState::UseGuard guard(*state_);
  if (options.head_id && !options.entity_type)
    throw InvalidArgument("commit_log: a head_id filter needs the entity_type it belongs to");
  if (options.limit && *options.limit < 0)
    throw InvalidArgument("commit_log: limit must not be negative");
  detail::ensure_catalog(*state_);
  Params params;
  params.add(options.branch);
  std::string sql = "SELECT id, stamp, branch, coalesce(author, ''), coalesce(message, ''), "
                    "changes, merged_from FROM evcs_commit WHERE ($1::text IS NULL OR branch = $1)";
  if (options.entity_type) {
    auto type = state_->engine->entity_types.find(*state_, *options.entity_type);
    params.add(options.head_id);
    // A commit stamps the versions it writes with its own stamp, so a commit wrote an entity
    // exactly when one of the entity's versions begins at the commit's stamp.
    sql += " AND stamp IN (SELECT valid_from FROM " + quoted(type->version_table()) +
           " WHERE $2::uuid IS NULL OR head_id = $2::uuid)";
  }
  sql += " ORDER BY stamp DESC";
  if (options.limit) {
    params.add(*options.limit);
    sql += " LIMIT $" + std::to_string(params.size()) + "::bigint";
  }
  Result rows = state_->run(sql, params);
  std::vector<CommitInfo> commits;
  for (std::int64_t row = 0; row < rows.rows(); ++row) {
    CommitInfo commit;
    commit.id = rows.get_int64(row, 0);
    commit.stamp = rows.get_timestamp(row, 1);
    commit.branch = rows.get_text(row, 2);
    commit.author = rows.get_text(row, 3);
    commit.message = rows.get_text(row, 4);
    commit.changes = rows.get_int64(row, 5);
    if (!rows.is_null(row, 6)) commit.merged_from = rows.get_text(row, 6);
    commits.push_back(std::move(commit));
  }
  return commits;
}

} // namespace evcs
