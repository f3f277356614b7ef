// Reads across relations: find with include loads related entities in one query per relation,
// both directions, on the same branch as of the same instant.
#include "evcs/evcs.hpp"
#include "engine_test.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace {

using json = nlohmann::json;

class IncludeTest : public evcs_test::EngineTest<IncludeTest> {
public:
  static constexpr const char *database = "core_include";

protected:
  void SetUp() override {
    open_empty();
    auto s = engine_->session();
    s.create_entity_type("person", {{"email", "text"}});
    s.create_entity_type("project", {{"name", "text"}});
    s.create_entity_type("task", {{"title", "text"},
                                  {"project_id", "uuid not null", "project", "cascade"},
                                  {"owner", "", "person", "set null"},
                                  {"reviewer", "", "person", "set null"}});
    s.commit();
    ada_ = s.repository("person").create({{"email", "ada@x"}}).head_id;
    apollo_ = s.repository("project").create({{"name", "apollo"}}).head_id;
    gemini_ = s.repository("project").create({{"name", "gemini"}}).head_id;
    empty_ = s.repository("project").create({{"name", "empty"}}).head_id;
    auto tasks = s.repository("task");
    for (const char *title : {"a1", "a2", "a3"})
      tasks.create({{"title", title}, {"project_id", apollo_}, {"owner", ada_}});
    tasks.create({{"title", "g1"}, {"project_id", gemini_}});
    s.commit("three projects, four tasks");
    before_ = s.commit_log().front().stamp;
  }

  evcs::Session on(const std::string &branch = "main") { return engine_->session(branch, "t"); }

  // Per project name: its tasks' titles (sorted by head id, as loaded).
  static std::map<std::string, std::vector<std::string>> titles(
      const std::vector<evcs::Version> &projects, const std::string &relation = "tasks") {
    std::map<std::string, std::vector<std::string>> by_name;
    for (const auto &project : projects) {
      const evcs::IncludedRelation *tasks = project.relation(relation);
      EXPECT_NE(tasks, nullptr);
      EXPECT_FALSE(tasks->to_one);
      EXPECT_EQ(tasks->entity_type, "task");
      auto &list = by_name[project.fields["name"].get<std::string>()];
      for (const auto &task : tasks->versions) {
        EXPECT_EQ(task.fields["project_id"], project.head_id);
        list.push_back(task.fields["title"].get<std::string>());
      }
      std::sort(list.begin(), list.end());
    }
    return by_name;
  }

  std::string ada_, apollo_, gemini_, empty_;
  std::int64_t before_ = 0;
};

TEST_F(IncludeTest, OneToManyLoadsEachProjectsTasks) {
  auto s = on();
  evcs::FindOptions options;
  options.include = {"tasks"};
  auto projects = s.repository("project").find(options);
  using Titles = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(titles(projects),
            (Titles{{"apollo", {"a1", "a2", "a3"}}, {"gemini", {"g1"}}, {"empty", {}}}));
  // Every name of the relation reads the same.
  for (const char *name : {"task", "task.project_id"}) {
    options.include = {name};
    EXPECT_EQ(titles(s.repository("project").find(options), name), titles(projects));
  }
}

TEST_F(IncludeTest, ManyToOneLoadsTheReferredEntityOrNothing) {
  auto s = on();
  evcs::FindOptions options;
  options.include = {"project", "owner"};
  options.order_by = {"title"};
  auto tasks = s.repository("task").find(options);
  ASSERT_EQ(tasks.size(), 4u);
  for (const auto &task : tasks) {
    const evcs::IncludedRelation *project = task.relation("project");
    ASSERT_NE(project, nullptr);
    EXPECT_TRUE(project->to_one);
    ASSERT_EQ(project->versions.size(), 1u);
    EXPECT_EQ(project->versions[0].head_id, task.fields["project_id"]);
    const evcs::IncludedRelation *owner = task.relation("owner");
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(owner->versions.size(), task.fields["owner"].is_null() ? 0u : 1u);
  }
  EXPECT_EQ(tasks[0].relation("project")->versions[0].fields["name"], "apollo");
  EXPECT_EQ(tasks[0].relation("owner")->versions[0].fields["email"], "ada@x");
  EXPECT_EQ(tasks[3].relation("project")->versions[0].fields["name"], "gemini");
  EXPECT_EQ(tasks[0].relation("reviewer"), nullptr);
}

