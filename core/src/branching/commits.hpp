// Commits as the engine reads them from evcs_commit: one select list, one reader, and the
// resolution of what names a commit (docs/versioning.md, "Commits and the commit graph").
#pragma once

#include "evcs/result.hpp"
#include "evcs/versioning.hpp"

#include <optional>
#include <string>
#include <vector>

namespace evcs::detail {

struct SessionState;

// The columns commit_from_row reads, in its order, for a select from evcs_commit (or a row of
// its type).
extern const char *const commit_columns;
CommitInfo commit_from_row(const Result &rows, std::int64_t row);

// The commit `ref` names: a tag, a branch (its head), a full id or a unique prefix of at least
// four hex digits. NotFound (EVN01) for none, InvalidArgument for an ambiguous prefix.
CommitInfo resolve_commit(SessionState &session, const std::string &ref);
// The head of a branch (its last commit, or the one it was forked from); nothing before the
// first commit of its lineage. NotFound for an unknown branch.
std::optional<CommitInfo> branch_head(SessionState &session, const std::string &branch);

// The best common ancestors of two commits, latest first (two or more: a criss-cross history),
// as git's merge-base --all computes them; none for commits that share no history.
std::vector<CommitInfo> merge_bases(SessionState &session, const CommitInfo &first,
                                    const CommitInfo &second);
// The ids of the commits `to` reaches (itself included) that `from` does not (no `from`: all of
// `to`'s ancestors), oldest first.
std::vector<std::string> commits_between(SessionState &session,
                                         const std::optional<CommitInfo> &from,
                                         const CommitInfo &to);

// Throws InvalidArgument unless `name` can name a ref (`kind`: "branch" or "tag"): up to 63
// letters, digits, '_', '.' and '-', not starting with '.' or '-' (evcs_branch's CHECK).
void require_ref_name(const std::string &name, const char *kind);

} // namespace evcs::detail
