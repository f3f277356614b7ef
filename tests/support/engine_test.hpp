// Test support: a suite whose database is created once (evcs_test::fresh_database) and whose every
// test starts with an engine on it and an empty public schema.
#pragma once

#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

namespace evcs_test {

// `Suite` derives from EngineTest<Suite> and names its database: `static constexpr const char
// *database = "core_include";`.
template <typename Suite> class EngineTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(fresh_database(Suite::database)); }
  static void TearDownTestSuite() {
    delete url_;
    url_ = nullptr;
  }

  // A new engine on the suite's database (with `pool_size` connections, else the default), its
  // schema emptied.
  void open_empty(std::optional<std::size_t> pool_size = std::nullopt) {
    evcs::EngineOptions options;
    options.url = *url_;
    if (pool_size) options.pool_size = *pool_size;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto session = engine_->session();
    session.execute("DROP SCHEMA public CASCADE");
    session.execute("CREATE SCHEMA public");
    session.commit();
  }

  static inline std::string *url_ = nullptr;
  std::unique_ptr<evcs::Engine> engine_;
};

} // namespace evcs_test