TEST_F(IncludeTest, RelatedEntitiesAreReadAsOfTheSameInstant) {
  auto s = on();
  auto projects = s.repository("project");
  projects.update(apollo_, {{"name", "apollo 2"}});
  s.repository("task").create({{"title", "a4"}, {"project_id", apollo_}});
  s.repository("project").remove(gemini_);  // cascades to g1
  s.commit("later");
  evcs::FindOptions options;
  options.include = {"tasks"};
  options.as_of = before_;
  using Titles = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(titles(projects.find(options)),
            (Titles{{"apollo", {"a1", "a2", "a3"}}, {"gemini", {"g1"}}, {"empty", {}}}));
  options.as_of.reset();
  EXPECT_EQ(titles(projects.find(options)),
            (Titles{{"apollo 2", {"a1", "a2", "a3", "a4"}}, {"empty", {}}}));
  // As of a commit, and a task's project as it was then.
  evcs::FindOptions task_options;
  task_options.include = {"project"};
  task_options.as_of = before_;
  task_options.where = {{"title", "a1"}};
  auto a1 = s.repository("task").find(task_options);
  ASSERT_EQ(a1.size(), 1u);
  EXPECT_EQ(a1[0].relation("project")->versions[0].fields["name"], "apollo");
}

TEST_F(IncludeTest, ABranchIncludesItsOwnState) {
  auto s = on();
  s.create_branch("b");
  s.commit();
  auto b = on("b");
  b.repository("task").create({{"title", "e1"}, {"project_id", empty_}});
  b.repository("project").update(apollo_, {{"name", "apollo on b"}});
  b.commit("work on b");
  evcs::FindOptions options;
  options.include = {"tasks"};
  options.branch = "b";
  using Titles = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(titles(s.repository("project").find(options)),
            (Titles{{"apollo on b", {"a1", "a2", "a3"}}, {"gemini", {"g1"}}, {"empty", {"e1"}}}));
  options.branch.reset();
  EXPECT_EQ(titles(s.repository("project").find(options))["empty"], std::vector<std::string>{});
}

TEST_F(IncludeTest, PagesIncludeTheirRowsRelationsAtThePinnedInstant) {
  auto s = on();
  evcs::FindOptions options;
  options.include = {"tasks"};
  options.order_by = {"name"};
  options.limit = 2;
  auto first = s.repository("project").find_page(options);
  ASSERT_TRUE(first.cursor);
  // A commit between the pages: the second page still reads the first one's instant.
  auto writer = on();
  writer.repository("task").create({{"title", "g2"}, {"project_id", gemini_}});
  writer.commit("a task after the first page");
  options.after = first.cursor;
  auto second = s.repository("project").find_page(options);
  using Titles = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(titles(first.versions), (Titles{{"apollo", {"a1", "a2", "a3"}}, {"empty", {}}}));
  EXPECT_EQ(titles(second.versions), (Titles{{"gemini", {"g1"}}}));
}

TEST_F(IncludeTest, AnOpenTransactionSeesItsOwnWrites) {
  auto s = on();
  s.begin();
  s.repository("task").create({{"title", "e1"}, {"project_id", empty_}});
  evcs::FindOptions options;
  options.include = {"tasks"};
  options.where = {{"name", "empty"}};
  auto projects = s.repository("project").find(options);
  ASSERT_EQ(projects.size(), 1u);
  EXPECT_EQ(titles(projects)["empty"], std::vector<std::string>{"e1"});
  s.rollback();
}

TEST_F(IncludeTest, TheJsonOfAPageCarriesTheRelations) {
  auto s = on();
  evcs::FindOptions options;
  options.include = {"project"};
  options.where = {{"title", "g1"}};
  json page = json::parse(s.repository("task").find_page_json(options));
  EXPECT_EQ(page["relations"], json::parse(R"({"project": {"entity_type": "project", "to_one": true}})"));
  ASSERT_EQ(page["versions"].size(), 1u);
  EXPECT_EQ(page["versions"][0]["included"]["project"][0]["fields"]["name"], "gemini");
  // The records written from Versions say the same.
  auto versions = s.repository("task").find(options);
  EXPECT_EQ(json::parse(versions[0].to_json_text())["included"], page["versions"][0]["included"]);
  // Without include, nothing changes.
  options.include.clear();
  EXPECT_FALSE(json::parse(s.repository("task").find_page_json(options)).contains("relations"));
}

