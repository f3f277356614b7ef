// `evcs log`: the commit log (docs/versioning.md) or graph, or the history of one entity with its changed
// fields.
#include "arguments.hpp"
#include "commands.hpp"
#include "graph.hpp"
#include "merging.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>
#include <map>
#include <set>

namespace evcs::cli {

namespace {

const char *const log_usage =
    "usage: evcs log [ENTITY_TYPE [HEAD_ID]] [--branch NAME] [--limit N] [--json]\n"
    "       evcs log --type ENTITY_TYPE [--id HEAD_ID] [--branch NAME] [--limit N] [--json]\n"
    "       evcs log --graph [--branch NAME] [--limit N]\n"
    "\n"
    "Without an entity: the commit log, newest first: every commit that wrote versions or merged,\n"
    "with its short id (the first 12 hex digits; any command takes it back), stamp, branch,\n"
    "author, number of versions written, the branch it merged from and its message.\n"
    "With ENTITY_TYPE: the commits that wrote entities of that type.\n"
    "With ENTITY_TYPE and HEAD_ID: the history of that entity on one branch (default main),\n"
    "newest first: each version with its stamp, author, commit message and the fields it\n"
    "changed (old -> new; a deletion lists none); versions the branch reads through to from an\n"
    "ancestor branch say [on BRANCH].\n"
    "With --graph: the commit graph, newest first, as git log --graph --oneline draws it: `*` is\n"
    "a commit in its lane, `|` a lane going on, `/` and `\\` lanes forking and joining; each\n"
    "commit with its short id, [branch], message, and for a merge its two parents.\n"
    "\n"
    "options:\n"
    "  --branch NAME       only commits on NAME (with --graph: the commits NAME's head descends\n"
    "                      from, on any branch; the entity's history: its versions on NAME)\n"
    "  --limit N           at most N commits (or versions)\n"
    "  --type, --id        the same as ENTITY_TYPE and HEAD_ID\n"
    "  --json              the commits as a JSON array of {id, parents, stamp, branch, author,\n"
    "                      message, changes, merged_from}; the history as versions with their\n"
    "                      fields, the names of the changed fields and the commit message\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [not_found])\n";

int print_commit_log(Session &session, const CommitLogOptions &options, bool json) {
  auto commits = session.commit_log(options);
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &commit : commits) list.push_back(commit.to_json());
    std::printf("%s\n", list.dump(2).c_str());
    return exit_ok;
  }
  Table table({"ID", "STAMP", "BRANCH", "AUTHOR", "CHANGES", "MERGED FROM", "MESSAGE"});
  for (const auto &commit : commits)
    table.add({short_id(commit.id), instant_text(commit.stamp), commit.branch,
               or_dash(commit.author),
               std::to_string(commit.changes), commit.merged_from.value_or("-"),
               commit.message});
  table.print(stdout);
  return exit_ok;
}

// The commit graph: every commit (or those `branch`'s head descends from), newest first.
int print_graph(Session &session, const std::optional<std::string> &branch,
                std::optional<std::int64_t> limit) {
  auto commits = session.commit_log();
  std::set<std::string> wanted;
  if (branch) {
    std::map<std::string, const CommitInfo *> by_id;
    for (const auto &commit : commits) by_id[commit.id] = &commit;
    std::vector<std::string> pending = {session.commit_info(*branch).id};
    while (!pending.empty()) {
      std::string id = pending.back();
      pending.pop_back();
      auto found = by_id.find(id);
      if (found == by_id.end() || !wanted.insert(id).second) continue;
      for (const auto &parent : found->second->parents) pending.push_back(parent);
    }
  }
  std::vector<GraphCommit> graph;
  for (const auto &commit : commits) {
    if (branch && wanted.count(commit.id) == 0) continue;
    std::string text = short_id(commit.id) + " [" + commit.branch + "]";
    if (!commit.message.empty()) text += " " + commit.message;
    if (commit.parents.size() > 1) {
      text += " (merge:";
      for (const auto &parent : commit.parents) text += " " + short_id(parent);
      text += ")";
    }
    graph.push_back({commit.id, commit.parents, text});
  }
  for (const auto &line : draw_graph(graph, limit ? static_cast<std::size_t>(*limit) : 0))
    std::printf("%s\n", line.c_str());
  return exit_ok;
}

