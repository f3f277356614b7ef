// Versioned entities (docs/versioning.md): entity types, versions, and the repository of one type.
//
// Every change to an entity is a new immutable version. A version's valid_from is the commit
// stamp of the transaction that wrote it; stamps are strictly increasing in commit order, so a
// read "as of" a past instant is repeatable.
#pragma once

#include "evcs/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace evcs {

class Session;
namespace detail {
struct SessionState;
struct EntityType;
class RelationCache;
} // namespace detail

// One column of an entity type: a name and a PostgreSQL type, optionally followed by
// "not null", e.g. {"budget", "numeric(14,2)"}, {"tags", "text[]"}, {"name", "text not null"}.
// A column that refers to an entity of another type (or of its own) names that type in
// `references` (its type is then uuid, the default when `type` is empty) and says in
// `on_delete` what a delete of the entity referred to does to the entities referring to it on
// that branch: "restrict" (the default: the delete is refused), "cascade" (they are deleted
// too) or "set null" (their reference becomes null), in the same commit.
// E.g. {"project_id", "uuid not null", "project", "cascade"}.
struct ColumnDefinition {
  std::string name;
  std::string type;
  std::string references = {};
  std::string on_delete = {};
};

// The rules an entity type's live entities keep on every branch, besides references: each
// unique key (a list of columns) is unique among the entities live on a branch as the branch
// reads them (NULLs never clash); each check is a named SQL boolean expression over the
// columns, a CHECK constraint of every version. E.g. {{{"email"}}, {{"email_has_at",
// "email LIKE '%@%'"}}}.
struct EntityConstraints {
  std::vector<std::vector<std::string>> unique;
  std::vector<std::pair<std::string, std::string>> checks;

  bool empty() const { return unique.empty() && checks.empty(); }
  nlohmann::json to_json() const;
  static EntityConstraints from_json(const nlohmann::json &json);
};

// A field of an entity type as versions carry it: the declared PostgreSQL type (as
// normalised when the type was created) and the kind of value its cells hold, which tells a
// wrapper how to read the field's JSON value (e.g. a numeric arrives as an exact string).
struct FieldDefinition {
  std::string name;
  std::string type;
  ColumnType value_type = ColumnType::text;
  // The entity type it refers to and what a delete of that entity does (see ColumnDefinition);
  // empty for a plain field.
  std::string references;
  std::string on_delete;
};

struct Version;

// The related versions a find with `include` loaded for one version, for one relation: the
// entity a reference field names (many-to-one: at most one version), or the entities whose
// reference field names this one (one-to-many: ordered by head id).
struct IncludedRelation {
  std::string name;         // as given in FindOptions::include
  std::string entity_type;  // the related type
  bool to_one = false;      // many-to-one
  std::vector<Version> versions;
};

// Timestamps are UTC microseconds since 1970-01-01.
struct Version {
  std::string head_id;
  std::string branch;
  std::int64_t version = 0;
  std::int64_t valid_from = 0;
  std::optional<std::int64_t> valid_to;
  bool deleted = false;
  std::string author;
  std::optional<std::string> parent_branch;
  std::optional<std::int64_t> parent_version;
  std::optional<std::string> merged_from;
  // The entity's own columns, typed as JSON (numeric, uuid, timestamps, dates and bytea as
  // strings; see FieldDefinition), ordered by name.
  nlohmann::json fields = nlohmann::json::object();
  // In a history: the fields that differ from the previous version (all of them for the first),
  // and their values before it (null for the first version).
  std::vector<std::string> changed;
  nlohmann::json previous = nlohmann::json::object();
  // A find with `include`: per relation, in the order given, what it loaded for this version.
  std::vector<IncludedRelation> included;

  // The relation `name` of `included`; nullptr when the read did not include it.
  const IncludedRelation *relation(const std::string &name) const;
  nlohmann::json to_json() const;
  // The same as JSON text, keys in order, written without building an object (the C ABI hands
  // out every version a read returns this way).
  std::string to_json_text() const;
};

// A branch (docs/versioning.md). Timestamps are UTC microseconds.
struct BranchInfo {
  std::string name;
  std::optional<std::string> parent;
  std::string mode;  // "snapshot" or "live"
  // The instant the branch was forked from its parent at (a snapshot branch reads its
  // parent's versions as of it for everything it has not written or merged itself).
  std::optional<std::int64_t> fork_stamp;
  // The branch's last commit (or, before its first, the commit it was forked from).
  std::optional<std::string> head;
  // The merge base with its parent now: the fork point, or the last merge in either direction.
  std::optional<std::string> base;
  std::optional<std::int64_t> base_stamp;
  std::string status;  // "active", "locked" or "archived"
  std::int64_t created_at = 0;
  std::string created_by;
};

