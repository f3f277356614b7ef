// Option parsing for the evcs commands: GNU-style `--name VALUE` and `--flag`, positional
// arguments, and the instants `--as-of` accepts.
#pragma once

#include "commands.hpp"

#include "evcs/params.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace evcs::cli {

struct ParsedArguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  // Options that may be given any number of times (`--resolve A --resolve B`), in order.
  std::map<std::string, std::vector<std::string>> lists;
  std::set<std::string> flags;

  bool has(const std::string &flag) const { return flags.count(flag) != 0; }
  std::optional<std::string> value(const std::string &option) const {
    auto found = values.find(option);
    if (found == values.end()) return std::nullopt;
    return found->second;
  }
  std::vector<std::string> list(const std::string &option) const {
    auto found = lists.find(option);
    return found == lists.end() ? std::vector<std::string>() : found->second;
  }
};

inline bool wants_help(const std::vector<std::string> &arguments) {
  for (const auto &argument : arguments)
    if (argument == "--help" || argument == "-h") return true;
  return false;
}

// Splits `arguments` into positional arguments, options that take a value (`--into main`,
// `--into=main`) and flags (`--json`). Anything else starting with "--" is a UsageError, as is
// an option given twice, unless it is one of `repeatable_options` (collected in `lists`).
inline ParsedArguments parse_arguments(const std::vector<std::string> &arguments,
                                       const std::set<std::string> &value_options,
                                       const std::set<std::string> &flag_options,
                                       const char *usage,
                                       const std::set<std::string> &repeatable_options = {}) {
  ParsedArguments parsed;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    std::string argument = arguments[i];
    if (argument.size() < 2 || argument.compare(0, 2, "--") != 0 || argument == "--") {
      parsed.positional.push_back(argument);
      continue;
    }
    std::optional<std::string> inline_value;
    if (auto equals = argument.find('='); equals != std::string::npos) {
      inline_value = argument.substr(equals + 1);
      argument.resize(equals);
    }
    if (flag_options.count(argument) != 0 && !inline_value) {
      parsed.flags.insert(argument);
    } else if (repeatable_options.count(argument) != 0) {
      if (!inline_value && i + 1 >= arguments.size())
        throw UsageError(argument + " needs a value", usage);
      parsed.lists[argument].push_back(inline_value ? *inline_value : arguments[++i]);
    } else if (value_options.count(argument) != 0) {
      if (parsed.values.count(argument) != 0)
        throw UsageError(argument + " is given twice", usage);
      if (!inline_value && i + 1 >= arguments.size())
        throw UsageError(argument + " needs a value", usage);
      parsed.values[argument] = inline_value ? *inline_value : arguments[++i];
    } else {
      throw UsageError("unknown option " + argument, usage);
    }
  }
  return parsed;
}

// An instant given on the command line: `2026-11-24`, `2026-11-24 19:00`,
// `2026-11-24T19:00:00.5Z`, `2026-11-24 19:00:00.123456+00` (the form evcs prints),
// `…+05:30`. Without an offset it is UTC. Returns UTC microseconds.
inline std::int64_t parse_instant(const std::string &text, const char *usage) {
  static const std::regex instant(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?)?)"
      R"((Z|[+-]\d{2}(?::?\d{2})?)?$)");
  std::smatch parts;
  if (!std::regex_match(text, parts, instant))
    throw UsageError("cannot read the instant '" + text +
                         "': use YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM]",
                     usage);
  auto number = [&](int group) { return parts[group].matched ? std::stoi(parts[group]) : 0; };
  if (number(2) < 1 || number(2) > 12 || number(3) < 1 || number(3) > 31 || number(4) > 23 ||
      number(5) > 59 || number(6) > 59)
    throw UsageError("the instant '" + text + "' is not a valid date and time", usage);
  std::string offset = parts[8].matched ? parts[8].str() : "Z";
  if (offset == "Z") offset = "+00:00";
  else if (offset.size() == 3) offset += ":00";
  else if (offset.size() == 5) offset.insert(3, ":");
  std::string normalised = parts[1].str() + "-" + parts[2].str() + "-" + parts[3].str() + " " +
                           (parts[4].matched ? parts[4].str() : "00") + ":" +
                           (parts[5].matched ? parts[5].str() : "00") + ":" +
                           (parts[6].matched ? parts[6].str() : "00") + parts[7].str() + offset;
  return parse_timestamp(normalised);
}

// Whether `text` is meant as an instant rather than a name (a commit, tag or branch): it starts
// with a date, YYYY-MM-DD. parse_instant then reads it (or says why it cannot).
inline bool looks_like_instant(const std::string &text) {
  static const std::regex date(R"(^\d{4}-\d{2}-\d{2}([ T].*|Z|[+-]\d{2}(:?\d{2})?)?$)");
  return std::regex_match(text, date);
}

// A non-negative count given on the command line.
inline std::int64_t parse_count(const std::string &option, const std::string &text,
                                const char *usage) {
  static const std::regex digits("^[0-9]{1,18}$");
  if (!std::regex_match(text, digits))
    throw UsageError(option + " needs a non-negative integer, not '" + text + "'", usage);
  return std::stoll(text);
}

} // namespace evcs::cli
