// A merge whose field-by-field result would break a reference, a unique key or a check reports
// each violation as a conflict of the entity that breaks the rule: nothing is written under
// "fail" (or any strategy), a preview and a staged merge list them, and resolutions settle them
// like other conflicts; a resolution that still breaks the rule is reported again.
#include "evcs/evcs.hpp"
#include "engine_test.hpp"

#include <gtest/gtest.h>

namespace {

using json = nlohmann::json;

class MergeViolationsTest : public evcs_test::EngineTest<MergeViolationsTest> {
public:
  static constexpr const char *database = "core_merge_violations";

protected:
  void SetUp() override {
    open_empty();
    auto s = engine_->session();
    s.create_entity_type("project", {{"title", "text"}});
    s.create_entity_type("person", {{"email", "text"}, {"lo", "int"}, {"hi", "int"}},
                         {{{"email"}}, {{"ordered", "lo <= hi"}}});
    s.create_entity_type("task", {{"title", "text"}, {"project_id", "", "project", "restrict"}});
    s.commit();
    project_ = s.repository("project").create({{"title", "p"}}).head_id;
    person_ = s.repository("person").create({{"email", "a@x"}, {"lo", 1}, {"hi", 5}}).head_id;
    s.commit("a project and a person");
    s.create_branch("b");
    s.commit();
  }

  evcs::Session on(const std::string &branch = "main") { return engine_->session(branch, "tester"); }

  std::int64_t count(const std::string &sql) {
    auto s = on();
    return s.scalar<std::int64_t>(sql).value_or(-1);
  }

  std::int64_t merges_of_b() {
    return count("SELECT count(*) FROM evcs_commit WHERE merged_from = 'b'");
  }

  // The conflicts a failed merge lists in its error's detail.
  static json conflicts_of(const evcs::MergeConflict &error) {
    return json::parse(error.detail_json()).at("conflicts");
  }

  // A violation as to_json reports it, without its values.
  static json violation(const std::string &kind, const std::string &type,
                        const std::string &head_id, const std::string &field,
                        const std::string &constraint, json other_type, json other_head_id) {
    return {{"kind", kind}, {"entity_type", type}, {"head_id", head_id}, {"field", field},
            {"constraint", constraint}, {"other_type", other_type},
            {"other_head_id", other_head_id}};
  }

  static json without_values(const json &conflict) {
    json kept = conflict;
    for (const char *key : {"base", "ours", "theirs", "resolution"}) kept.erase(key);
    return kept;
  }

  // Merging b is refused with one conflict, `expected` apart from its values; returns it.
  json refused_merge(evcs::Session &s, const json &expected, const std::string &strategy = "fail") {
    try {
      s.merge("b", std::nullopt, strategy);
      ADD_FAILURE() << "the merge must be refused (strategy " << strategy << ")";
    } catch (const evcs::MergeConflict &error) {
      json conflicts = conflicts_of(error);
      EXPECT_EQ(conflicts.size(), 1u);
      if (conflicts.size() == 1) {
        EXPECT_EQ(without_values(conflicts[0]), expected);
        return conflicts[0];
      }
    }
    return json();
  }

  // b creates a task of the project; main deletes the project (no task of its own refers to it).
  std::string task_of_a_project_deleted_on_main() {
    auto b = on("b");
    std::string task =
        b.repository("task").create({{"title", "t"}, {"project_id", project_}}).head_id;
    b.commit("a task of the project");
    auto s = on();
    s.repository("project").remove(project_);
    s.commit("the project deleted");
    return task;
  }

  // b raises the person's lo to 3, main lowers its hi to 2: each valid, together not.
  void lo_and_hi_crossed() {
    auto b = on("b");
    b.repository("person").update(person_, {{"lo", 3}});
    b.commit("lo 3 on b");
    auto s = on();
    s.repository("person").update(person_, {{"hi", 2}});
    s.commit("hi 2 on main");
  }