// One transaction in the commit log (evcs_commit): every commit that wrote versions, created a
// branch or merged one. Timestamps are UTC microseconds.
struct CommitInfo {
  // 40 hex digits, stable: anything that takes a commit also takes a unique prefix of at least
  // four digits, a tag or a branch name (its head).
  std::string id;
  // The previous commit of its branch (or the commit the branch was forked from), then for a
  // merge the source's head it merged.
  std::vector<std::string> parents;
  // The commit stamp: the valid_from of every version the commit wrote.
  std::int64_t stamp = 0;
  std::string branch;
  std::string author;
  std::string message;
  // The number of versions it wrote.
  std::int64_t changes = 0;
  // For a merge: the branch merged into `branch`.
  std::optional<std::string> merged_from;

  nlohmann::json to_json() const;
};

// A name for a commit (Session::tag).
struct TagInfo {
  std::string name;
  std::string commit;
  std::string message;
  std::int64_t created_at = 0;
  std::string created_by;

  nlohmann::json to_json() const;
};

// Which commits Session::commit_log returns, newest first.
struct CommitLogOptions {
  std::optional<std::string> branch;
  // Only commits that wrote versions of this entity type ...
  std::optional<std::string> entity_type;
  // ... and of this entity (needs entity_type).
  std::optional<std::string> head_id;
  std::optional<std::int64_t> limit;
};

// A structured query over the state of the entities at an instant (filters: docs/versioning.md).
struct FindOptions {
  // {"status": "active"}, {"budget": {"gt": 100}}, {"or": [...]}, {"not": {...}}; null = all.
  nlohmann::json where;
  // Field names; "-field" sorts descending. Default: head_id.
  std::vector<std::string> order_by;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> offset;
  std::optional<std::int64_t> as_of;
  std::optional<std::string> branch;
  // As of a commit (id, prefix, tag or branch head) instead of an instant: the state of the
  // commit's branch at its stamp. Excludes as_of; a branch, if given, must be the commit's.
  std::optional<std::string> as_of_commit;
  // The cursor of the previous page (VersionPage::cursor): the rows after its last one, read as
  // of the same instant on the same branch. Excludes offset; where, order_by, branch and as_of
  // (when given) must be those of the first page.
  std::optional<std::string> after;
  // Relations to load with the versions, each in one more query for the whole page (never one
  // per version), read on the same branch as of the same instant (docs/relations.md):
  //  - many-to-one, through a field of this type that references another: the field's name, or
  //    that name without its "_id" suffix ("project_id" or "project");
  //  - one-to-many, the entities of another type whose field references these: that type's
  //    name, the name with an "s" ("task" or "tasks"), or "type.field" ("task.project_id"),
  //    which a type with two fields referencing this one needs.
  // A read with include and no as_of pins an instant as a page does (VersionPage) unless the
  // transaction has written one of the types: then it reads their current state.
  std::vector<std::string> include;
};

// The versions of an entity type over a system-time range, the SQL:2011 way (MariaDB's and
// `periods`' FOR SYSTEM_TIME): "from_to" those valid at some instant of [from, to), "between"
// of [from, to], "contained_in" those that began and ended within [from, to]. An unset bound
// is open.
struct VersionRange {
  std::optional<std::int64_t> from;
  std::optional<std::int64_t> to;
  std::string mode = "from_to";
  // The branch's own versions (default: the session's branch).
  std::optional<std::string> branch;
  std::optional<std::int64_t> limit;
  // The cursor of the previous page (VersionPage::cursor); from, to, mode and branch must be
  // those of the first page.
  std::optional<std::string> after;
};

// Which versions Repository::history_page returns: those of `branch` (default: the session's),
// `limit` at a time, after the cursor of the previous page.
struct HistoryOptions {
  std::optional<std::string> branch;
  std::optional<std::int64_t> limit;
  std::optional<std::string> after;
};

