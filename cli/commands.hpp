// The evcs command line: one function per command.
#pragma once

#include <string>
#include <vector>

namespace evcs::cli {

// Exit codes, stable for scripts.
enum ExitCode { exit_ok = 0, exit_failure = 1, exit_usage = 2, exit_database = 3 };

int run_demo(const std::vector<std::string> &arguments);
int run_migrate(const std::vector<std::string> &arguments);
int run_backup(const std::vector<std::string> &arguments);
int run_restore(const std::vector<std::string> &arguments);

} // namespace evcs::cli
