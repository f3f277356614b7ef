// Commits: the log (one evcs_commit row per transaction that wrote versions or merged), the
// commit graph's refs (ids, prefixes, tags, branch heads) and tags.
#include "branching/commits.hpp"
#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"


namespace evcs {

using detail::quoted;
using detail::SessionState;

nlohmann::json CommitInfo::to_json() const {
  return {{"id", id},
          {"parents", parents},
          {"stamp", stamp},
          {"branch", branch},
          {"author", author},
          {"message", message},
          {"changes", changes},
          {"merged_from", merged_from ? nlohmann::json(*merged_from) : nlohmann::json(nullptr)}};
}

nlohmann::json TagInfo::to_json() const {
  return {{"name", name},
          {"commit", commit},
          {"message", message},
          {"created_at", created_at},
          {"created_by", created_by}};
}

namespace detail {

const char *const commit_columns = "commit_id, stamp, branch, array_to_json(parents)::text, "
                                   "coalesce(author, ''), coalesce(message, ''), changes, "
                                   "merged_from";

CommitInfo commit_from_row(const Result &rows, std::int64_t row) {
  CommitInfo commit;
  commit.id = rows.get_text(row, 0);
  commit.stamp = rows.get_timestamp(row, 1);
  commit.branch = rows.get_text(row, 2);
  commit.parents = nlohmann::json::parse(rows.get_text(row, 3)).get<std::vector<std::string>>();
  commit.author = rows.get_text(row, 4);
  commit.message = rows.get_text(row, 5);
  commit.changes = rows.get_int64(row, 6);
  if (!rows.is_null(row, 7)) commit.merged_from = rows.get_text(row, 7);
  return commit;
}

CommitInfo resolve_commit(SessionState &session, const std::string &ref) {
  require_utf8(ref, "the commit");
  if (ref.empty()) throw InvalidArgument("a commit must be named: give its id, a tag or a branch");
  ensure_catalog(session);
  Result row = session.run(std::string("SELECT ") + commit_columns +
                               " FROM evcs_resolve_commit($1, true)",
                           Params::of(ref));
  if (row.is_null(0, 0))
    throw NotFound("no commit, tag or branch '" + ref + "' (give a commit id or at least four of "
                   "its leading hex digits, a tag or a branch with a commit)",
                   "EVN01");
  return commit_from_row(row, 0);
}

std::optional<CommitInfo> branch_head(SessionState &session, const std::string &branch) {
  require_utf8(branch, "the branch name");
  ensure_catalog(session);
  Result head = session.run("SELECT evcs_branch_head(name) FROM evcs_branch WHERE name = $1",
                            Params::of(branch));
  if (head.rows() == 0)
    throw NotFound("branch '" + branch + "' does not exist (see branches())", "EVN01");
  if (head.is_null(0, 0)) return std::nullopt;
  Result row = session.run(std::string("SELECT ") + commit_columns +
                               " FROM evcs_commit WHERE commit_id = $1",
                           Params::of(head.get_text(0, 0)));
  return commit_from_row(row, 0);
}

} // namespace detail

std::vector<CommitInfo> Session::commit_log(const CommitLogOptions &options) {
  SessionState::UseGuard guard(*state_);
  if (options.head_id && !options.entity_type)
    throw InvalidArgument("commit_log: a head_id filter needs the entity_type it belongs to");
  if (options.limit && *options.limit < 0)
    throw InvalidArgument("commit_log: limit must not be negative");
  detail::ensure_catalog(*state_);
  Params params;
  params.add(options.branch);
  std::string sql = std::string("SELECT ") + detail::commit_columns +
                    " FROM evcs_commit WHERE ($1::text IS NULL OR branch = $1)";
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
  for (std::int64_t row = 0; row < rows.rows(); ++row)
    commits.push_back(detail::commit_from_row(rows, row));
  return commits;
}

CommitInfo Session::commit_info(const std::string &ref) {
  SessionState::UseGuard guard(*state_);
  return detail::resolve_commit(*state_, ref);
}

std::optional<CommitInfo> Session::merge_base(const std::string &first, const std::string &second) {
  SessionState::UseGuard guard(*state_);
  CommitInfo one = detail::resolve_commit(*state_, first);
  CommitInfo other = detail::resolve_commit(*state_, second);
  std::vector<CommitInfo> bases = detail::merge_bases(*state_, one, other);
  if (bases.empty()) return std::nullopt;
  return bases.front();
}

namespace {

const char *const tag_columns = "name, commit_id, coalesce(message, ''), created_at, "
                                "coalesce(created_by, '')";

TagInfo tag_from_row(const Result &rows, std::int64_t row) {
  return {rows.get_text(row, 0), rows.get_text(row, 1), rows.get_text(row, 2),
          rows.get_timestamp(row, 3), rows.get_text(row, 4)};
}

} // namespace

TagInfo Session::tag(const std::string &name, const std::string &commit,
                     const std::string &message) {
  SessionState::UseGuard guard(*state_);
  detail::require_ref_name(name, "tag");
  require_utf8(message, "the tag message");
  detail::ensure_catalog(*state_);
  CommitInfo tagged;
  if (commit.empty()) {
    std::optional<CommitInfo> head = detail::branch_head(*state_, state_->branch);
    if (!head)
      throw InvalidArgument("branch '" + state_->branch + "' has no commit to tag yet");
    tagged = *head;
  } else {
    tagged = detail::resolve_commit(*state_, commit);
  }
  detail::OperationScope scope(*state_);
  Params params = Params::of(name, tagged.id);
  params.add(message.empty() ? std::nullopt : std::optional<std::string>(message));
  params.add(state_->author.empty() ? std::nullopt : std::optional<std::string>(state_->author));
  Result row = state_->run(std::string("INSERT INTO evcs_tag (name, commit_id, message, "
                                       "created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (name) "
                                       "DO NOTHING RETURNING ") + tag_columns,
                           params);
  if (row.rows() == 0)
    throw InvalidArgument("tag '" + name + "' already exists: delete it first to move it");
  TagInfo created = tag_from_row(row, 0);
  scope.commit();
  return created;
}

std::vector<TagInfo> Session::tags() {
  SessionState::UseGuard guard(*state_);
  detail::ensure_catalog(*state_);
  Result rows = state_->run(std::string("SELECT ") + tag_columns + " FROM evcs_tag ORDER BY name",
                            Params());
  std::vector<TagInfo> tags;
  for (std::int64_t row = 0; row < rows.rows(); ++row) tags.push_back(tag_from_row(rows, row));
  return tags;
}

void Session::delete_tag(const std::string &name) {
  SessionState::UseGuard guard(*state_);
  detail::require_ref_name(name, "tag");
  detail::ensure_catalog(*state_);
  detail::OperationScope scope(*state_);
  if (state_->run("DELETE FROM evcs_tag WHERE name = $1 RETURNING name", Params::of(name))
          .rows() == 0)
    throw NotFound("tag '" + name + "' does not exist (see tags())", "EVN01");
  scope.commit();
}

} // namespace evcs