  // Merges b with one resolution that settles the one violation, of `kind`.
  evcs::MergeResult merge_settled(evcs::Session &s, const evcs::ConflictResolution &resolution,
                                  const std::string &kind) {
    evcs::MergeOptions options;
    options.resolutions = {resolution};
    evcs::MergeResult merged = s.merge("b", options);
    EXPECT_TRUE(merged.commit);
    EXPECT_EQ(merged.conflicts.size(), 1u);
    if (merged.conflicts.size() == 1) {
      EXPECT_EQ(merged.conflicts[0].kind, kind);
      EXPECT_EQ(merged.conflicts[0].resolution ? merged.conflicts[0].resolution->to_json() : json(),
                resolution.to_json());
    }
    return merged;
  }

  std::string project_, person_;
};


TEST_F(MergeViolationsTest, AReferenceToAnEntityDeletedOnTheTargetIsAConflictOfTheReferrer) {
  std::string task = task_of_a_project_deleted_on_main();
  auto s = on();
  json expected = violation("reference", "task", task, "project_id", "project_id", "project",
                            project_);
  for (const std::string strategy : {"fail", "theirs", "ours"}) {
    json conflict = refused_merge(s, expected, strategy);
    EXPECT_EQ(conflict["base"], nullptr);
    EXPECT_EQ(conflict["ours"], nullptr);
    EXPECT_EQ(conflict["theirs"], project_);
  }
  EXPECT_EQ(count("SELECT count(*) FROM task_version WHERE branch = 'main'"), 0);
  EXPECT_EQ(merges_of_b(), 0);

  evcs::MergeResult preview = s.merge_preview("b");
  ASSERT_EQ(preview.conflicts.size(), 1u);
  EXPECT_EQ(without_values(preview.conflicts[0].to_json()), expected);
  EXPECT_EQ(preview.unresolved(), 1u);
  ASSERT_EQ(preview.changes.size(), 1u) << "the change the merge would make is still listed";
  EXPECT_EQ(preview.changes[0].kind, "added");
  EXPECT_EQ(count("SELECT count(*) FROM task_version WHERE branch = 'main'"), 0);

  // Not bringing the task settles it, and the settled violation is listed with its resolution.
  evcs::MergeResult merged = merge_settled(s, {"task", task, "deleted", "ours", nullptr}, "reference");
  EXPECT_TRUE(merged.changes.empty());
  EXPECT_FALSE(s.repository("task").get(task).has_value());
  EXPECT_EQ(merges_of_b(), 1);
}

TEST_F(MergeViolationsTest, AStagedMergeListsAViolationAndReportsAResolutionThatStillBreaksIt) {
  std::string task = task_of_a_project_deleted_on_main();
  auto s = on();
  std::string other = s.repository("project").create({{"title", "other"}}).head_id;
  s.commit("another project");
  evcs::MergeResult started = s.merge_start("b");
  ASSERT_EQ(started.conflicts.size(), 1u);
  EXPECT_EQ(started.conflicts[0].kind, "reference");
  EXPECT_EQ(s.merge_status().unresolved(), 1u);

  // The source's value is the deleted project again: still a violation, reported unsettled.
  s.merge_resolve({{"task", task, "project_id", "theirs", nullptr}});
  evcs::MergeResult status = s.merge_status();
  ASSERT_EQ(status.conflicts.size(), 1u);
  EXPECT_EQ(status.conflicts[0].kind, "reference");
  EXPECT_FALSE(status.conflicts[0].resolution);
  EXPECT_THROW(s.merge_continue(), evcs::MergeConflict);
  EXPECT_EQ(count("SELECT count(*) FROM task_version WHERE branch = 'main'"), 0);

  // A live project settles it (a later resolution of the same field replaces the earlier one).
  s.merge_resolve({{"task", task, "project_id", "value", other}});
  status = s.merge_status();
  ASSERT_EQ(status.conflicts.size(), 1u);
  ASSERT_TRUE(status.conflicts[0].resolution);
  EXPECT_EQ(status.conflicts[0].resolution->take, "value");
  EXPECT_EQ(status.unresolved(), 0u);
  ASSERT_EQ(status.changes.size(), 1u);
  EXPECT_EQ(status.changes[0].fields.at("project_id").new_value, other);
  evcs::MergeResult done = s.merge_continue();
  ASSERT_TRUE(done.commit);
  auto version = s.repository("task").get(task);
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->fields["project_id"], other);
  EXPECT_EQ(version->fields["title"], "t");
}