// One page of a read with a limit, and the cursor that continues it.
//
// Keyset pagination: a page is the `limit` rows after the previous page's last row in the
// read's order, found by comparing sort keys (an index range scan for the default order), not by
// skipping rows, so the thousandth page costs what the first does. The first page pins an
// instant: its as_of, else the latest committed commit stamp when it was read (a state no commit
// can still change). Every later page reads as of that instant on the same branch, so a walk
// while others commit sees each entity once, as it was at that instant. Reads as of an instant
// see no uncommitted versions: a paged read inside a transaction does not see its own writes.
struct VersionPage {
  std::vector<Version> versions;
  // Opaque (URL-safe text); none when no row follows the page (or the read had no limit, or a
  // limit of 0).
  std::optional<std::string> cursor;

  // {"versions": [Version::to_json_text records], "cursor": text or null}.
  std::string to_json_text() const;
};

// What Repository::create_many wrote: version 1 of one new entity per row, in row order.
struct CreatedEntities {
  std::vector<std::string> head_ids;
  std::string branch;
  // The commit stamp of the versions; INT64_MAX (pending, like every version of an uncommitted
  // transaction) when create_many joined a transaction in progress.
  std::int64_t valid_from = 0;
  std::string author;

  nlohmann::json to_json() const;
};

// What Repository::update_many wrote: per row, in row order, the entity and the version it has
// now (the same as before when the row changed nothing).
struct UpdatedEntities {
  std::vector<std::string> head_ids;
  std::vector<std::int64_t> versions;
  std::string branch;
  // The commit stamp; INT64_MAX when update_many joined a transaction in progress (pending) or
  // wrote nothing (no row changed a value: no commit).
  std::int64_t valid_from = 0;
  std::string author;

  nlohmann::json to_json() const;
};

// A find's rows as the server returned them, for a caller that converts the cells itself (the C
// ABI hands them out this way, without JSON). Each row of `rows` is a version: the columns
// Version has, in the order of FoundPage::system_columns, then the entity's fields in their
// declared order (Repository::fields), then columns the read needed for its order.
struct FoundRelation {
  std::string name;
  std::string entity_type;
  bool to_one = false;
  // The related versions, laid out as the page's rows are (with the related type's fields).
  Result rows;
  // Page row r's related rows are rows[indexes[offsets[r]] .. indexes[offsets[r + 1] - 1]].
  std::vector<std::int64_t> offsets;
  std::vector<std::int64_t> indexes;
};

struct FoundPage {
  static constexpr const char *system_columns[] = {
      "head_id", "branch", "version", "valid_from", "valid_to", "deleted",
      "parent_branch", "parent_version", "merged_from", "author"};
  static constexpr std::int64_t first_field = 10;

  Result rows;
  // The page is the first `size` rows (the read may have fetched one more).
  std::int64_t size = 0;
  std::optional<std::string> cursor;
  std::vector<FoundRelation> relations;
};

// A history page as the rows the server returned, for a caller that converts the cells itself
// (the C ABI hands it out this way, without JSON). `rows` is the entity's whole history up to the
// page's end, in history order, laid out as FoundPage's rows; the page is rows [first,
// first + count).
struct HistoryRows {
  Result rows;
  std::int64_t first = 0;
  std::int64_t count = 0;
  // For each row of the history: the indexes (Repository::fields order) of the fields whose
  // values differ from the row before it (every field for the first row).
  std::vector<std::vector<std::size_t>> changed;
  std::optional<std::string> cursor;
};

class Repository {
public:
  Repository(std::shared_ptr<detail::SessionState> session,
             std::shared_ptr<const detail::EntityType> type);

  const std::string &entity_type() const noexcept;
  // The entity's fields in column order.
  std::vector<FieldDefinition> fields() const;

  // A new entity: version 1 on the session's branch. `head_id` empty = a new random uuid.
  Version create(const nlohmann::json &values, const std::string &head_id = "");
  // A new version with `values` merged over the current ones. ConcurrentModification when
  // `expected_version` is given and differs from the current version.
  Version update(const std::string &head_id, const nlohmann::json &values,
                 std::optional<std::int64_t> expected_version = std::nullopt);
  // A tombstone version: get() then returns nothing; the history keeps everything.
  Version remove(const std::string &head_id);
  // A new live version with the last live content.
  Version restore(const std::string &head_id);
  // A new version whose content is that of `to_version` (or of the state at `as_of`).
  Version revert(const std::string &head_id, std::optional<std::int64_t> to_version,
                 std::optional<std::int64_t> as_of = std::nullopt);

