// What the C ABI tests share: the last error's message, and library-allocated JSON taken over.
#pragma once

#include "evcs/evcs.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace evcs_test {

inline std::string last_message() { return evcs_error_last_message(); }

// Takes a library-allocated JSON text, parses it and frees it.
inline nlohmann::json take_json(char *text) {
  EXPECT_NE(text, nullptr);
  if (text == nullptr) return nlohmann::json("no output");
  nlohmann::json parsed = nlohmann::json::parse(text);
  evcs_free(text);
  return parsed;
}

}  // namespace evcs_test
