// The evcs command line: one function per command.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace evcs::cli {

// Exit codes, stable for scripts (docs/cli.md).
enum ExitCode {
  exit_ok = 0,
  exit_failure = 1,
  exit_usage = 2,
  exit_database = 3,
  // A merge, revert or cherry-pick stopped by unresolved conflicts (strategy fail), or a
  // preview or staged merge that has some.
  exit_conflict = 4,
};

// Bad command-line input: main prints the message and the command's usage, and exits with
// exit_usage.
class UsageError : public std::runtime_error {
public:
  UsageError(const std::string &message, const char *usage)
      : std::runtime_error(message), usage_(usage) {}
  const char *usage() const noexcept { return usage_; }

private:
  const char *usage_;
};

int run_demo(const std::vector<std::string> &arguments);
int run_migrate(const std::vector<std::string> &arguments);
int run_backup(const std::vector<std::string> &arguments);
int run_restore(const std::vector<std::string> &arguments);
int run_branch(const std::vector<std::string> &arguments);
int run_diff(const std::vector<std::string> &arguments);
int run_merge(const std::vector<std::string> &arguments);
int run_log(const std::vector<std::string> &arguments);
int run_revert(const std::vector<std::string> &arguments);
int run_cherry_pick(const std::vector<std::string> &arguments);
int run_tag(const std::vector<std::string> &arguments);
int run_find(const std::vector<std::string> &arguments);

} // namespace evcs::cli
