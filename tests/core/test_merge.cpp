// Diff and three-way merge between a branch and its parent.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

namespace {

using json = nlohmann::json;

class MergeTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_merge")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("work_package", {{"title", "text not null"}, {"budget", "numeric"},
                                          {"owner", "text"}});
    auto repo = s.repository("work_package");
    bridge_ = repo.create({{"title", "bridge"}, {"budget", 100}, {"owner", "ann"}}).head_id;
    road_ = repo.create({{"title", "road"}, {"budget", 50}}).head_id;
    s.commit();
    repo.update(bridge_, {{"owner", "bob"}});
    s.commit("history before the fork");
    s.create_branch("co");
    s.commit();
  }

  evcs::Session on(const std::string &branch) { return engine_->session(branch, "tester"); }

  json field(const std::string &branch, const std::string &head, const std::string &name) {
    auto s = on(branch);
    auto version = s.repository("work_package").get(head);
    return version ? version->fields[name] : json("absent");
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
  std::string bridge_, road_;
};

std::string *MergeTest::url_ = nullptr;

TEST_F(MergeTest, DiffReportsAddedDeletedAndModifiedFromTheSourceSide) {
  auto s = on("co");
  auto repo = s.repository("work_package");
  repo.update(bridge_, {{"budget", 150}});
  repo.remove(road_);
  auto tunnel = repo.create({{"title", "tunnel"}}).head_id;
  s.commit();
  auto diffs = s.diff("co", "main");
  ASSERT_EQ(diffs.size(), 3u);
  std::map<std::string, evcs::EntityDiff> by_head;
  for (const auto &diff : diffs) by_head[diff.head_id] = diff;
  EXPECT_EQ(by_head[bridge_].kind, "modified");
  ASSERT_EQ(by_head[bridge_].fields.size(), 1u);
  EXPECT_EQ(by_head[bridge_].fields["budget"].old_value, "100");
  EXPECT_EQ(by_head[bridge_].fields["budget"].new_value, "150");
  EXPECT_EQ(by_head[road_].kind, "deleted");
  EXPECT_EQ(by_head[road_].fields["title"].old_value, "road");
  EXPECT_EQ(by_head[road_].fields["title"].new_value, nullptr);
  EXPECT_EQ(by_head[tunnel].kind, "added");
  EXPECT_EQ(by_head[tunnel].entity_type, "work_package");
  EXPECT_TRUE(s.diff("main", "main").empty());
}

TEST_F(MergeTest, AMergeCarriesChangesCreationsAndDeletesAndMovesTheForkPoint) {
  std::string tunnel;
  {
    auto s = on("co");
    auto repo = s.repository("work_package");
    repo.update(bridge_, {{"budget", 150}});
    repo.remove(road_);
    tunnel = repo.create({{"title", "tunnel"}, {"budget", 7}}).head_id;
    s.commit();
  }
  auto s = on("main");
  auto preview = s.merge_preview("co");
  EXPECT_EQ(preview.changes.size(), 3u);
  EXPECT_TRUE(preview.conflicts.empty());
  EXPECT_FALSE(preview.stamp.has_value());
  EXPECT_EQ(field("main", bridge_, "budget"), "100") << "a preview writes nothing";

  auto merged = s.merge("co");
  ASSERT_TRUE(merged.stamp.has_value());
  EXPECT_EQ(merged.changes.size(), 3u);
  EXPECT_EQ(field("main", bridge_, "budget"), "150");
  EXPECT_EQ(field("main", bridge_, "owner"), "bob");
  EXPECT_EQ(field("main", road_, "title"), "absent");
  EXPECT_EQ(field("main", tunnel, "budget"), "7");
  auto check = on("main");
  auto versions = check.execute(
      "SELECT count(*), count(DISTINCT valid_from), min(merged_from) FROM work_package_version "
      "WHERE branch = 'main' AND merged_from IS NOT NULL");
  EXPECT_EQ(versions.get_int64(0, 0), 3);
  EXPECT_EQ(versions.get_int64(0, 1), 1) << "merged versions share one stamp";
  EXPECT_EQ(versions.get_text(0, 2), "co");
  auto log = check.execute("SELECT branch, merged_from, changes FROM evcs_commit WHERE stamp = $1",
                           evcs::Params::of(evcs::Timestamp{*merged.stamp}));
  ASSERT_EQ(log.rows(), 1);
  EXPECT_EQ(log.get_text(0, 0), "main");
  EXPECT_EQ(log.get_text(0, 1), "co");
  EXPECT_EQ(log.get_int64(0, 2), 3);
  check.rollback();

  auto again = s.merge("co");
  EXPECT_TRUE(again.changes.empty()) << "the fork point moved: nothing new to carry";
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"owner", "cy"}});
    branch.commit();
  }
  auto third = s.merge("co");
  ASSERT_EQ(third.changes.size(), 1u);
  EXPECT_EQ(third.changes[0].fields.count("owner"), 1u);
  EXPECT_EQ(field("main", bridge_, "owner"), "cy");
  EXPECT_EQ(field("main", bridge_, "budget"), "150");
}

