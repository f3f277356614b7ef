// `evcs branch list|create|lock|unlock|archive` (docs/versioning.md) over the core's branch calls.
#include "arguments.hpp"
#include "commands.hpp"
#include "merging.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>

namespace evcs::cli {

namespace {

const char *const branch_usage =
    "usage: evcs branch [list] [--json]\n"
    "       evcs branch create NAME [--from PARENT] [--mode snapshot|live] [--as-of TIME]\n"
    "                               [--author NAME]\n"
    "       evcs branch lock|unlock|archive NAME\n"
    "\n"
    "Branches of the versioned data. A new branch copies nothing: it reads through to its\n"
    "parent, as of its fork point (snapshot, the default) or as of the same instant (live).\n"
    "\n"
    "commands:\n"
    "  list                the branches: name, parent, mode, status, fork point, head (its last\n"
    "                      commit, or the one it was forked from), base (the merge base with\n"
    "                      its parent: the fork point or the last merge either way), creator\n"
    "  create NAME         a new branch of PARENT (default main); its fork point is now, or\n"
    "                      TIME with --as-of (snapshot only): the parent's state at that instant\n"
    "  lock NAME           reject writes to NAME until unlocked (reads still work)\n"
    "  unlock NAME         accept writes again\n"
    "  archive NAME        make NAME read-only for good\n"
    "\n"
    "options:\n"
    "  --json              list: print the branches as a JSON array\n"
    "  --author NAME       create: recorded as the branch's creator and in the commit log\n"
    "  TIME                YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM], UTC without an offset\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [not_found], [invalid_argument])\n";

nlohmann::json branch_json(const BranchInfo &branch) {
  auto optional = [](const auto &value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  return {{"name", branch.name},       {"parent", optional(branch.parent)},
          {"mode", branch.mode},       {"fork_stamp", optional(branch.fork_stamp)},
          {"head", optional(branch.head)}, {"base", optional(branch.base)},
          {"base_stamp", optional(branch.base_stamp)},
          {"status", branch.status},   {"created_at", branch.created_at},
          {"created_by", branch.created_by}};
}

int list_branches(Session &session, bool json) {
  auto branches = session.branches();
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &branch : branches) list.push_back(branch_json(branch));
    std::printf("%s\n", list.dump(2).c_str());
    return exit_ok;
  }
  Table table({"NAME", "PARENT", "MODE", "STATUS", "FORK POINT", "HEAD", "BASE", "CREATED BY"});
  for (const auto &branch : branches)
    table.add({branch.name, branch.parent.value_or("-"), branch.mode, branch.status,
               branch.parent ? instant_text(branch.fork_stamp) : "-", short_id(branch.head),
               short_id(branch.base), or_dash(branch.created_by)});
  table.print(stdout);
  return exit_ok;
}

const BranchInfo &find_branch(const std::vector<BranchInfo> &branches, const std::string &name) {
  for (const auto &branch : branches)
    if (branch.name == name) return branch;
  throw NotFound("branch '" + name + "' does not exist (see evcs branch list)", "EVN01");
}

} // namespace

int run_branch(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(branch_usage, stdout);
    return exit_ok;
  }
  auto parsed =
      parse_arguments(arguments, {"--from", "--mode", "--as-of", "--author"}, {"--json"}, branch_usage);
  std::string command = parsed.positional.empty() ? "list" : parsed.positional[0];
  bool is_create = command == "create";
  bool is_status = command == "lock" || command == "unlock" || command == "archive";
  if (command != "list" && !is_create && !is_status)
    throw UsageError("unknown command '" + command + "'", branch_usage);
  std::size_t names = parsed.positional.empty() ? 0 : parsed.positional.size() - 1;
  if (command == "list" ? names != 0 : names != 1)
    throw UsageError(command == "list" ? "list takes no arguments"
                                       : command + " needs exactly one branch NAME",
                     branch_usage);
  if (!is_create && (parsed.value("--from") || parsed.value("--mode") || parsed.value("--as-of") ||
                     parsed.value("--author")))
    throw UsageError("--from, --mode, --as-of and --author apply to create only", branch_usage);
  if (command != "list" && parsed.has("--json"))
    throw UsageError("--json applies to list only", branch_usage);
  std::optional<std::int64_t> as_of;
  if (auto text = parsed.value("--as-of")) as_of = parse_instant(*text, branch_usage);

  Engine engine;
  auto session = engine.session("main", parsed.value("--author").value_or(""));
  if (command == "list") return list_branches(session, parsed.has("--json"));
  const std::string &name = parsed.positional[1];
  if (is_create) {
    std::string parent = parsed.value("--from").value_or("main");
    session.create_branch(name, parent, parsed.value("--mode").value_or("snapshot"), as_of);
    session.commit("create branch " + name);
    auto branches = session.branches();
    const BranchInfo &created = find_branch(branches, name);
    std::printf("created branch %s from %s (%s, fork point %s)\n", name.c_str(), parent.c_str(),
                created.mode.c_str(), instant_text(created.fork_stamp).c_str());
    return exit_ok;
  }
  if (command == "lock") session.lock_branch(name);
  else if (command == "unlock") session.unlock_branch(name);
  else session.archive_branch(name);
  session.commit();
  std::printf("%s branch %s\n", command == "lock" ? "locked" : command == "unlock" ? "unlocked"
                                                                                 : "archived",
              name.c_str());
  return exit_ok;
}

} // namespace evcs::cli
