// `evcs diff` and `evcs merge` (SPEC §3.5) over Session::diff, merge and merge_preview.
#include "arguments.hpp"
#include "commands.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>
#include <map>

namespace evcs::cli {

namespace {

const char *const diff_usage =
    "usage: evcs diff SOURCE [TARGET] [--as-of TIME] [--json]\n"
    "\n"
    "Every entity that differs between branch SOURCE and branch TARGET (default main), from\n"
    "SOURCE's point of view: added (on SOURCE only), deleted (deleted or absent on SOURCE, live on\n"
    "TARGET) or modified; one line per differing field with TARGET's value (OLD) and SOURCE's\n"
    "(NEW). Text values are shown as they are, null as null, others as JSON.\n"
    "\n"
    "options:\n"
    "  --as-of TIME        compare the two branches as they were at TIME\n"
    "                      (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM], UTC without an offset)\n"
    "  --json              print {source, target, as_of, entities: [{entity_type, head_id, kind,\n"
    "                      fields: {FIELD: {old, new}}}]} with exact JSON values\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok (with or without differences), 2 usage error, 3 database error\n";

const char *const merge_usage =
    "usage: evcs merge SOURCE [--into TARGET] [--strategy fail|theirs|ours] [--preview]\n"
    "                  [--author NAME] [--message TEXT] [--json]\n"
    "\n"
    "Three-way merge of everything branch SOURCE changed since its fork point (or its last\n"
    "merge) into TARGET, SOURCE's parent (the default; no other branch is accepted). Per field:\n"
    "changed on one side only, that side wins; changed to different values on both, a conflict\n"
    "(BASE: the value SOURCE started from, OURS: TARGET's, THEIRS: SOURCE's). Deleting on one side\n"
    "and modifying on the other is a conflict on the field \"deleted\". The merge is one commit:\n"
    "all of it lands or none.\n"
    "\n"
    "options:\n"
    "  --strategy fail     (default) on any conflict list them all and write nothing (exit 4)\n"
    "  --strategy theirs   resolve every conflict toward SOURCE\n"
    "  --strategy ours     resolve every conflict toward TARGET\n"
    "  --preview           print what the merge would write and its conflicts; write nothing\n"
    "  --author NAME       recorded on the merged versions and in the commit log\n"
    "  --message TEXT      the commit message (default: merge SOURCE)\n"
    "  --json              print {source, target, strategy, preview, changes, conflicts, stamp}\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 merged (or a preview without conflicts), 2 usage error, 3 database error\n"
    "(e.g. [branch_locked]), 4 conflicts: the merge wrote nothing (or the preview found some)\n";

void print_changes(const std::vector<EntityDiff> &changes, const std::string &old_side,
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

void print_conflicts(const std::vector<MergeConflictInfo> &conflicts, const std::string &target,
                     const std::string &source) {
  Table table({"TYPE", "HEAD_ID", "FIELD", "BASE", "OURS (" + target + ")",
               "THEIRS (" + source + ")"});
  for (const auto &conflict : conflicts)
    table.add({conflict.entity_type, conflict.head_id, conflict.field, value_text(conflict.base),
               value_text(conflict.ours), value_text(conflict.theirs)});
  table.print(stdout);
}

// "3 entities (1 added, 2 modified)"
std::string count_by_kind(const std::vector<EntityDiff> &changes) {
  std::map<std::string, int> kinds;
  for (const auto &change : changes) ++kinds[change.kind];
  std::string text = std::to_string(changes.size()) + (changes.size() == 1 ? " entity" : " entities");
  std::string parts;
  for (const auto &[kind, count] : kinds)
    parts += (parts.empty() ? "" : ", ") + std::to_string(count) + " " + kind;
  return parts.empty() ? text : text + " (" + parts + ")";
}

std::vector<MergeConflictInfo> conflicts_from(const MergeConflict &error) {
  std::vector<MergeConflictInfo> conflicts;
  nlohmann::json detail = nlohmann::json::parse(error.detail_json());
  for (const auto &item : detail.at("conflicts"))
    conflicts.push_back({item.at("entity_type"), item.at("head_id"), item.at("field"),
                         item.at("base"), item.at("ours"), item.at("theirs")});
  return conflicts;
}

} // namespace

int run_diff(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(diff_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--as-of"}, {"--json"}, diff_usage);
  if (parsed.positional.empty() || parsed.positional.size() > 2)
    throw UsageError("give the SOURCE branch and optionally the TARGET branch", diff_usage);
  const std::string &source = parsed.positional[0];
  std::string target = parsed.positional.size() == 2 ? parsed.positional[1] : "main";
  std::optional<std::int64_t> as_of;
  if (auto text = parsed.value("--as-of")) as_of = parse_instant(*text, diff_usage);

  Engine engine;
  auto session = engine.session();
  auto diffs = session.diff(source, target, as_of);
  if (parsed.has("--json")) {
    nlohmann::json entities = nlohmann::json::array();
    for (const auto &diff : diffs) entities.push_back(diff.to_json());
    nlohmann::json output = {{"source", source}, {"target", target},
                             {"as_of", as_of ? nlohmann::json(*as_of) : nlohmann::json(nullptr)},
                             {"entities", entities}};
    std::printf("%s\n", output.dump(2).c_str());
    return exit_ok;
  }
  if (diffs.empty()) {
    std::printf("no differences between %s and %s\n", source.c_str(), target.c_str());
    return exit_ok;
  }
  print_changes(diffs, target, source);
  std::printf("%s differ between %s and %s\n", count_by_kind(diffs).c_str(), source.c_str(),
              target.c_str());
  return exit_ok;
}

int run_merge(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(merge_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--into", "--strategy", "--author", "--message"},
                                {"--preview", "--json"}, merge_usage);
  if (parsed.positional.size() != 1)
    throw UsageError("give exactly one SOURCE branch", merge_usage);
  const std::string &source = parsed.positional[0];
  std::string strategy = parsed.value("--strategy").value_or("fail");
  if (strategy != "fail" && strategy != "theirs" && strategy != "ours")
    throw UsageError("--strategy is fail, theirs or ours, not '" + strategy + "'", merge_usage);
  bool preview = parsed.has("--preview"), json = parsed.has("--json");
  if (preview && (parsed.value("--author") || parsed.value("--message")))
    throw UsageError("--author and --message apply to a merge, not to --preview", merge_usage);

  Engine engine;
  auto session = engine.session("main", parsed.value("--author").value_or(""));
  std::string target = parsed.value("--into").value_or("");
  if (target.empty())
    for (const auto &branch : session.branches())
      if (branch.name == source) target = branch.parent.value_or("");
  std::optional<std::string> into;
  if (auto given = parsed.value("--into")) into = *given;

  MergeResult result;
  bool stopped = false;
  try {
    result = preview ? session.merge_preview(source, into, strategy)
                     : session.merge(source, into, strategy, parsed.value("--message").value_or(""));
  } catch (const MergeConflict &error) {
    result.conflicts = conflicts_from(error);
    stopped = true;
  }
  bool conflicted = strategy == "fail" && !result.conflicts.empty();
  if (json) {
    nlohmann::json output = result.to_json();
    output["source"] = source;
    output["target"] = target;
    output["strategy"] = strategy;
    output["preview"] = preview;
    std::printf("%s\n", output.dump(2).c_str());
    if (stopped) std::fprintf(stderr, "evcs merge: %zu conflict(s); nothing was written\n",
                              result.conflicts.size());
    return conflicted ? exit_conflict : exit_ok;
  }
  if (stopped) {
    print_conflicts(result.conflicts, target, source);
    std::fprintf(stderr,
                 "evcs merge: %zu conflict(s) merging %s into %s; nothing was written. Resolve "
                 "them on %s, or merge with --strategy theirs or --strategy ours\n",
                 result.conflicts.size(), source.c_str(), target.c_str(), source.c_str());
    return exit_conflict;
  }
  if (!result.changes.empty()) print_changes(result.changes, target, "merged");
  if (!result.conflicts.empty()) {
    std::string heading = std::to_string(result.conflicts.size()) + " conflict(s)";
    if (strategy != "fail") heading += " resolved toward " + strategy;
    std::printf("%s%s:\n", result.changes.empty() ? "" : "\n", heading.c_str());
    print_conflicts(result.conflicts, target, source);
  }
  std::string written = result.changes.empty() ? "nothing" : count_by_kind(result.changes);
  if (preview)
    std::printf("preview of merging %s into %s (strategy %s): would write %s; nothing written\n",
                source.c_str(), target.c_str(), strategy.c_str(), written.c_str());
  else
    std::printf("merged %s into %s: wrote %s at %s\n", source.c_str(), target.c_str(),
                written.c_str(), instant_text(result.stamp).c_str());
  return conflicted ? exit_conflict : exit_ok;
}

} // namespace evcs::cli