// The base of a later merge is the state at the previous merge, not the parent version the
// branch first copied: changing a field again after merging it is no conflict.
TEST_F(MergeTest, ChangingAFieldAgainAfterAMergeUsesTheMergeAsTheBase) {
  auto update_on = [this](const std::string &branch, int budget) {
    auto s = on(branch);
    s.repository("work_package").update(bridge_, {{"budget", budget}});
    s.commit();
  };
  auto s = on("main");
  update_on("co", 150);
  ASSERT_TRUE(s.merge("co").conflicts.empty());
  update_on("co", 175);
  auto second = s.merge_preview("co");
  EXPECT_TRUE(second.conflicts.empty());
  ASSERT_EQ(second.changes.size(), 1u);
  ASSERT_TRUE(s.merge("co").conflicts.empty());
  EXPECT_EQ(field("main", bridge_, "budget"), "175");

  update_on("main", 200);
  update_on("co", 210);
  auto conflicting = s.merge_preview("co");
  ASSERT_EQ(conflicting.conflicts.size(), 1u);
  EXPECT_EQ(conflicting.conflicts[0].field, "budget");
  EXPECT_EQ(conflicting.conflicts[0].base, "175");
  EXPECT_EQ(conflicting.conflicts[0].ours, "200");
  EXPECT_EQ(conflicting.conflicts[0].theirs, "210");
}

TEST_F(MergeTest, ChangesOnBothSidesToDifferentFieldsMergeCleanly) {
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 150}});
    branch.commit();
  }
  {
    auto main = on("main");
    main.repository("work_package").update(bridge_, {{"owner", "dee"}});
    main.commit();
  }
  auto s = on("main");
  auto merged = s.merge("co");
  EXPECT_TRUE(merged.conflicts.empty());
  EXPECT_EQ(field("main", bridge_, "budget"), "150");
  EXPECT_EQ(field("main", bridge_, "owner"), "dee");
}

TEST_F(MergeTest, ConflictingFieldsFailAndWriteNothingUnlessAStrategyDecides) {
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 150}});
    branch.commit();
  }
  {
    auto main = on("main");
    main.repository("work_package").update(bridge_, {{"budget", 120}});
    main.commit();
  }
  auto s = on("main");
  try {
    s.merge("co");
    FAIL() << "a conflicting merge must fail";
  } catch (const evcs::MergeConflict &error) {
    auto detail = json::parse(error.detail_json());
    ASSERT_EQ(detail["conflicts"].size(), 1u);
    auto conflict = detail["conflicts"][0];
    EXPECT_EQ(conflict["entity_type"], "work_package");
    EXPECT_EQ(conflict["head_id"], bridge_);
    EXPECT_EQ(conflict["field"], "budget");
    EXPECT_EQ(conflict["base"], "100");
    EXPECT_EQ(conflict["ours"], "120");
    EXPECT_EQ(conflict["theirs"], "150");
  }
  EXPECT_EQ(field("main", bridge_, "budget"), "120");
  auto preview = s.merge_preview("co");
  EXPECT_EQ(preview.conflicts.size(), 1u);
  auto ours = s.merge("co", std::nullopt, "ours");
  EXPECT_EQ(ours.conflicts.size(), 1u);
  EXPECT_EQ(field("main", bridge_, "budget"), "120");
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 175}});
    branch.commit();
  }
  {
    auto main = on("main");
    main.repository("work_package").update(bridge_, {{"budget", 130}});
    main.commit();
  }
  s.merge("co", std::nullopt, "theirs");
  EXPECT_EQ(field("main", bridge_, "budget"), "175");
}

