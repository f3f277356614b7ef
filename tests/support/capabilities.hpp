// Reads tests/parity/capabilities.txt: one row per capability with its C, C++, Python and Lua
// spelling.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace evcs_test {

struct Capability {
  std::string name, c, cpp, python, lua;
};

inline std::vector<Capability> read_capabilities() {
  std::ifstream file(EVCS_PARITY_FILE);
  if (!file) throw std::runtime_error("cannot open " EVCS_PARITY_FILE);
  std::vector<Capability> capabilities;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Capability capability;
    if (!(fields >> capability.name >> capability.c >> capability.cpp >> capability.python >>
          capability.lua))
      throw std::runtime_error("malformed capability row: " + line);
    capabilities.push_back(capability);
  }
  return capabilities;
}

inline bool starts_with(const std::string &text, const std::string &prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace evcs_test
