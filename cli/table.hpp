// Human-readable output of the versioned-data commands: aligned tables and field values.
#pragma once

#include "evcs/params.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace evcs::cli {

// A field value as a table shows it: text as it is, null as "null", anything else as JSON.
// `--json` output is the exact form.
inline std::string value_text(const nlohmann::json &value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// A timestamp as evcs prints it everywhere (and --as-of reads back): UTC, microseconds.
inline std::string instant_text(std::optional<std::int64_t> micros) {
  return micros ? format_timestamp(*micros) : "-";
}

inline std::string or_dash(const std::string &text) { return text.empty() ? "-" : text; }

// Columns separated by two spaces, each as wide as its widest cell; the last is not padded.
class Table {
public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }

  void print(std::FILE *to) const {
    std::vector<std::size_t> widths(rows_[0].size(), 0);
    for (const auto &row : rows_)
      for (std::size_t column = 0; column < row.size(); ++column)
        widths[column] = std::max(widths[column], display_width(row[column]));
    for (const auto &row : rows_) {
      std::string line;
      for (std::size_t column = 0; column < row.size(); ++column) {
        line += row[column];
        if (column + 1 < row.size())
          line.append(widths[column] - display_width(row[column]) + 2, ' ');
      }
      std::fprintf(to, "%s\n", line.c_str());
    }
  }

private:
  // Characters, not bytes: UTF-8 continuation bytes take no column.
  static std::size_t display_width(const std::string &text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
  }

  std::vector<std::vector<std::string>> rows_;
};

} // namespace evcs::cli