TEST_F(MergeTest, DeleteVersusModifyIsAConflict) {
  {
    auto branch = on("co");
    branch.repository("work_package").remove(road_);
    branch.commit();
  }
  {
    auto main = on("main");
    main.repository("work_package").update(road_, {{"budget", 55}});
    main.commit();
  }
  auto s = on("main");
  try {
    s.merge("co");
    FAIL() << "delete versus modify must conflict";
  } catch (const evcs::MergeConflict &error) {
    auto conflict = json::parse(error.detail_json())["conflicts"][0];
    EXPECT_EQ(conflict["field"], "deleted");
    EXPECT_EQ(conflict["theirs"], true);
  }
  EXPECT_EQ(field("main", road_, "budget"), "55");
}

TEST_F(MergeTest, AFailureMidMergeLeavesTheTargetUntouched) {
  {
    auto branch = on("co");
    auto repo = branch.repository("work_package");
    repo.update(bridge_, {{"budget", 150}});
    repo.create({{"title", "explode"}});
    branch.commit();
  }
  auto s = on("main");
  s.execute("CREATE FUNCTION refuse_explosions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.merged_from IS NOT NULL AND NEW.title = 'explode' THEN "
            "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$");
  s.execute("CREATE TRIGGER refuse_explosions BEFORE INSERT ON work_package_version FOR EACH ROW "
            "EXECUTE FUNCTION refuse_explosions()");
  s.commit();
  EXPECT_THROW(s.merge("co"), evcs::Error);
  EXPECT_EQ(field("main", bridge_, "budget"), "100");
  auto check = on("main");
  EXPECT_EQ(check.scalar<std::int64_t>("SELECT count(*) FROM work_package_version WHERE "
                                       "merged_from IS NOT NULL").value(), 0);
  EXPECT_EQ(check.scalar<std::int64_t>("SELECT count(*) FROM evcs_branch_base WHERE branch = 'co'")
                .value(), 1) << "the fork point did not move";
}

TEST_F(MergeTest, BadMerges) {
  auto s = on("main");
  EXPECT_THROW(s.merge("co", std::string("co")), evcs::InvalidArgument);
  s.create_branch("other");
  s.commit();
  EXPECT_FALSE(s.merge("co", std::string("other")).commit)
      << "a merge between siblings works; co has nothing other lacks, so nothing is committed";
  EXPECT_THROW(s.merge("main"), evcs::InvalidArgument);
  EXPECT_THROW(s.merge("ghost"), evcs::NotFound);
  EXPECT_THROW(s.merge("co", std::nullopt, "sideways"), evcs::InvalidArgument);
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 1}});
    branch.commit();
  }
  s.lock_branch("main");
  s.commit();
  EXPECT_THROW(s.merge("co"), evcs::BranchLocked);
  s.unlock_branch("main");
  s.commit();
  auto busy = on("co");
  busy.repository("work_package").update(bridge_, {{"budget", 2}});
  EXPECT_THROW(busy.merge("co"), evcs::MisuseError) << "uncommitted work on the source";
}