  // The version visible at `as_of` (default: now) on `branch` (default: the session's).
  std::optional<Version> get(const std::string &head_id,
                             std::optional<std::int64_t> as_of = std::nullopt,
                             const std::optional<std::string> &branch = std::nullopt);
  // The version visible at a commit (id, prefix, tag or branch head) on the commit's branch.
  std::optional<Version> get_at_commit(const std::string &head_id, const std::string &commit);
  // What explains get() on the branch, oldest first: the branch's own versions and, before
  // them, those of the ancestors it read through to up to its fork (each says its branch),
  // each with the fields it changed and their previous values.
  std::vector<Version> history(const std::string &head_id,
                               const std::optional<std::string> &branch = std::nullopt);
  // The same in pages, ordered by (valid_from, branch, version). Paged (a limit or a cursor), the
  // history is that of the pinned instant: versions committed later are not in it.
  VersionPage history_page(const std::string &head_id, const HistoryOptions &options);
  // history_page as the rows the server returned (HistoryRows), converted by the caller.
  HistoryRows history_rows(const std::string &head_id, const HistoryOptions &options);
  // Every version of the type on a branch over a system-time range, oldest first.
  std::vector<Version> versions(const VersionRange &range);
  // The same in pages, ordered by (valid_from, head_id). Paged, the range is read as of the
  // pinned instant: a version's end after it counts as open.
  VersionPage versions_page(const VersionRange &range);
  std::vector<Version> find(const FindOptions &options = {});
  // find with the cursor of the next page (VersionPage).
  VersionPage find_page(const FindOptions &options = {});
  // The same versions as a JSON array of Version::to_json_text records, written straight from
  // the rows without building Versions (what the C ABI hands out; a scan costs less).
  std::string find_json(const FindOptions &options = {});
  // find_page as JSON: {"versions": [find_json's records], "cursor": text or null}.
  std::string find_page_json(const FindOptions &options = {});
  // find_page as the rows the server returned (FoundPage), converted by the caller.
  FoundPage find_rows(const FindOptions &options = {});
  std::int64_t count(const FindOptions &options = {});
  bool exists(const FindOptions &options = {});

  // Many new entities at once, written with COPY (create, in bulk). Each row is an
  // object of fields, optionally with "head_id" (a uuid) to choose the entity's id.
  // Outside begin(), create_many writes the rows and commits, like create() for each row then
  // commit(message): one stamp, one evcs_commit row. The session must then hold no
  // uncommitted versions (MisuseError: commit them first). Inside begin() it joins that
  // transaction, whose commit stamps the versions (`message` must then be empty: give it to
  // commit). Field names and value shapes are checked before anything is sent; a value the
  // server rejects fails the whole call, which writes nothing.
  CreatedEntities create_many(const nlohmann::json &rows, const std::string &message = "");
  // Many entities updated at once (update, in bulk): each row an object with "head_id" and the
  // fields to change, merged over the entity's current version on the session's branch. Outside
  // begin(), one commit (one stamp, one evcs_commit row, `message`) written set by set: one
  // UPDATE closes the current versions, one COPY brings in the new ones; rows that change no value
  // write nothing, and with none there is no commit. The session must then hold no uncommitted
  // versions (MisuseError). Inside begin() it joins that transaction, each row written as
  // update() writes it. NotFound for an entity the branch does not show or shows deleted;
  // InvalidArgument for a row without a head_id, a head_id given twice, or an unknown field.
  // Anything refused writes nothing.
  UpdatedEntities update_many(const nlohmann::json &rows, const std::string &message = "");

private:
  // The state query of `options` (where, branch, as_of) selecting `selected`, run as the
  // statement `around` makes of it.
  Result run_state_query(const FindOptions &options, const std::string &selected,
                         const std::function<std::string(const std::string &)> &around);
  Version write(const char *operation, const std::string &head_id, const nlohmann::json &values,
                std::optional<std::int64_t> expected_version);
  std::string branch_or_default(const std::optional<std::string> &branch) const;
  struct FoundRows;
  FoundRows read_page(const FindOptions &options);

  std::shared_ptr<detail::SessionState> session_;
  std::shared_ptr<const detail::EntityType> type_;
  // The relations reads named, resolved against the catalog once per repository (as its own
  // definition is read once).
  std::shared_ptr<detail::RelationCache> relations_;
};

} // namespace evcs
