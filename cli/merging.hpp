// What `evcs merge`, `evcs revert` and `evcs cherry-pick` share: the `--resolve` syntax, the
// tables of changes and conflicts, and the summary lines.
#pragma once

#include "commands.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace evcs::cli {

// A commit id as evcs prints it: its first 12 hex digits (any command takes it back).
inline std::string short_id(const std::string &id) { return id.substr(0, 12); }
inline std::string short_id(const std::optional<std::string> &id) {
  return id ? short_id(*id) : "-";
}

// One `--resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON`. FIELD "deleted" is the conflict of
// a delete against a modification (ours or theirs only).
inline ConflictResolution parse_resolution(const std::string &text, const char *usage) {
  const std::string syntax = "use TYPE:HEAD_ID:FIELD=ours, =theirs or =value:JSON";
  auto equals = text.find('=');
  if (equals == std::string::npos)
    throw UsageError("--resolve '" + text + "' says nothing to take: " + syntax, usage);
  std::string conflict = text.substr(0, equals), take = text.substr(equals + 1);
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    auto colon = conflict.find(':', start);
    parts.push_back(conflict.substr(start, colon == std::string::npos ? colon : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty())
    throw UsageError("--resolve '" + text + "' does not name one conflict as TYPE:HEAD_ID:FIELD: " +
                         syntax,
                     usage);
  ConflictResolution resolution;
  resolution.entity_type = parts[0];
  resolution.head_id = parts[1];
  // Entity ids are uuids, which evcs prints in lower case.
  std::transform(resolution.head_id.begin(), resolution.head_id.end(), resolution.head_id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  resolution.field = parts[2];
  if (take == "ours" || take == "theirs") {
    resolution.take = take;
  } else if (take.compare(0, 6, "value:") == 0) {
    resolution.take = "value";
    try {
      resolution.value = nlohmann::json::parse(take.substr(6));
    } catch (const nlohmann::json::parse_error &) {
      throw UsageError("--resolve '" + text + "': the value after \"value:\" must be JSON, e.g. " +
                           "value:12.5, value:null or value:'\"text\"' (a string keeps its quotes)",
                       usage);
    }
    if (resolution.field == "deleted")
      throw UsageError("--resolve '" + text + "': a delete-versus-modify conflict (field deleted) "
                           "takes ours or theirs, not a value",
                       usage);
  } else {
    throw UsageError("--resolve '" + text + "' takes '" + take + "': " + syntax, usage);
  }
  return resolution;
}

inline std::vector<ConflictResolution> parse_resolutions(const std::vector<std::string> &texts,
                                                         const char *usage) {
  std::vector<ConflictResolution> resolutions;
  for (const auto &text : texts) resolutions.push_back(parse_resolution(text, usage));
  return resolutions;
}

// How a conflict is settled, as its table shows it: ours, theirs, value: JSON, or "-".
inline std::string resolution_text(const std::optional<ConflictResolution> &resolution) {
  if (!resolution) return "-";
  if (resolution->take == "value") return "value: " + resolution->value.dump();
  return resolution->take;
}

inline void print_changes(const std::vector<EntityDiff> &changes, const std::string &old_side,
                          const std::string &new_side) {
  Table table({"KIND", "TYPE", "HEAD_ID", "FIELD", "OLD (" + old_side + ")",
               "NEW (" + new_side + ")"});
  for (const auto &change : changes) {
    if (change.fields.empty())
      table.add({change.kind, change.entity_type, change.head_id, "-", "-", "-"});
    for (const auto &[field, values] : change.fields)
      table.add({change.kind, change.entity_type, change.head_id, field,
                 value_text(values.old_value), value_text(values.new_value)});
  }
  table.print(stdout);
}

// What rule a violation breaks, in words: "unique (email): person 77c2… holds it too".
inline std::string violation_text(const MergeConflictInfo &conflict) {
  std::string other = conflict.other_type + " " + conflict.other_head_id;
  if (conflict.kind == "reference")
    return "reference (" + conflict.constraint + "): refers to " + other +
           ", which is deleted or absent";
  if (conflict.kind == "referenced")
    return "reference (" + conflict.other_type + "." + conflict.constraint + "): " + other +
           " still refers to it (on_delete restrict)";
  if (conflict.kind == "unique")
    return "unique (" + conflict.constraint + "): " + other + " holds the same key";
  return "check " + conflict.constraint + ": the merged entity does not pass it";
}

// Every conflict, always this table: OURS is the target's value, THEIRS the source's. The
// violations of references, unique keys and checks follow, one line each.
inline void print_conflicts(const std::vector<MergeConflictInfo> &conflicts,
                            const std::string &ours, const std::string &theirs) {
  Table table({"TYPE", "HEAD_ID", "FIELD", "BASE", "OURS (" + ours + ")", "THEIRS (" + theirs + ")",
               "RESOLUTION"});
  for (const auto &conflict : conflicts)
    table.add({conflict.entity_type, conflict.head_id, conflict.field, value_text(conflict.base),
               value_text(conflict.ours), value_text(conflict.theirs),
               resolution_text(conflict.resolution)});
  table.print(stdout);
  bool heading = false;
  for (const auto &conflict : conflicts) {
    if (!conflict.violation()) continue;
    if (!heading) std::printf("violations (settle with FIELD, any field of the entity, or deleted):\n");
    heading = true;
    std::printf("  %s %s: %s\n", conflict.entity_type.c_str(), conflict.head_id.c_str(),
                violation_text(conflict).c_str());
  }
}

// "3 entities (1 added, 2 modified)"
inline std::string count_by_kind(const std::vector<EntityDiff> &changes) {
  std::map<std::string, int> kinds;
  for (const auto &change : changes) ++kinds[change.kind];
  std::string text =
      std::to_string(changes.size()) + (changes.size() == 1 ? " entity" : " entities");
  std::string parts;
  for (const auto &[kind, count] : kinds)
    parts += (parts.empty() ? "" : ", ") + std::to_string(count) + " " + kind;
  return parts.empty() ? text : text + " (" + parts + ")";
}

// "2 conflict(s), 1 unresolved:" / "2 conflict(s), all resolved:"
inline std::string conflicts_heading(const MergeResult &result) {
  std::size_t open = result.unresolved();
  return std::to_string(result.conflicts.size()) + " conflict(s), " +
         (open == 0 ? std::string("all resolved") : std::to_string(open) + " unresolved") + ":";
}

// The changes table, then the conflicts under their heading (a blank line between).
inline void print_plan(const MergeResult &result, const std::string &target,
                       const std::string &new_side, const std::string &theirs) {
  if (!result.changes.empty()) print_changes(result.changes, target, new_side);
  if (result.conflicts.empty()) return;
  std::printf("%s%s\n", result.changes.empty() ? "" : "\n", conflicts_heading(result).c_str());
  print_conflicts(result.conflicts, target, theirs);
}

// The conflicts a MergeConflict lists in its detail: those neither a resolution nor the strategy
// settles.
inline std::vector<MergeConflictInfo> conflicts_from(const MergeConflict &error) {
  std::vector<MergeConflictInfo> conflicts;
  nlohmann::json detail = nlohmann::json::parse(error.detail_json());
  for (const auto &item : detail.at("conflicts"))
    conflicts.push_back(MergeConflictInfo::from_json(item));
  return conflicts;
}

// "wrote 3 entities (1 added, 2 modified) at STAMP, commit 1a2b3c4d5e6f" / "wrote nothing"
inline std::string written_text(const MergeResult &result) {
  std::string text = "wrote " + (result.changes.empty() ? std::string("nothing")
                                                        : count_by_kind(result.changes));
  if (result.stamp && !result.changes.empty()) text += " at " + instant_text(result.stamp);
  if (result.commit) text += ", commit " + short_id(*result.commit);
  return text;
}

// Runs `body`; an evcs error whose message points at an API call (merge_preview, merge_start,
// unlock_branch) is printed with the command that does it instead, as main prints errors
// (exit 3). Other errors pass on to main unchanged.
template <typename Body> int with_cli_wording(const char *command, Body body) {
  try {
    return body();
  } catch (const MergeConflict &) {
    throw;
  } catch (const Error &error) {
    static const std::vector<std::pair<std::string, std::string>> wording = {
        {"(see the conflicts of merge_preview or merge_status)",
         std::string("(see the conflicts: ") +
             (std::string(command) == "merge"
                  ? "evcs merge SOURCE --preview, or evcs merge --status for a staged merge)"
                  : "run it without --resolve)")},
        {"(start one with merge_start)", "(start one with evcs merge SOURCE --stage)"},
        {"unlock_branch it first", "evcs branch unlock it first"},
    };
    std::string message = error.what();
    bool reworded = false;
    for (const auto &[api, cli] : wording)
      if (auto at = message.find(api); at != std::string::npos) {
        message.replace(at, api.size(), cli);
        reworded = true;
      }
    if (!reworded) throw;
    std::fprintf(stderr, "evcs %s: %s [%s%s%s]\n", command, message.c_str(),
                 code_name(error.code()), error.sqlstate().empty() ? "" : " ",
                 error.sqlstate().c_str());
    return exit_database;
  }
}

} // namespace evcs::cli