// An operation that commits by itself refuses to run over changes the session's open
// transaction made with raw SQL, instead of committing them (or rolling them back when it
// fails) behind the caller's back; they are still there, uncommitted, afterwards.
TEST_F(MergeTest, RawSqlBeforeAMergeOrABulkCreateIsRefusedAndKept) {
  {
    auto b = on("co");
    b.repository("work_package").update(bridge_, {{"budget", 7}});
    b.commit("a change to merge");
    auto s = on("main");
    s.execute("CREATE TABLE side_note (note text)");
    s.commit();
  }
  auto s = on("main");
  s.execute("SELECT count(*) FROM side_note");  // reads and settings hold nothing to lose
  s.execute("SET LOCAL statement_timeout = '1min'");
  s.execute("INSERT INTO side_note VALUES ('mine')");
  try {
    s.merge("co");
    FAIL() << "expected MisuseError";
  } catch (const evcs::MisuseError &error) {
    EXPECT_EQ(std::string(error.what()), "this session holds uncommitted changes made with raw "
                                         "SQL: commit or roll them back before merging");
  }
  EXPECT_THROW(s.repository("work_package").create_many(json::array({{{"title", "t"}}})),
               evcs::MisuseError);
  EXPECT_EQ(s.scalar<std::int64_t>("SELECT count(*) FROM side_note"), 1) << "still pending";
  EXPECT_EQ(on("main").scalar<std::int64_t>("SELECT count(*) FROM side_note"), 0)
      << "and not committed";
  EXPECT_EQ(field("main", bridge_, "budget"), "100") << "nothing merged";
  s.commit("the note");
  ASSERT_TRUE(s.merge("co").commit);
  EXPECT_EQ(field("main", bridge_, "budget"), "7");
  EXPECT_EQ(on("main").scalar<std::int64_t>("SELECT count(*) FROM side_note"), 1);
}

TEST_F(MergeTest, APreviewAppliesTheStrategyAndAMergeRecordsItsMessage) {
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 150}, {"title", "big bridge"}});
    branch.commit();
  }
  {
    auto main = on("main");
    main.repository("work_package").update(bridge_, {{"budget", 120}});
    main.commit();
  }
  auto s = on("main");
  auto failing = s.merge_preview("co");
  ASSERT_EQ(failing.conflicts.size(), 1u);
  ASSERT_EQ(failing.changes.size(), 1u);
  EXPECT_EQ(failing.changes[0].fields.count("budget"), 0u) << "a conflict is not written";
  auto theirs = s.merge_preview("co", std::nullopt, "theirs");
  ASSERT_EQ(theirs.conflicts.size(), 1u);
  ASSERT_EQ(theirs.changes.size(), 1u);
  EXPECT_EQ(theirs.changes[0].fields.at("budget").old_value, "120");
  EXPECT_EQ(theirs.changes[0].fields.at("budget").new_value, "150");
  EXPECT_EQ(field("main", bridge_, "budget"), "120") << "a preview writes nothing";
  EXPECT_THROW(s.merge_preview("co", std::nullopt, "sideways"), evcs::InvalidArgument);

  auto merged = s.merge("co", std::nullopt, "theirs", "take the change order");
  auto check = on("main");
  auto log = check.execute("SELECT message FROM evcs_commit WHERE stamp = $1",
                           evcs::Params::of(evcs::Timestamp{*merged.stamp}));
  EXPECT_EQ(log.get_text(0, 0), "take the change order");
}

