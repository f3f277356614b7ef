// `evcs diff`, `evcs merge` (docs/versioning.md; staged merges), `evcs revert` and `evcs cherry-pick`
// over Session::diff, diff_history, merge, merge_preview, merge_start/status/resolve/continue/
// abort, revert_commit and cherry_pick.
#include "arguments.hpp"
#include "commands.hpp"
#include "merging.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>
#include <map>

namespace evcs::cli {

namespace {

const char *const diff_usage =
    "usage: evcs diff SOURCE [TARGET] [--as-of TIME] [--json]\n"
    "       evcs diff --from REF|TIME [--to REF|TIME] [--branch NAME] [--json]\n"
    "\n"
    "Every entity that differs between branch SOURCE and branch TARGET (default main), from\n"
    "SOURCE's point of view: added (on SOURCE only), deleted (deleted or absent on SOURCE, live on\n"
    "TARGET) or modified; one line per differing field with TARGET's value (OLD) and SOURCE's\n"
    "(NEW). Text values are shown as they are, null as null, others as JSON.\n"
    "\n"
    "With --from: what changed between two points of the history, OLD at --from and NEW at --to.\n"
    "A point is a REF (a commit id or a unique prefix of at least 4 hex digits, a tag, or a\n"
    "branch: its head), the state of that commit's branch when it committed; or a TIME, the\n"
    "state of --branch (default main) then. Anything that starts with a date is a TIME.\n"
    "\n"
    "options:\n"
    "  --as-of TIME        compare the two branches as they were at TIME\n"
    "  --from REF|TIME     the older point\n"
    "  --to REF|TIME       the newer point (default: the head of --branch, default main)\n"
    "  --branch NAME       the branch whose history a TIME reads (default main)\n"
    "  --json              print {source, target, as_of, entities: [{entity_type, head_id, kind,\n"
    "                      fields: {FIELD: {old, new}}}]} with exact JSON values (with --from:\n"
    "                      {from, to, branch, entities})\n"
    "  TIME                YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM], UTC without an offset\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok (with or without differences), 2 usage error, 3 database error\n"
    "(e.g. [not_found] for an unknown commit, tag or branch)\n";

const char *const merge_usage =
    "usage: evcs merge SOURCE [--into TARGET] [--strategy fail|theirs|ours] [--resolve R]...\n"
    "                  [--preview] [--author NAME] [--message TEXT] [--json]\n"
    "       evcs merge SOURCE --stage [--into TARGET] [--strategy S] [--resolve R]...\n"
    "                  [--author NAME] [--message TEXT] [--json]\n"
    "       evcs merge --status [--into TARGET] [--json]\n"
    "       evcs merge --resolve R [--resolve R]... [--into TARGET] [--json]\n"
    "       evcs merge --continue [--into TARGET] [--author NAME] [--message TEXT] [--json]\n"
    "       evcs merge --abort [--into TARGET]\n"
    "\n"
    "Three-way merge of branch SOURCE's head into TARGET (default: SOURCE's parent; any branch\n"
    "works: a parent into its branch, between siblings). The base is the merge base of the two\n"
    "heads in the commit graph. Per field: changed on one side only, that side wins; changed to\n"
    "different values on both, a conflict (BASE: the merge base's value, OURS: TARGET's, THEIRS:\n"
    "SOURCE's). Deleting on one side and modifying on the other is a conflict on the field\n"
    "\"deleted\". The merge is one commit with two parents: all of it lands or none.\n"
    "\n"
    "options:\n"
    "  --strategy fail     (default) any conflict without a resolution stops the merge: they are\n"
    "                      listed and nothing is written (exit 4)\n"
    "  --strategy theirs   settle every conflict without a resolution toward SOURCE\n"
    "  --strategy ours     settle every conflict without a resolution toward TARGET\n"
    "  --resolve R         settle one conflict; repeatable. R is TYPE:HEAD_ID:FIELD=ours,\n"
    "                      =theirs or =value:JSON (e.g. project:1b2c...:budget=value:12.5,\n"
    "                      project:1b2c...:name=value:'\"Bridge\"'); FIELD deleted (delete versus\n"
    "                      modify) takes ours or theirs. A resolution for something that is not\n"
    "                      in conflict is an error (exit 3) and nothing is written\n"
    "  --preview           print what the merge would write and its conflicts; write nothing\n"
    "  --author NAME       recorded on the merged versions and in the commit log\n"
    "  --message TEXT      the commit message (default: merge SOURCE)\n"
    "  --json              print the result as JSON: {source, target, strategy, preview, changes,\n"
    "                      conflicts, stamp, source_commit, base_commit, commit, unresolved}\n"
    "\n"
    "A staged merge (one per TARGET) settles its conflicts over several commands:\n"
    "  --stage (--start)   start merging SOURCE into TARGET: pin SOURCE's head, keep --strategy,\n"
    "                      --message and the resolutions given; write no version. Prints the\n"
    "                      changes and the conflicts\n"
    "  --status            the staged merge planned again against TARGET now (exit 4 while\n"
    "                      conflicts are unresolved)\n"
    "  --resolve R ...     without SOURCE: add resolutions to the staged merge (a new one for a\n"
    "                      conflict replaces the old)\n"
    "  --continue          commit the staged merge (exit 4 while conflicts are unresolved)\n"
    "  --abort             forget the staged merge\n"
    "  --into TARGET       the staged merge's target: default main, the branch evcs works on\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 merged (or a preview without unresolved conflicts), 2 usage error, 3 database\n"
    "error (e.g. [branch_locked], [not_found], [invalid_argument]), 4 unresolved conflicts: the\n"
    "merge wrote nothing (or the preview or staged merge has some)\n";

const char *const revert_usage =
    "usage: evcs revert COMMIT [--into BRANCH] [--strategy fail|theirs|ours] [--resolve R]...\n"
    "                   [--author NAME] [--message TEXT] [--json]\n"
    "\n"
    "A new commit on BRANCH (default main) that undoes what COMMIT (an id or a unique prefix of\n"
    "at least 4 hex digits, a tag, or a branch: its head) changed, field by field; of a merge,\n"
    "relative to its first parent. A field changed again since is a conflict: BASE is the value\n"
    "COMMIT wrote, OURS the value on BRANCH now, THEIRS the value before COMMIT. Conflicts are\n"
    "settled as evcs merge settles them (--strategy, --resolve TYPE:HEAD_ID:FIELD=ours|theirs|\n"
    "value:JSON); with strategy fail any unresolved one writes nothing (exit 4).\n"
    "\n"
    "options:\n"
    "  --into BRANCH       the branch written to (default main)\n"
    "  --message TEXT      the commit message (default: revert ID: MESSAGE)\n"
    "  --author NAME       recorded on the versions and in the commit log\n"
    "  --json              print {commit, target, changes, conflicts, stamp, ...} as JSON\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [not_found], [branch_locked]),\n"
    "4 unresolved conflicts: nothing was written\n";

const char *const cherry_pick_usage =
    "usage: evcs cherry-pick COMMIT [--into BRANCH] [--strategy fail|theirs|ours]\n"
    "                        [--resolve R]... [--author NAME] [--message TEXT] [--json]\n"
    "\n"
    "A new commit on BRANCH (default main) that applies what COMMIT (an id or a unique prefix of\n"
    "at least 4 hex digits, a tag, or a branch: its head) changed, field by field. A field\n"
    "BRANCH changed differently is a conflict: BASE is the value before COMMIT, OURS the value on\n"
    "BRANCH now, THEIRS the value COMMIT wrote. Conflicts are settled as evcs merge settles them\n"
    "(--strategy, --resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON); with strategy fail any\n"
    "unresolved one writes nothing (exit 4).\n"
    "\n"
    "options:\n"
    "  --into BRANCH       the branch written to (default main)\n"
    "  --message TEXT      the commit message (default: cherry-pick ID: MESSAGE)\n"
    "  --author NAME       recorded on the versions and in the commit log\n"
    "  --json              print {commit, target, changes, conflicts, stamp, ...} as JSON\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [not_found], [branch_locked]),\n"
    "4 unresolved conflicts: nothing was written\n";

// The branch the CLI works on: evcs's sessions work on main, which is where a staged merge,
// a revert and a cherry-pick go unless --into names another.
const char *const default_branch = "main";

std::string strategy_option(const ParsedArguments &parsed, const char *usage) {
  std::string strategy = parsed.value("--strategy").value_or("fail");
  if (strategy != "fail" && strategy != "theirs" && strategy != "ours")
    throw UsageError("--strategy is fail, theirs or ours, not '" + strategy + "'", usage);
  return strategy;
}

std::string resolve_hint(const std::string &target) {
  std::string into = target == default_branch ? "" : " --into " + target;
  return "resolve them with evcs merge --resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON" +
         into + ", then evcs merge --continue" + into + " (or evcs merge --abort" + into + ")";
}

int print_json(const nlohmann::json &output, bool conflicted) {
  std::printf("%s\n", output.dump(2).c_str());
  return conflicted ? exit_conflict : exit_ok;
}

// A merge (or preview) stopped or planned: prints it and returns the exit code.
int report_merge(const MergeResult &result, const std::string &source, const std::string &target,
                 const std::string &strategy, bool preview) {
  print_plan(result, target, "merged", source);
  std::string written = result.changes.empty() ? "nothing" : count_by_kind(result.changes);
  if (preview) {
    std::printf("preview of merging %s into %s (strategy %s): would write %s; nothing written\n",
                source.c_str(), target.c_str(), strategy.c_str(), written.c_str());
    return result.unresolved() != 0 ? exit_conflict : exit_ok;
  }
  if (!result.commit && result.changes.empty())
    std::printf("merged %s into %s: nothing to merge, %s already has %s's head%s\n",
                source.c_str(), target.c_str(), target.c_str(), source.c_str(),
                result.source_commit ? (" " + short_id(result.source_commit)).c_str() : "");
  else
    std::printf("merged %s into %s: %s\n", source.c_str(), target.c_str(),
                written_text(result).c_str());
  return exit_ok;
}

// The conflicts that stopped an operation: the table on stdout, `message` on stderr; exit 4.
int report_stopped(const std::vector<MergeConflictInfo> &conflicts, const std::string &target,
                   const std::string &theirs, const std::string &command,
                   const std::string &message) {
  print_conflicts(conflicts, target, theirs);
  std::fflush(stdout);
  std::fprintf(stderr, "evcs %s: %zu unresolved conflict(s) %s; nothing was written. %s\n",
               command.c_str(), conflicts.size(), message.c_str(),
               "Settle each with --resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON, or use "
               "--strategy theirs or --strategy ours");
  return exit_conflict;
}

// The staged merge after --stage, --status or --resolve: its plan, then `heading` with the
// source's commit, the target, what it would write and what is left to do. Returns exit 4 while
// conflicts are unresolved, else 0.
int report_staged(const MergeResult &result, const std::string &source,
                  const std::string &heading) {
  const std::string &target = result.target;
  print_plan(result, target, "merged", source);
  std::size_t open = result.unresolved();
  std::printf("%s%s: merging %s (%s) into %s would write %s; %zu conflict(s), %zu unresolved\n",
              result.changes.empty() && result.conflicts.empty() ? "" : "\n", heading.c_str(),
              source.c_str(), short_id(result.source_commit).c_str(), target.c_str(),
              result.changes.empty() ? "nothing" : count_by_kind(result.changes).c_str(),
              result.conflicts.size(), open);
  std::string into = target == default_branch ? "" : " --into " + target;
  if (open != 0) std::printf("next: %s\n", resolve_hint(target).c_str());
  else std::printf("next: evcs merge --continue%s\n", into.c_str());
  return open != 0 ? exit_conflict : exit_ok;
}

int run_staged(const ParsedArguments &parsed, const std::string &mode) {
  bool json = parsed.has("--json");
  Engine engine;
  std::optional<std::string> into = parsed.value("--into");
  std::string target = into.value_or(default_branch);
  auto session = engine.session(default_branch, parsed.value("--author").value_or(""));
  if (mode == "--abort") {
    session.merge_abort(into);
    std::printf("aborted the merge into %s\n", target.c_str());
    return exit_ok;
  }
  if (mode == "--continue") {
    const std::string source = session.merge_status(into).source;
    MergeResult result;
    try {
      result = session.merge_continue(into, parsed.value("--message").value_or(""));
    } catch (const MergeConflict &error) {
      auto conflicts = conflicts_from(error);
      if (json) {
        nlohmann::json output = {{"source", source}, {"target", target}, {"staged", true},
                                 {"conflicts", nlohmann::json::array()}};
        for (const auto &conflict : conflicts) output["conflicts"].push_back(conflict.to_json());
        std::printf("%s\n", output.dump(2).c_str());
        return exit_conflict;
      }
      print_conflicts(conflicts, target, source);
      std::fflush(stdout);
      std::fprintf(stderr, "evcs merge: %zu unresolved conflict(s) merging %s into %s; nothing "
                           "was written and the merge stays staged: %s\n",
                   conflicts.size(), source.c_str(), target.c_str(),
                   resolve_hint(target).c_str());
      return exit_conflict;
    }
    if (json) {
      nlohmann::json output = result.to_json();
      output["source"] = source;
      output["staged"] = true;
      return print_json(output, false);
    }
    return report_merge(result, source, result.target, "", false);
  }
  MergeResult result;
  if (mode == "--status")
    result = session.merge_status(into);
  else {
    // The plan as it stands with the new resolutions: what --continue would write.
    session.merge_resolve(parse_resolutions(parsed.list("--resolve"), merge_usage), into);
    result = session.merge_status(into);
  }
  const std::string &source = result.source;
  if (json) {
    nlohmann::json output = result.to_json();
    output["source"] = source;
    output["staged"] = true;
    return print_json(output, mode == "--status" && result.unresolved() != 0);
  }
  if (mode == "--status") return report_staged(result, source, "staged merge");
  std::size_t given = parsed.list("--resolve").size();
  report_staged(result, source,
                "recorded " + std::to_string(given) + " resolution(s) of the staged merge");
  return exit_ok;
}

// A revert or cherry-pick of one commit.
int run_apply(const std::vector<std::string> &arguments, bool revert) {
  const char *usage = revert ? revert_usage : cherry_pick_usage;
  const std::string command = revert ? "revert" : "cherry-pick";
  if (wants_help(arguments)) {
    std::fputs(usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--into", "--strategy", "--author", "--message"},
                                {"--json"}, usage, {"--resolve"});
  if (parsed.positional.size() != 1) throw UsageError("give exactly one COMMIT", usage);
  const std::string &ref = parsed.positional[0];
  MergeOptions options;
  options.into = parsed.value("--into");
  options.strategy = strategy_option(parsed, usage);
  options.message = parsed.value("--message").value_or("");
  options.resolutions = parse_resolutions(parsed.list("--resolve"), usage);
  bool json = parsed.has("--json");

  Engine engine;
  auto session = engine.session(default_branch, parsed.value("--author").value_or(""));
  std::string target = options.into.value_or(default_branch);
  // Resolved first, so an unknown commit fails before anything is planned.
  CommitInfo applied = session.commit_info(ref);
  std::string label = short_id(applied.id);
  MergeResult result;
  try {
    result = revert ? session.revert_commit(ref, options) : session.cherry_pick(ref, options);
  } catch (const MergeConflict &error) {
    auto conflicts = conflicts_from(error);
    if (json) {
      nlohmann::json output = {{"commit", applied.id}, {"target", target},
                               {"strategy", options.strategy},
                               {"conflicts", nlohmann::json::array()}};
      for (const auto &conflict : conflicts) output["conflicts"].push_back(conflict.to_json());
      std::printf("%s\n", output.dump(2).c_str());
      return exit_conflict;
    }
    return report_stopped(conflicts, target, label, command,
                          (revert ? "reverting " : "cherry-picking ") + label + " onto " + target);
  }
  if (json) {
    nlohmann::json output = result.to_json();
    output["commit_applied"] = applied.id;
    output["strategy"] = options.strategy;
    return print_json(output, false);
  }
  print_plan(result, result.target, revert ? "reverted" : "picked", label);
  std::printf("%s %s onto %s: %s\n", revert ? "reverted" : "cherry-picked", label.c_str(),
              result.target.c_str(), written_text(result).c_str());
  return exit_ok;
}

// Prints a diff from `old_label` to `new_label`: as JSON (`described`, which says what was
// compared, plus the entities) or as the changes and a count of what differs `between` (the
// two sides as the command line named them).
int report_diffs(const std::vector<EntityDiff> &diffs, const std::string &old_label,
                 const std::string &new_label, const std::string &between, bool json,
                 nlohmann::json described) {
  if (json) {
    nlohmann::json entities = nlohmann::json::array();
    for (const auto &diff : diffs) entities.push_back(diff.to_json());
    described["entities"] = std::move(entities);
    std::printf("%s\n", described.dump(2).c_str());
    return exit_ok;
  }
  if (diffs.empty()) {
    std::printf("no differences between %s\n", between.c_str());
    return exit_ok;
  }
  print_changes(diffs, old_label, new_label);
  std::printf("%s differ between %s\n", count_by_kind(diffs).c_str(), between.c_str());
  return exit_ok;
}

} // namespace

int run_diff(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(diff_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--as-of", "--from", "--to", "--branch"}, {"--json"},
                                diff_usage);
  bool history = parsed.value("--from") || parsed.value("--to");
  if (history) {
    if (!parsed.value("--from")) throw UsageError("--to needs --from", diff_usage);
    if (!parsed.positional.empty() || parsed.value("--as-of"))
      throw UsageError("--from/--to compare points of the history: give no SOURCE or --as-of",
                       diff_usage);
  } else {
    if (parsed.value("--branch"))
      throw UsageError("--branch applies to --from/--to only", diff_usage);
    if (parsed.positional.empty() || parsed.positional.size() > 2)
      throw UsageError("give the SOURCE branch and optionally the TARGET branch, or --from",
                       diff_usage);
  }

  Engine engine;
  auto session = engine.session();
  if (history) {
    std::string branch = parsed.value("--branch").value_or(default_branch);
    std::string from_text = *parsed.value("--from");
    std::string to_text = parsed.value("--to").value_or(branch);
    auto point = [&](const std::string &text) {
      return looks_like_instant(text) ? HistoryPoint::at_instant(parse_instant(text, diff_usage))
                                      : HistoryPoint::at_commit(text);
    };
    HistoryPoint from = point(from_text), to = point(to_text);
    if (parsed.value("--branch") && !from.instant && !to.instant)
      throw UsageError("--branch names the branch whose history a TIME reads: --from and --to "
                       "are both commits",
                       diff_usage);
    auto point_json = [](const HistoryPoint &at) {
      return at.commit ? nlohmann::json(*at.commit) : nlohmann::json(*at.instant);
    };
    return report_diffs(session.diff_history(from, to, branch), from_text, to_text,
                        from_text + " and " + to_text, parsed.has("--json"),
                        {{"from", point_json(from)}, {"to", point_json(to)}, {"branch", branch}});
  }

  const std::string &source = parsed.positional[0];
  std::string target = parsed.positional.size() == 2 ? parsed.positional[1] : "main";
  std::optional<std::int64_t> as_of;
  if (auto text = parsed.value("--as-of")) as_of = parse_instant(*text, diff_usage);
  return report_diffs(session.diff(source, target, as_of), target, source,
                      source + " and " + target, parsed.has("--json"),
                      {{"source", source},
                       {"target", target},
                       {"as_of", as_of ? nlohmann::json(*as_of) : nlohmann::json(nullptr)}});
}

namespace {

int merge_command(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(merge_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(
      arguments, {"--into", "--strategy", "--author", "--message"},
      {"--preview", "--json", "--stage", "--start", "--status", "--continue", "--abort"},
      merge_usage, {"--resolve"});
  // The mode: a merge, a preview, or a step of a staged merge.
  std::vector<std::string> modes;
  for (const char *flag : {"--preview", "--stage", "--start", "--status", "--continue", "--abort"})
    if (parsed.has(flag)) modes.push_back(flag);
  if (modes.size() > 1)
    throw UsageError(modes[0] + " and " + modes[1] + " exclude each other", merge_usage);
  std::string mode = modes.empty() ? "" : modes[0];
  if (mode == "--start") mode = "--stage";
  bool has_resolve = !parsed.list("--resolve").empty();
  if (mode.empty() && parsed.positional.empty() && has_resolve) mode = "--resolve";
  bool staged_step = mode == "--status" || mode == "--continue" || mode == "--abort" ||
                     mode == "--resolve";
  if (staged_step) {
    if (!parsed.positional.empty())
      throw UsageError(mode + " works on the staged merge into --into (default main): give no "
                              "SOURCE",
                       merge_usage);
    if (parsed.value("--strategy"))
      throw UsageError("--strategy is given when the merge is staged (--stage), not to " + mode,
                       merge_usage);
    if (has_resolve && mode != "--resolve")
      throw UsageError("--resolve without SOURCE adds resolutions to the staged merge: give it "
                       "on its own, then --continue",
                       merge_usage);
    if (parsed.value("--message") && mode != "--continue")
      throw UsageError("--message applies to a merge, --stage and --continue", merge_usage);
    if (parsed.value("--author") && mode != "--continue")
      throw UsageError("--author applies to a merge, --stage and --continue", merge_usage);
    if (parsed.has("--json") && mode == "--abort")
      throw UsageError("--json does not apply to --abort", merge_usage);
    return run_staged(parsed, mode);
  }
  if (parsed.positional.size() != 1)
    throw UsageError("give exactly one SOURCE branch (or --status, --resolve, --continue or "
                     "--abort for a staged merge)",
                     merge_usage);
  const std::string &source = parsed.positional[0];
  bool preview = mode == "--preview", stage = mode == "--stage", json = parsed.has("--json");
  if (preview && (parsed.value("--author") || parsed.value("--message")))
    throw UsageError("--author and --message apply to a merge, not to --preview", merge_usage);
  MergeOptions options;
  options.into = parsed.value("--into");
  options.strategy = strategy_option(parsed, merge_usage);
  options.message = parsed.value("--message").value_or("");
  options.resolutions = parse_resolutions(parsed.list("--resolve"), merge_usage);

  Engine engine;
  auto session = engine.session(default_branch, parsed.value("--author").value_or(""));
  if (stage) {
    MergeResult result = session.merge_start(source, options);
    if (json) {
      nlohmann::json output = result.to_json();
      output["source"] = source;
      output["strategy"] = options.strategy;
      output["staged"] = true;
      return print_json(output, false);
    }
    report_staged(result, source, "started a staged merge");
    return exit_ok;
  }

  MergeResult result;
  bool stopped = false;
  try {
    result = preview ? session.merge_preview(source, options) : session.merge(source, options);
  } catch (const MergeConflict &error) {
    result.conflicts = conflicts_from(error);
    stopped = true;
  }
  std::string target = result.target;
  if (target.empty()) target = options.into.value_or("");
  if (target.empty())
    for (const auto &branch : session.branches())
      if (branch.name == source) target = branch.parent.value_or("");
  bool conflicted = result.unresolved() != 0;
  if (json) {
    nlohmann::json output = result.to_json();
    output["source"] = source;
    output["target"] = target;
    output["strategy"] = options.strategy;
    output["preview"] = preview;
    int code = print_json(output, conflicted);
    std::fflush(stdout);
    if (stopped)
      std::fprintf(stderr, "evcs merge: %zu unresolved conflict(s); nothing was written\n",
                   result.conflicts.size());
    return code;
  }
  if (stopped)
    return report_stopped(result.conflicts, target, source, "merge",
                          "merging " + source + " into " + target);
  return report_merge(result, source, target, options.strategy, preview);
}

} // namespace

int run_merge(const std::vector<std::string> &arguments) {
  return with_cli_wording("merge", [&] { return merge_command(arguments); });
}

int run_revert(const std::vector<std::string> &arguments) {
  return with_cli_wording("revert", [&] { return run_apply(arguments, true); });
}

int run_cherry_pick(const std::vector<std::string> &arguments) {
  return with_cli_wording("cherry-pick", [&] { return run_apply(arguments, false); });
}

} // namespace evcs::cli
