// Diff and three-way merge of branches (SPEC §3.5).
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

struct MergeConflictInfo {
  std::string entity_type;
  std::string head_id;
  std::string field;  // a field name, or "deleted" for delete-versus-modify
  nlohmann::json base;
  nlohmann::json ours;    // the target's value
  nlohmann::json theirs;  // the source's value

  nlohmann::json to_json() const;
};

struct MergeResult {
  // What the merge writes (or, for a preview, would write) into the target.
  std::vector<EntityDiff> changes;
  std::vector<MergeConflictInfo> conflicts;
  // The commit stamp the merged versions will carry; empty for a preview.
  std::optional<std::int64_t> stamp;

  nlohmann::json to_json() const;
};

} // namespace evcs
