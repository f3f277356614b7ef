// Parity, C++ side: every capability's C++ spelling names a real member, checked at compile
// time by taking its address (with the signature a parameter row names), and every row of the
// manifest has an entry here.
#include "capabilities.hpp"
#include "evcs/autogenerate.hpp"
#include "evcs/backup.hpp"
#include "evcs/evcs.hpp"
#include "evcs/migrations.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>

namespace {

template <typename T> void exists(T) {}

const std::map<std::string, std::function<void()>> &cpp_spellings() {
  using evcs::EmbeddedServer;
  using evcs::MigrationRunner;
  using evcs::Engine;
  using evcs::Repository;
  using evcs::Result;
  using evcs::Session;
  using evcs::Transaction;
  static const std::map<std::string, std::function<void()>> table = {
      {"Engine::Engine", [] { static_assert(std::is_constructible_v<Engine, evcs::EngineOptions>); }},
      {"Engine::~Engine", [] { static_assert(std::is_destructible_v<Engine>); }},
      {"Engine::url", [] { exists(&Engine::url); }},
      {"Engine::pool_status", [] { exists(&Engine::pool_status); }},
      {"Engine::dispose", [] { exists(&Engine::dispose); }},
      {"Engine::execute", [] { exists(&Engine::execute); }},
      {"Session::commit_log", [] { exists(&Session::commit_log); }},
      {"Engine::async_execute", [] { exists(&Engine::async_execute); }},
      {"Engine::session", [] { exists(&Engine::session); }},
      {"Session::execute", [] { exists(&Session::execute); }},
      {"Session::commit", [] { exists(&Session::commit); }},
      {"Session::rollback", [] { exists(&Session::rollback); }},
      {"Session::close", [] { exists(&Session::close); }},
      {"Session::in_transaction", [] { exists(&Session::in_transaction); }},
      {"Session::branch", [] { exists(&Session::branch); }},
      {"Session::author", [] { exists(&Session::author); }},
      {"Session::backend_pid", [] { exists(&Session::backend_pid); }},
      {"Session::set_autocommit", [] { exists(&Session::set_autocommit); }},
      {"Session::run_in_transaction", [] { exists(&Session::run_in_transaction); }},
      {"Session::begin", [] { exists(&Session::begin); }},
      {"Session::begin_nested", [] { exists(&Session::begin_nested); }},
      {"Transaction::commit", [] { exists(&Transaction::commit); }},
      {"Transaction::rollback", [] { exists(&Transaction::rollback); }},
      {"Transaction::is_active", [] { exists(&Transaction::is_active); }},
      {"Session::async_execute", [] { exists(&Session::async_execute); }},
      {"Session::async_commit", [] { exists(&Session::async_commit); }},
      {"Session::async_rollback", [] { exists(&Session::async_rollback); }},
      {"std::future::get", [] { exists(&Session::execute_async); }},
      {"Result::rows", [] { exists(&Result::rows); }},
      {"Result::column_name", [] { exists(&Result::column_name); }},
      {"Result::rows_affected", [] { exists(&Result::rows_affected); }},
      {"EmbeddedServer::acquire", [] { exists(&EmbeddedServer::acquire); }},
      {"EmbeddedServer::url", [] { exists(&EmbeddedServer::url); }},
      {"EmbeddedServer::data_dir", [] { exists(&EmbeddedServer::data_dir); }},
      {"EmbeddedServer::persist", [] { exists(&EmbeddedServer::persist); }},
      {"EmbeddedServer::~EmbeddedServer", [] { static_assert(std::is_destructible_v<EmbeddedServer>); }},
      {"Session::create_entity_type", [] { exists(&Session::create_entity_type); }},
      {"Session::add_column", [] { exists(&Session::add_column); }},
      {"Session::drop_column", [] { exists(&Session::drop_column); }},
      {"Session::rename_column", [] { exists(&Session::rename_column); }},
      {"Session::add_reference", [] { exists(&Session::add_reference); }},
      {"Session::drop_reference", [] { exists(&Session::drop_reference); }},
      {"Session::alter_reference", [] { exists(&Session::alter_reference); }},
      {"Session::add_unique_key", [] { exists(&Session::add_unique_key); }},
      {"Session::drop_unique_key", [] { exists(&Session::drop_unique_key); }},
      {"Session::add_check", [] { exists(&Session::add_check); }},
      {"Session::drop_check", [] { exists(&Session::drop_check); }},
      {"Session::repository", [] { exists(&Session::repository); }},
      {"Repository::~Repository", [] { static_assert(std::is_destructible_v<Repository>); }},
      {"Repository::create", [] { exists(&Repository::create); }},
      {"Repository::create_many", [] { exists(&Repository::create_many); }},
      {"Repository::update_many", [] { exists(&Repository::update_many); }},
      {"Repository::update", [] { exists(&Repository::update); }},
      {"Repository::remove", [] { exists(&Repository::remove); }},
      {"Repository::restore", [] { exists(&Repository::restore); }},
      {"Repository::revert", [] { exists(&Repository::revert); }},
      {"Repository::get", [] { exists(&Repository::get); }},
      {"Repository::history", [] { exists(&Repository::history); }},
      {"Repository::find", [] { exists(&Repository::find); }},
      {"Repository::count", [] { exists(&Repository::count); }},
      {"Repository::exists", [] { exists(&Repository::exists); }},
      {"Repository::fields", [] { exists(&Repository::fields); }},
      {"Session::create_branch", [] { exists(&Session::create_branch); }},
      {"Session::branches", [] { exists(&Session::branches); }},
      {"Session::lock_branch", [] { exists(&Session::lock_branch); }},
      {"Session::unlock_branch", [] { exists(&Session::unlock_branch); }},
      {"Session::archive_branch", [] { exists(&Session::archive_branch); }},
      {"Session::diff", [] { exists(&Session::diff); }},
      {"Session::merge",
       [] {
         using WithOptions = evcs::MergeResult (Session::*)(const std::string &,
                                                            const evcs::MergeOptions &);
         exists(static_cast<WithOptions>(&Session::merge));
       }},
      {"Session::merge_preview",
       [] {
         using WithOptions = evcs::MergeResult (Session::*)(const std::string &,
                                                            const evcs::MergeOptions &);
         exists(static_cast<WithOptions>(&Session::merge_preview));
       }},
      {"Session::create_branch(as_of)",
       [] {
         using WithAsOf = void (Session::*)(const std::string &, const std::string &,
                                            const std::string &, std::optional<std::int64_t>);
         exists(static_cast<WithAsOf>(&Session::create_branch));
       }},
      {"Session::create_entity_type(constraints)",
       [] {
         using WithConstraints = void (Session::*)(const std::string &,
                                                   const std::vector<evcs::ColumnDefinition> &,
                                                   const evcs::EntityConstraints &);
         exists(static_cast<WithConstraints>(&Session::create_entity_type));
       }},
      {"FieldDefinition::references", [] { exists(&evcs::FieldDefinition::references); }},
      {"Session::merge(message)",
       [] {
         using WithMessage = evcs::MergeResult (Session::*)(
             const std::string &, const std::optional<std::string> &, const std::string &,
             const std::string &);
         exists(static_cast<WithMessage>(&Session::merge));
       }},
      {"Session::merge_preview(strategy)",
       [] {
         using WithStrategy = evcs::MergeResult (Session::*)(
             const std::string &, const std::optional<std::string> &, const std::string &);
         exists(static_cast<WithStrategy>(&Session::merge_preview));
       }},
      {"MergeOptions::resolutions", [] { exists(&evcs::MergeOptions::resolutions); }},
      {"MergeConflictInfo::other_head_id", [] { exists(&evcs::MergeConflictInfo::other_head_id); }},
      {"Session::merge_start", [] { exists(&Session::merge_start); }},
      {"Session::merge_status", [] { exists(&Session::merge_status); }},
      {"Session::merge_resolve", [] { exists(&Session::merge_resolve); }},
      {"Session::merge_continue", [] { exists(&Session::merge_continue); }},
      {"Session::merge_abort", [] { exists(&Session::merge_abort); }},
      {"Session::commit_info", [] { exists(&Session::commit_info); }},
      {"Session::merge_base", [] { exists(&Session::merge_base); }},
      {"Session::revert_commit", [] { exists(&Session::revert_commit); }},
      {"Session::cherry_pick", [] { exists(&Session::cherry_pick); }},
      {"Session::tag", [] { exists(&Session::tag); }},
      {"Session::tags", [] { exists(&Session::tags); }},
      {"Session::delete_tag", [] { exists(&Session::delete_tag); }},
      {"Session::diff_history", [] { exists(&Session::diff_history); }},
      {"Repository::get_at_commit", [] { exists(&Repository::get_at_commit); }},
      {"Repository::versions", [] { exists(&Repository::versions); }},
      {"Repository::find_page", [] { exists(&Repository::find_page); }},
      {"Repository::find_rows", [] { exists(&Repository::find_rows); }},
      {"ColumnBatches::next", [] { exists(&evcs::ColumnBatches::next); }},
      {"FindOptions::include", [] { exists(&evcs::FindOptions::include); }},
      {"Repository::history_page", [] { exists(&Repository::history_page); }},
      {"Repository::versions_page", [] { exists(&Repository::versions_page); }},
      {"MigrationRunner::MigrationRunner",
       [] { static_assert(std::is_constructible_v<MigrationRunner, Engine &, std::string>); }},
      {"MigrationRunner::~MigrationRunner",
       [] { static_assert(std::is_destructible_v<MigrationRunner>); }},
      {"MigrationRunner::steps", [] { exists(&MigrationRunner::steps); }},
      {"MigrationRunner::upgrade", [] { exists(&MigrationRunner::upgrade); }},
      {"MigrationRunner::downgrade", [] { exists(&MigrationRunner::downgrade); }},
      {"MigrationRunner::upgrade_sql", [] { exists(&MigrationRunner::upgrade_sql); }},
      {"MigrationRunner::downgrade_sql", [] { exists(&MigrationRunner::downgrade_sql); }},
      {"MigrationRunner::current", [] { exists(&MigrationRunner::current); }},
      {"MigrationRunner::history", [] { exists(&MigrationRunner::history); }},
      {"MigrationRunner::pending", [] { exists(&MigrationRunner::pending); }},
      {"MigrationRunner::verify", [] { exists(&MigrationRunner::verify); }},
      {"MigrationRunner::stamp", [] { exists(&MigrationRunner::stamp); }},
      {"MigrationRunner::new_step", [] { exists(&MigrationRunner::new_step); }},
      {"MigrationRunner::catalog", [] { exists(&MigrationRunner::catalog); }},
      {"autogenerate", [] { exists(&evcs::autogenerate); }},
      {"autogenerate_from_text", [] { exists(&evcs::autogenerate_from_text); }},
      {"MigrationOptions::on_batch", [] { exists(&evcs::MigrationOptions::on_batch); }},
      {"backup_database", [] { exists(&evcs::backup_database); }},
      {"restore_database", [] { exists(&evcs::restore_database); }},
      {"verify_restore", [] { exists(&evcs::verify_restore); }},
      {"EVCS_VERSION_STRING", [] {}},
  };
  return table;
}

const std::map<std::string, evcs::ErrorCode> &cpp_error_classes() {
  static const std::map<std::string, evcs::ErrorCode> table = {
      {"Error", evcs::ErrorCode::error},
      {"NotFound", evcs::NotFound("").code()},
      {"Conflict", evcs::Conflict("").code()},
      {"MergeConflict", evcs::MergeConflict("").code()},
      {"ConcurrentModification", evcs::ConcurrentModification("").code()},
      {"BranchLocked", evcs::BranchLocked("").code()},
      {"IntegrityError", evcs::IntegrityError("").code()},
      {"InvalidArgument", evcs::InvalidArgument("").code()},
      {"PoolTimeout", evcs::PoolTimeout("").code()},
      {"ConnectionLost", evcs::ConnectionLost("").code()},
      {"SerializationFailure", evcs::SerializationFailure("").code()},
      {"MigrationError", evcs::MigrationError("").code()},
      {"MisuseError", evcs::MisuseError("").code()},
  };
  return table;
}

TEST(Parity, EveryCapabilityExistsInCpp) {
  std::set<std::string> option_keys;
  for (const char *const *key = evcs::EngineOptions::known_keys(); *key != nullptr; ++key)
    option_keys.insert(*key);
  for (const auto &capability : evcs_test::read_capabilities()) {
    if (evcs_test::starts_with(capability.name, "error.")) {
      auto found = cpp_error_classes().find(capability.cpp);
      ASSERT_NE(found, cpp_error_classes().end()) << capability.name;
      EXPECT_EQ(evcs::code_name(found->second), capability.c) << capability.name;
    } else if (evcs_test::starts_with(capability.name, "option.")) {
      EXPECT_EQ(option_keys.count(capability.cpp), 1u) << capability.name;
    } else {
      auto found = cpp_spellings().find(capability.cpp);
      ASSERT_NE(found, cpp_spellings().end()) << capability.name << ": " << capability.cpp;
      found->second();
    }
  }
}

} // namespace