TEST_F(MergeViolationsTest, ARestrictedDeleteFromTheSourceIsAConflictOfTheDeletedEntity) {
  auto b = on("b");
  b.repository("project").remove(project_);
  b.commit("the project deleted on b");
  auto s = on();
  std::string task =
      s.repository("task").create({{"title", "t"}, {"project_id", project_}}).head_id;
  s.commit("a task of the project on main");
  json expected = violation("referenced", "project", project_, "deleted", "project_id", "task",
                            task);
  json conflict = refused_merge(s, expected);  // the task would point at nothing
  EXPECT_EQ(conflict["base"], false);
  EXPECT_EQ(conflict["ours"], false);
  EXPECT_EQ(conflict["theirs"], true);
  EXPECT_TRUE(s.repository("project").get(project_).has_value());
  EXPECT_EQ(merges_of_b(), 0);

  s.merge_start("b");
  evcs::MergeResult status = s.merge_status();
  ASSERT_EQ(status.conflicts.size(), 1u);
  EXPECT_EQ(without_values(status.conflicts[0].to_json()), expected);
  // Bringing the delete anyway is the same violation again.
  s.merge_resolve({{"project", project_, "deleted", "theirs", nullptr}});
  EXPECT_EQ(s.merge_status().unresolved(), 1u);
  s.merge_resolve({{"project", project_, "deleted", "ours", nullptr}});
  EXPECT_EQ(s.merge_status().unresolved(), 0u);
  evcs::MergeResult done = s.merge_continue();
  ASSERT_TRUE(done.commit) << "the merge still joins the two histories";
  EXPECT_TRUE(s.repository("project").get(project_).has_value());
  EXPECT_TRUE(s.repository("task").get(task).has_value());
}

TEST_F(MergeViolationsTest, TwoBranchesAddingTheSameEmailBreakTheUniqueKey) {
  auto b = on("b");
  std::string theirs = b.repository("person").create({{"email", "new@x"}, {"lo", 0}, {"hi", 0}}).head_id;
  b.commit("new@x on b");
  auto s = on();
  std::string ours = s.repository("person").create({{"email", "new@x"}, {"lo", 0}, {"hi", 0}}).head_id;
  s.commit("new@x on main");
  auto versions = count("SELECT count(*) FROM person_version");
  json expected = violation("unique", "person", theirs, "email", "email", "person", ours);
  json conflict = refused_merge(s, expected);  // two live people would share an email
  EXPECT_EQ(conflict["ours"], nullptr);
  EXPECT_EQ(conflict["theirs"], "new@x");
  EXPECT_EQ(count("SELECT count(*) FROM person_version"), versions);
  EXPECT_EQ(merges_of_b(), 0);
  EXPECT_EQ(without_values(s.merge_preview("b").conflicts.at(0).to_json()), expected);

  s.merge_start("b");
  s.merge_resolve({{"person", theirs, "email", "theirs", nullptr}});
  evcs::MergeResult status = s.merge_status();
  ASSERT_EQ(status.conflicts.size(), 1u);
  EXPECT_FALSE(status.conflicts[0].resolution) << "the same email again is reported again";
  s.merge_resolve({{"person", theirs, "email", "value", "other@x"}});
  EXPECT_EQ(s.merge_status().unresolved(), 0u);
  ASSERT_TRUE(s.merge_continue().commit);
  EXPECT_EQ(s.repository("person").get(theirs)->fields["email"], "other@x");
  EXPECT_EQ(s.repository("person").get(ours)->fields["email"], "new@x");
}

