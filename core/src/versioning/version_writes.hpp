// Writing new versions of many entities set by set, already stamped (or pending, stamped by the
// transaction's commit): a merge's merged versions and update_many's updated ones. One UPDATE
// closes the open versions, one COPY brings in their successors; each successor continues the
// lineage of the version it replaces (TargetLineage).
#pragma once

#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/result.hpp"
#include "pg/copy_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace evcs::detail {

// The visible version of each candidate entity (`candidate.head_id` in the enclosing query)
// through the lineage relation `lineage` (depth, branch, at), as a LATERAL lookup by head_id: one
// probe of the primary key (head_id, branch, valid_from) per entity and branch, for the greatest
// key at or before (head_id, branch, instant), kept if it is that entity's on that branch. Only
// a btree serves the row comparison, so the plan cannot turn to the exclusion constraint's GiST
// index on (head_id, branch), which equality probes choose on the statistics a bulk load leaves
// (10,000 entities: 0.51 s instead of 0.19 s).
std::string visible_through(const std::string &versions, const std::string &lineage);

// Where a branch's lineage of an entity stands before a write: the version the branch shows
// (its own, or one it reads through to an ancestor), read from a result's columns `prefix`branch,
// `prefix`version, `prefix`parent_branch and `prefix`parent_version (NULL branch: none).
class TargetLineage {
public:
  TargetLineage(const Result &result, const std::string &target, const std::string &prefix);

  // The COPY fields (version, parent_branch, parent_version) of the next version: it continues
  // the branch's own version, or starts the branch's lineage from the version read through to
  // (as a first write on a branch does), or is version 1 of an entity new to the branch.
  std::string continuation(const Result &result, std::int64_t row) const;

private:
  std::string target_;
  std::int64_t branch_, version_, parent_branch_, parent_version_;
};

// New versions of one entity type on one branch as COPY rows, each ending right before its stamp
// (the last column), which is taken only once everything is planned.
class VersionRows {
public:
  // `source`: recorded as merged_from (a merge's source branch; empty for none).
  VersionRows(const EntityType &type, const std::string &target, const std::string &source,
              const std::string &author);

  void add(const std::string &head_id, const std::string &continuation, bool deleted,
           const std::vector<nlohmann::json> &values);

  bool empty() const { return rows_.empty(); }
  std::size_t size() const { return rows_.size(); }
  const EntityType &type() const { return type_; }
  // The head ids as a PostgreSQL uuid[] literal.
  std::string head_ids_array() const { return head_ids_ + "}"; }
  std::string copy_sql() const;
  std::string stamped_rows(const std::string &stamp) const;

private:
  const EntityType &type_;
  std::vector<ColumnShape> shapes_;
  std::string target_field_, source_field_, author_field_;
  std::vector<std::string> rows_;
  std::string head_ids_;
};

// Closes the open versions of `rows`' entities on `target` at `stamp` and copies in `rows`
// stamped with it ("infinity": pending, for the transaction's commit to stamp). Returns how
// many versions it wrote.
std::int64_t write_stamped(SessionState &session, const std::string &target,
                           const VersionRows &rows, const std::string &stamp);

} // namespace evcs::detail