int print_history(Session &session, const CommitLogOptions &options, bool json) {
  const std::string &type = *options.entity_type;
  const std::string &head_id = *options.head_id;
  auto versions = session.repository(type).history(head_id, options.branch);
  if (versions.empty())
    throw NotFound(type + " " + head_id + " has no versions on branch " + *options.branch +
                       " or the branches it reads through to",
                   "EVN01");
  // Messages by stamp, from every branch: a history includes the versions read through to on
  // ancestor branches.
  CommitLogOptions by_entity = options;
  by_entity.limit.reset();
  by_entity.branch.reset();
  std::map<std::int64_t, std::string> messages;
  for (const auto &commit : session.commit_log(by_entity)) messages[commit.stamp] = commit.message;

  std::size_t shown = versions.size();
  if (options.limit) shown = std::min(shown, static_cast<std::size_t>(*options.limit));
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = versions.size(); i > versions.size() - shown; --i) {
      nlohmann::json version = versions[i - 1].to_json();
      version["message"] = messages[versions[i - 1].valid_from];
      list.push_back(std::move(version));
    }
    std::printf("%s\n", list.dump(2).c_str());
    return exit_ok;
  }
  std::printf("%s %s on %s: %zu version(s)\n", type.c_str(), head_id.c_str(),
              options.branch->c_str(), versions.size());
  for (std::size_t i = versions.size(); i > versions.size() - shown; --i) {
    const Version &version = versions[i - 1];
    std::string line = "version " + std::to_string(version.version) + "  " +
                       instant_text(version.valid_from) + "  " + or_dash(version.author);
    if (version.branch != *options.branch) line += "  [on " + version.branch + "]";
    if (version.deleted) line += "  [deleted]";
    if (version.merged_from) line += "  [merged from " + *version.merged_from + "]";
    const std::string &message = messages[version.valid_from];
    if (!message.empty()) line += "  " + message;
    std::printf("%s\n", line.c_str());
    if (version.deleted) continue;
    for (const auto &field : version.changed) {
      std::string change = value_text(version.fields.at(field));
      if (i > 1 && version.previous.contains(field))
        change = value_text(version.previous.at(field)) + " -> " + change;
      std::printf("    %s: %s\n", field.c_str(), change.c_str());
    }
  }
  return exit_ok;
}

} // namespace

int run_log(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(log_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--branch", "--limit", "--type", "--id"},
                                {"--json", "--graph"}, log_usage);
  if (parsed.positional.size() > 2)
    throw UsageError("give at most ENTITY_TYPE and HEAD_ID", log_usage);
  if (!parsed.positional.empty() && (parsed.value("--type") || parsed.value("--id")))
    throw UsageError("give the entity either as ENTITY_TYPE [HEAD_ID] or with --type/--id",
                     log_usage);
  CommitLogOptions options;
  options.branch = parsed.value("--branch");
  options.entity_type = parsed.positional.empty() ? parsed.value("--type") : parsed.positional[0];
  if (parsed.positional.size() == 2) options.head_id = parsed.positional[1];
  else options.head_id = parsed.value("--id");
  if (options.head_id && !options.entity_type)
    throw UsageError("--id needs --type: the entity type of HEAD_ID", log_usage);
  if (auto limit = parsed.value("--limit")) options.limit = parse_count("--limit", *limit, log_usage);
  bool graph = parsed.has("--graph");
  if (graph && options.entity_type)
    throw UsageError("--graph draws the whole commit graph: give no entity", log_usage);
  if (graph && parsed.has("--json"))
    throw UsageError("--graph and --json exclude each other (--json lists every commit's "
                     "parents)",
                     log_usage);

  Engine engine;
  auto session = engine.session();
  if (graph) return print_graph(session, options.branch, options.limit);
  if (!options.head_id) return print_commit_log(session, options, parsed.has("--json"));
  if (!options.branch) options.branch = "main";
  return print_history(session, options, parsed.has("--json"));
}

} // namespace evcs::cli
