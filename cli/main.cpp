#include "commands.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

namespace {

struct Command {
  const char *summary;
  std::function<int(const std::vector<std::string> &)> run;
};

const std::map<std::string, Command> &commands() {
  static const std::map<std::string, Command> table = {
      {"demo", {"show commit, rollback, a savepoint and concurrent async queries",
                evcs::cli::run_demo}},
      {"migrate", {"versioned schema migrations: upgrade, downgrade, current, history, ...",
                   evcs::cli::run_migrate}},
      {"backup", {"write a pg_dump archive and its verification manifest",
                  evcs::cli::run_backup}},
      {"restore", {"restore an archive into an empty database and verify it",
                   evcs::cli::run_restore}},
      {"branch", {"list, create, lock, unlock and archive branches", evcs::cli::run_branch}},
      {"diff", {"the entities that differ between two branches or two points of the history",
                evcs::cli::run_diff}},
      {"merge", {"three-way merge of one branch into another: at once, previewed or staged",
                 evcs::cli::run_merge}},
      {"log", {"the commit log or graph, or the history of one entity", evcs::cli::run_log}},
      {"find", {"the entities of one type, filtered and ordered, a page at a time",
                evcs::cli::run_find}},
      {"revert", {"a new commit undoing what one commit changed", evcs::cli::run_revert}},
      {"cherry-pick", {"a new commit applying what one commit changed",
                       evcs::cli::run_cherry_pick}},
      {"tag", {"name commits: create, list and delete tags", evcs::cli::run_tag}},
  };
  return table;
}

void print_usage(std::FILE *to) {
  std::fprintf(to,
               "usage: evcs COMMAND [ARGS...]\n\n"
               "Versioned entities on PostgreSQL. The database is DATABASE_URL, or the embedded\n"
               "default server when DATABASE_URL is unset.\n\ncommands:\n");
  for (const auto &[name, command] : commands())
    std::fprintf(to, "  %-12s %s\n", name.c_str(), command.summary);
  std::fprintf(to, "  %-12s %s\n", "version", "print the evcs version");
  std::fprintf(to, "\n`evcs COMMAND --help` describes one command.\n"
                   "exit codes: 0 ok, 1 failure, 2 usage error, 3 database error, 4 merge "
                   "conflicts\n");
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? evcs::cli::exit_usage : evcs::cli::exit_ok;
  }
  std::string name = argv[1];
  if (name == "version" || name == "--version") {
    std::printf("evcs 0.1.0\n");
    return evcs::cli::exit_ok;
  }
  auto found = commands().find(name);
  if (found == commands().end()) {
    std::fprintf(stderr, "evcs: unknown command '%s'\n\n", name.c_str());
    print_usage(stderr);
    return evcs::cli::exit_usage;
  }
  try {
    return found->second.run(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const evcs::cli::UsageError &error) {
    std::fprintf(stderr, "evcs %s: %s\n\n%s", name.c_str(), error.what(), error.usage());
    return evcs::cli::exit_usage;
  } catch (const evcs::Error &error) {
    std::fprintf(stderr, "evcs %s: %s [%s%s%s]\n", name.c_str(), error.what(),
                 evcs::code_name(error.code()), error.sqlstate().empty() ? "" : " ",
                 error.sqlstate().c_str());
    return evcs::cli::exit_database;
  } catch (const std::exception &error) {
    std::fprintf(stderr, "evcs %s: %s\n", name.c_str(), error.what());
    return evcs::cli::exit_failure;
  }
}