TEST_F(MergeViolationsTest, AFieldLevelMergeOfTwoValidChangesCanBreakACheck) {
  lo_and_hi_crossed();
  auto s = on();
  json expected = violation("check", "person", person_, "lo", "ordered", nullptr, nullptr);
  json conflict = refused_merge(s, expected);  // lo 3 and hi 2 break the check
  EXPECT_EQ(conflict["base"], 1);
  EXPECT_EQ(conflict["ours"], 1);
  EXPECT_EQ(conflict["theirs"], 3);
  EXPECT_EQ(s.repository("person").get(person_)->fields["lo"], 1);
  EXPECT_EQ(merges_of_b(), 0);

  evcs::MergeResult preview = s.merge_preview("b");
  ASSERT_EQ(preview.conflicts.size(), 1u);
  EXPECT_EQ(without_values(preview.conflicts[0].to_json()), expected);

  s.merge_start("b");
  // A value that still breaks the check is reported again; another field may settle it too.
  s.merge_resolve({{"person", person_, "lo", "value", 4}});
  EXPECT_EQ(s.merge_status().unresolved(), 1u);
  s.merge_resolve({{"person", person_, "lo", "value", 2}});
  evcs::MergeResult status = s.merge_status();
  EXPECT_EQ(status.unresolved(), 0u);
  ASSERT_EQ(status.conflicts.size(), 1u);
  EXPECT_EQ(status.conflicts[0].kind, "check");
  ASSERT_TRUE(s.merge_continue().commit);
  auto merged = s.repository("person").get(person_);
  EXPECT_EQ(merged->fields["lo"], 2);
  EXPECT_EQ(merged->fields["hi"], 2);
}

TEST_F(MergeViolationsTest, ResolutionsGivenToMergeSettleViolationsAndMustMeetOne) {
  lo_and_hi_crossed();
  auto s = on();
  merge_settled(s, {"person", person_, "hi", "theirs", nullptr}, "check");
  EXPECT_EQ(s.repository("person").get(person_)->fields["hi"], 5);
  EXPECT_EQ(s.repository("person").get(person_)->fields["lo"], 3);

  // A resolution for an entity without a violation meets nothing.
  auto c = on("b");
  c.repository("person").update(person_, {{"email", "b@x"}});
  c.commit("email on b");
  evcs::MergeOptions options;
  options.resolutions = {{"project", project_, "title", "ours", nullptr}};
  EXPECT_THROW(s.merge_preview("b", options), evcs::InvalidArgument);
  EXPECT_THROW(s.merge("b", options), evcs::InvalidArgument);
}

TEST_F(MergeViolationsTest, EveryViolationIsListedAtOnce) {
  std::string task = task_of_a_project_deleted_on_main();
  lo_and_hi_crossed();
  auto b = on("b");
  std::string theirs = b.repository("person").create({{"email", "new@x"}}).head_id;
  b.commit("new@x on b");
  auto s = on();
  s.repository("person").create({{"email", "new@x"}});
  s.commit("new@x on main");
  evcs::MergeResult preview = s.merge_preview("b");
  std::set<std::string> kinds;
  for (const auto &conflict : preview.conflicts) kinds.insert(conflict.kind + " " + conflict.head_id);
  EXPECT_EQ(kinds, (std::set<std::string>{"check " + person_, "unique " + theirs,
                                          "reference " + task}));
  EXPECT_EQ(preview.unresolved(), 3u);
}

TEST_F(MergeViolationsTest, MergesOfTypesWithoutRulesAreUnchanged) {
  auto s = on();
  s.create_entity_type("plain", {{"n", "int"}});
  s.commit();
  std::string entity = s.repository("plain").create({{"n", 1}}).head_id;
  s.commit();
  s.create_branch("c");
  s.commit();
  auto c = on("c");
  c.repository("plain").update(entity, {{"n", 2}});
  c.commit();
  evcs::MergeResult merged = s.merge("c");
  ASSERT_TRUE(merged.commit);
  EXPECT_TRUE(merged.conflicts.empty());
  EXPECT_EQ(s.repository("plain").get(entity)->fields["n"], 2);
}

}  // namespace