TEST_F(MergeTest, MergedVersionsContinueTheTargetsLineageAndKeepEveryValueExactly) {
  auto s = on("main");
  s.create_entity_type("document", {{"note", "text"}, {"tags", "text[]"}, {"data", "jsonb"},
                                    {"amount", "numeric(12,2)"}, {"due", "timestamptz"},
                                    {"ref", "uuid"}, {"flag", "boolean"}, {"ratio", "float8"}});
  auto documents = s.repository("document");
  std::string kept = documents.create({{"note", "plain"}, {"amount", "1.00"}}).head_id;
  s.commit();
  s.create_branch("docs");
  s.commit();
  {
    auto docs = on("docs");
    docs.create_branch("sub", "docs");
    docs.commit();
  }
  const json tricky = {{"note", "tab\there\nnew line \\ back \"quoted\""},
                       {"tags", json::array({"a,b", "say \"hi\"", "back\\slash", nullptr, "{}"})},
                       {"data", {{"nested", {{"list", {1, 2.5, "é"}}}}, {"none", nullptr}}},
                       {"amount", "12345.67"},
                       {"due", "2026-11-25 10:30:00.123456+00"},
                       {"ref", "123e4567-e89b-12d3-a456-426614174000"},
                       {"flag", true},
                       {"ratio", 0.1}};
  std::string added;
  {
    auto sub = on("sub");
    auto repo = sub.repository("document");
    repo.update(kept, tricky);
    added = repo.create({{"note", "added on sub"}}).head_id;
    sub.commit();
  }
  auto docs = on("docs");
  EXPECT_EQ(docs.merge("sub").changes.size(), 2u);
  auto docs_repo = docs.repository("document");
  auto history = docs_repo.history(kept, std::string("docs"));
  ASSERT_EQ(history.size(), 2u) << "main's version docs read through to, then its own";
  EXPECT_EQ(history[0].branch, "main");
  const evcs::Version &read_through = history[1];
  EXPECT_EQ(read_through.branch, "docs");
  EXPECT_EQ(read_through.version, 1) << "docs read the entity through to main";
  EXPECT_EQ(read_through.parent_branch, "main");
  EXPECT_EQ(read_through.parent_version, 1);
  EXPECT_EQ(read_through.merged_from, "sub");
  EXPECT_EQ(read_through.author, "tester");
  for (const auto &[name, value] : tricky.items())
    EXPECT_EQ(read_through.fields[name], value) << name;
  auto created = docs_repo.history(added, std::string("docs"));
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].version, 1);
  EXPECT_FALSE(created[0].parent_branch.has_value());
  EXPECT_FALSE(created[0].parent_version.has_value());

  auto merged = s.merge("docs");
  auto on_main = documents.history(kept, std::string("main"));
  ASSERT_EQ(on_main.size(), 2u);
  EXPECT_EQ(on_main[1].version, 2) << "main continues its own version";
  EXPECT_FALSE(on_main[1].parent_branch.has_value());
  EXPECT_EQ(on_main[0].valid_to, on_main[1].valid_from);
  EXPECT_EQ(on_main[1].valid_from, *merged.stamp);
  EXPECT_EQ(on_main[1].merged_from, "docs");
  for (const auto &[name, value] : tricky.items())
    EXPECT_EQ(on_main[1].fields[name], value) << name;

  docs_repo.remove(added);
  docs.commit();
  s.merge("docs");
  auto removed = documents.history(added, std::string("main"));
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[1].version, 2);
  EXPECT_TRUE(removed[1].deleted);
  EXPECT_EQ(removed[1].fields["note"], "added on sub") << "a tombstone keeps the last content";
  EXPECT_FALSE(documents.get(added).has_value());
}

TEST_F(MergeTest, SetBasedStatementsRunWithoutJitAndLeaveTheSettingAsItWas) {
  {
    auto branch = on("co");
    branch.repository("work_package").update(bridge_, {{"budget", 150}});
    branch.commit();
  }
  auto setting = [](evcs::Session &session, const std::string &name) {
    return session.execute("SELECT coalesce(current_setting($1, true), '(none)')",
                           evcs::Params::of(name))
        .get_text(0, 0);
  };
  auto s = on("main");
  s.execute("SET jit = on");
  EXPECT_EQ(s.merge_preview("co").changes.size(), 1u);
  EXPECT_EQ(setting(s, "evcs.jit_before"), "on")
      << "the preview switched JIT off in this transaction";
  EXPECT_EQ(setting(s, "jit"), "on") << "and it is back before the next statement";
  s.commit();

  auto nested = s.begin_nested();
  EXPECT_EQ(s.diff("co", "main").size(), 1u);
  nested.rollback();
  EXPECT_EQ(setting(s, "jit"), "on") << "a savepoint rolled back after the switch";
  s.commit();

  s.set_autocommit(true);
  EXPECT_EQ(s.diff("co", "main").size(), 1u);
  EXPECT_EQ(setting(s, "jit"), "on");
  EXPECT_EQ(s.merge("co").changes.size(), 1u);
  EXPECT_EQ(setting(s, "jit"), "on");
  EXPECT_EQ(field("main", bridge_, "budget"), "150");
}

} // namespace
