// Parity, C side: every capability's C entry point is exported by libevcs, every error code
// has its name, and every engine option is known.
#include "capabilities.hpp"
#include "evcs/evcs.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <set>

namespace {

std::set<std::string> error_code_names() {
  std::set<std::string> names;
  for (int code = EVCS_ERROR; code >= EVCS_EMISUSE; --code) names.insert(evcs_error_code_name(code));
  return names;
}

std::set<std::string> option_keys() {
  std::set<std::string> keys;
  const char *key = nullptr;
  for (size_t index = 0; evcs_options_known_key(&key, index) == EVCS_OK; ++index) keys.insert(key);
  return keys;
}

TEST(Parity, EveryCapabilityExistsInTheCAbi) {
  auto capabilities = evcs_test::read_capabilities();
  ASSERT_GT(capabilities.size(), 50u);
  auto codes = error_code_names();
  auto keys = option_keys();
  for (const auto &capability : capabilities) {
    if (evcs_test::starts_with(capability.name, "error.")) {
      EXPECT_EQ(codes.count(capability.c), 1u) << capability.name;
    } else if (evcs_test::starts_with(capability.name, "option.")) {
      EXPECT_EQ(keys.count(capability.c), 1u) << capability.name;
    } else {
      EXPECT_NE(dlsym(RTLD_DEFAULT, capability.c.c_str()), nullptr)
          << capability.name << ": " << capability.c << " is not exported";
    }
  }
  EXPECT_EQ(codes.size(), 13u);
}

} // namespace