TEST_F(IncludeTest, UnknownAndAmbiguousRelationsAreRefusedClearly) {
  auto s = on();
  evcs::FindOptions options;
  options.include = {"nope"};
  try {
    s.repository("project").find(options);
    FAIL();
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_STREQ(error.what(), "entity type 'project' has no relation 'nope' (relations: "
                               "task.project_id)");
  }
  options.include = {"persons"};
  try {
    s.repository("person").find(options);
    FAIL();
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_STREQ(error.what(), "entity type 'person' has no relation 'persons' (relations: "
                               "task.owner, task.reviewer)");
  }
  options.include = {"tasks"};
  try {
    s.repository("person").find(options);
    FAIL();
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_STREQ(error.what(), "the relation 'tasks' of entity type 'person' is ambiguous: task "
                               "refers to it through 2 fields; name one as 'task.owner'");
  }
  options.include = {"task.reviewer"};
  EXPECT_EQ(s.repository("person").find(options).at(0).relation("task.reviewer")->versions.size(),
            0u);
}

TEST_F(IncludeTest, FiltersNameRelatedFieldsInBothDirections) {
  auto s = on();
  evcs::FindOptions options;
  options.where = {{"project.name", "apollo"}};
  options.order_by = {"title"};
  std::vector<std::string> found;
  for (const auto &task : s.repository("task").find(options))
    found.push_back(task.fields["title"].get<std::string>());
  EXPECT_EQ(found, (std::vector<std::string>{"a1", "a2", "a3"}));
  // One-to-many: the projects some task of which matches.
  evcs::FindOptions projects;
  projects.where = {{"tasks.title", {{"in", {"g1", "zz"}}}}};
  auto matching = s.repository("project").find(projects);
  ASSERT_EQ(matching.size(), 1u);
  EXPECT_EQ(matching[0].fields["name"], "gemini");
  EXPECT_EQ(s.repository("project").count(projects), 1);
  projects.where = {{"not", {{"task.title", {{"like", "%"}}}}}};
  auto without_tasks = s.repository("project").find(projects);
  ASSERT_EQ(without_tasks.size(), 1u);
  EXPECT_EQ(without_tasks[0].fields["name"], "empty");
  // As of an instant: the related entities as they were then.
  s.repository("project").update(apollo_, {{"name", "apollo 2"}});
  s.commit("rename");
  EXPECT_EQ(s.repository("task").count(options), 0);
  options.as_of = before_;
  EXPECT_EQ(s.repository("task").count(options), 3);
  // A deleted related entity matches nothing.
  options.as_of.reset();
  options.where = {{"owner.email", "ada@x"}};
  EXPECT_EQ(s.repository("task").count(options), 3);
  s.repository("person").remove(ada_);
  s.commit("ada leaves");
  EXPECT_EQ(s.repository("task").count(options), 0);
}

TEST_F(IncludeTest, OrderByAManyToOneFieldPagesWithCursors) {
  auto s = on();
  auto tasks = s.repository("task");
  tasks.create({{"title", "e1"}, {"project_id", empty_}});
  s.commit("a task of the empty project");
  evcs::FindOptions options;
  options.order_by = {"-project.name", "title"};
  options.include = {"project"};
  options.limit = 2;
  std::vector<std::string> walked;
  for (;;) {
    auto page = tasks.find_page(options);
    for (const auto &task : page.versions)
      walked.push_back(task.relation("project")->versions.at(0).fields["name"].get<std::string>() +
                       "/" + task.fields["title"].get<std::string>());
    if (!page.cursor) break;
    options.after = page.cursor;
  }
  EXPECT_EQ(walked, (std::vector<std::string>{"gemini/g1", "empty/e1", "apollo/a1", "apollo/a2",
                                              "apollo/a3"}));
  options.after.reset();
  options.include.clear();
  options.order_by = {"tasks.title"};
  try {
    s.repository("project").find(options);
    FAIL();
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_STREQ(error.what(), "order_by cannot name 'tasks.title': 'tasks' is a one-to-many "
                               "relation (many values per entity)");
  }
}

} // namespace
