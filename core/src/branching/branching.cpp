// Branch management (docs/versioning.md): create, list, lock, unlock, archive.
#include "branching/commits.hpp"
#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

#include <regex>

namespace evcs::detail {

void require_ref_name(const std::string &name, const char *kind) {
  static const std::regex valid("[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}");
  if (!std::regex_match(name, valid))
    throw InvalidArgument("invalid " + std::string(kind) + " name '" + name +
                          "': use up to 63 letters, digits, '_', '.' and '-', not starting with "
                          "'.' or '-'");
}

} // namespace evcs::detail

namespace evcs {

using detail::SessionState;

namespace {

// The branch's status, or NotFound.
std::string branch_status(SessionState &session, const std::string &name) {
  Result row = session.run("SELECT status FROM evcs_branch WHERE name = $1", Params::of(name));
  if (row.rows() == 0)
    throw NotFound("branch '" + name + "' does not exist (see branches())", "EVN01");
  return row.get_text(0, 0);
}

void set_status(SessionState &session, const std::string &name, const char *status) {
  detail::require_ref_name(name, "branch");
  detail::ensure_catalog(session);
  std::string current = branch_status(session, name);
  if (current == "archived" && std::string(status) != "archived")
    throw InvalidArgument("branch '" + name + "' is archived: archived branches stay read-only");
  if (name == "main" && std::string(status) == "archived")
    throw InvalidArgument("main cannot be archived");
  session.run("UPDATE evcs_branch SET status = $2 WHERE name = $1", Params::of(name, status));
}

} // namespace

void Session::create_branch(const std::string &name, const std::string &from_branch,
                            const std::string &mode, std::optional<std::int64_t> as_of) {
  SessionState::UseGuard guard(*state_);
  detail::require_ref_name(name, "branch");
  detail::require_ref_name(from_branch, "branch");
  if (mode != "snapshot" && mode != "live")
    throw InvalidArgument("branch mode must be \"snapshot\" or \"live\", not \"" + mode + "\"");
  if (as_of && mode == "live")
    throw InvalidArgument("a live branch reads its parent as of the same instant and has no fork "
                          "point: create it without as_of, or in snapshot mode");
  detail::OperationScope scope(*state_);
  detail::ensure_catalog(*state_);
  branch_status(*state_, from_branch);
  if (state_->run("SELECT 1 FROM evcs_branch WHERE name = $1", Params::of(name)).rows() != 0)
    throw InvalidArgument("branch '" + name + "' already exists");
  // A fork point in the past is final only once no commit can still take a stamp at or before
  // it; every later commit's stamp is later than the server's clock now.
  if (as_of && !state_->run("SELECT $1::timestamptz <= clock_timestamp()",
                            Params::of(Timestamp{*as_of})).get_bool(0, 0))
    throw InvalidArgument("the fork point " + format_timestamp(*as_of) +
                          " is in the future: as_of must be an instant in the past");
  // The fork point is the stamp of the commit that creates the branch ('infinity' until then),
  // or as_of.
  Params params = Params::of(name, from_branch, mode);
  params.add(state_->author.empty() ? std::nullopt : std::optional<std::string>(state_->author));
  params.add(as_of ? std::optional<Timestamp>(Timestamp{*as_of}) : std::nullopt);
  state_->run("INSERT INTO evcs_branch (name, parent, mode, fork_stamp, created_by) "
              "VALUES ($1, $2, $3, coalesce($5::timestamptz, 'infinity'), $4)",
              params);
  params = Params::of(name);
  params.add(as_of ? std::optional<Timestamp>(Timestamp{*as_of}) : std::nullopt);
  state_->run("INSERT INTO evcs_branch_base (branch, valid_from, base_stamp) "
              "VALUES ($1, '-infinity', coalesce($2::timestamptz, 'infinity'))",
              params);
  state_->catalog_stamp_pending = true;
  scope.commit();
}

std::vector<BranchInfo> Session::branches() {
  SessionState::UseGuard guard(*state_);
  detail::ensure_catalog(*state_);
  // The base is the merge base of the branch's head and its parent's: the fork point until a
  // merge in either direction moves it.
  Result rows = state_->run(
      "SELECT b.name, b.parent, b.mode, b.fork_stamp, b.status, b.created_at, "
      "coalesce(b.created_by, ''), evcs_branch_head(b.name), "
      "CASE WHEN b.parent IS NOT NULL THEN evcs_branch_head(b.parent) END "
      "FROM evcs_branch b ORDER BY b.created_at, b.name",
      Params());
  std::vector<BranchInfo> branches;
  for (std::int64_t row = 0; row < rows.rows(); ++row) {
    BranchInfo branch;
    branch.name = rows.get_text(row, 0);
    if (!rows.is_null(row, 1)) branch.parent = rows.get_text(row, 1);
    branch.mode = rows.get_text(row, 2);
    if (!rows.is_null(row, 3)) branch.fork_stamp = rows.get_timestamp(row, 3);
    branch.status = rows.get_text(row, 4);
    branch.created_at = rows.get_timestamp(row, 5);
    branch.created_by = rows.get_text(row, 6);
    if (!rows.is_null(row, 7)) branch.head = rows.get_text(row, 7);
    if (branch.head && !rows.is_null(row, 8)) {
      std::vector<CommitInfo> bases =
          detail::merge_bases(*state_, detail::resolve_commit(*state_, *branch.head),
                              detail::resolve_commit(*state_, rows.get_text(row, 8)));
      if (!bases.empty()) {
        branch.base = bases.front().id;
        branch.base_stamp = bases.front().stamp;
      }
    }
    branches.push_back(std::move(branch));
  }
  return branches;
}

void Session::lock_branch(const std::string &name) {
  SessionState::UseGuard guard(*state_);
  set_status(*state_, name, "locked");
}

void Session::unlock_branch(const std::string &name) {
  SessionState::UseGuard guard(*state_);
  set_status(*state_, name, "active");
}

void Session::archive_branch(const std::string &name) {
  SessionState::UseGuard guard(*state_);
  set_status(*state_, name, "archived");
}

} // namespace evcs
