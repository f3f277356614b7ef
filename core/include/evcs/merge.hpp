// Diff, three-way merge, revert and cherry-pick (docs/versioning.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace evcs {

struct FieldChange {
  nlohmann::json old_value;  // the target's value
  nlohmann::json new_value;  // the source's value
};

// One entity that differs between two branches, from the source's point of view.
struct EntityDiff {
  std::string entity_type;
  std::string head_id;
  std::string kind;  // "added", "deleted" or "modified"
  std::map<std::string, FieldChange> fields;

  nlohmann::json to_json() const;
};

// A state in the history: a commit (id, unique prefix, tag or branch head) or an instant (UTC
// microseconds) of a branch.
struct HistoryPoint {
  std::optional<std::string> commit;
  std::optional<std::int64_t> instant;

  static HistoryPoint at_commit(std::string ref) { return {std::move(ref), std::nullopt}; }
  static HistoryPoint at_instant(std::int64_t micros) { return {std::nullopt, micros}; }
  // A JSON string is a commit, an integer an instant.
  static HistoryPoint from_json(const nlohmann::json &json);
};

// How one conflict is settled: take "ours" (the target's value), "theirs" (the source's) or
// "value" (`value`, for a field). For the pseudo-field "deleted" of a delete-versus-modify
// conflict, "ours"/"theirs" keep the side's choice: the delete, or the modified entity.
// A violation (a merged entity that would break a reference, a unique key or a check) is
// settled by a resolution naming that entity and any of its fields (take that side's value, or
// a value, for the field) or "deleted" (the whole entity as that side has it: "ours" does not
// bring the source's version of it). Its result is checked again.
struct ConflictResolution {
  std::string entity_type;
  std::string head_id;
  std::string field;
  std::string take;
  nlohmann::json value;

  nlohmann::json to_json() const;
  // {"entity_type", "head_id", "field", "take", "value"?}; InvalidArgument when malformed.
  static ConflictResolution from_json(const nlohmann::json &json);
};

struct MergeConflictInfo {
  std::string entity_type;
  std::string head_id;
  // A field name, or "deleted" for delete-versus-modify and for a violation about an entity
  // being gone; for a violation, the field a resolution most likely changes.
  std::string field;
  nlohmann::json base;
  nlohmann::json ours;    // the target's value
  nlohmann::json theirs;  // the source's value
  // How it is settled: by a resolution given for it, or by the strategy "ours"/"theirs" (never
  // for a violation).
  std::optional<ConflictResolution> resolution;
  // "field" (both sides changed the field), "delete" (one side deleted, the other modified), or
  // a violation of the merged result: "reference" (the entity refers to one that is deleted or
  // absent on the target), "referenced" (the entity is gone but live entities still refer to it,
  // on_delete restrict), "unique" (another live entity holds the key) or "check".
  std::string kind = "field";
  // For a violation: the reference column (of this entity, or of the referrer for
  // "referenced"), the key's columns ("org, email") or the check's name.
  std::string constraint;
  // For a violation: the other entity involved (the one referred to, the referrer, the holder
  // of the key); empty for a check.
  std::string other_type;
  std::string other_head_id;

  bool violation() const { return kind != "field" && kind != "delete"; }
  nlohmann::json to_json() const;
  // The form to_json gives (keys missing from older records take their defaults).
  static MergeConflictInfo from_json(const nlohmann::json &json);
};

// How a merge (or revert, cherry-pick) settles its conflicts and what it records.
struct MergeOptions {
  // The branch written to. A merge: default the source's parent; a revert or cherry-pick:
  // default the session's branch.
  std::optional<std::string> into;
  // "fail": any conflict without a resolution raises MergeConflict and nothing is written;
  // "ours" / "theirs": conflicts without a resolution go to that side. A violation is never
  // settled by the strategy: one without a resolution always raises MergeConflict.
  std::string strategy = "fail";
  // The commit message; empty: "merge <source>", "revert <id>", "cherry-pick <id>".
  std::string message;
  // Per conflict: a resolution that matches no conflict is InvalidArgument.
  std::vector<ConflictResolution> resolutions;

  // {"into", "strategy", "message", "resolutions": [...]}, every key optional.
  static MergeOptions from_json(const nlohmann::json &json);
};

struct MergeResult {
  // What the merge writes (or, for a preview, would write) into the target.
  std::vector<EntityDiff> changes;
  std::vector<MergeConflictInfo> conflicts;
  // The commit stamp the merged versions will carry; empty for a preview.
  std::optional<std::int64_t> stamp;
  // The branch written to, and the branch and commit merged (a merge: the source and its head;
  // a revert or cherry-pick: the commit applied and its branch).
  std::string target;
  std::string source;
  std::optional<std::string> source_commit;
  // The merge base: the common ancestor whose state is the base (none: the empty state).
  std::optional<std::string> base_commit;
  // The commit written; empty for a preview, a staged merge and a merge with nothing to do.
  std::optional<std::string> commit;
  // Conflicts that neither a resolution nor the strategy settles.
  std::size_t unresolved() const;

  nlohmann::json to_json() const;
};

} // namespace evcs
