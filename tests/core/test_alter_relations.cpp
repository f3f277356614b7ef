// Relation changes of existing entity types (migrations/0007): a reference added to a column
// with data, dropped, its on_delete changed; unique keys and checks added and dropped. A rule
// the data already breaks is refused, naming the entity, and changes nothing.
#include "evcs/evcs.hpp"
#include "engine_test.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace {

using json = nlohmann::json;

class AlterRelations : public evcs_test::EngineTest<AlterRelations> {
public:
  static constexpr const char *database = "core_alter_relations";

protected:
  void SetUp() override {
    open_empty();
    auto s = engine_->session();
    s.create_entity_type("project", {{"title", "text"}});
    s.create_entity_type("task", {{"title", "text"}, {"project_id", "uuid"}, {"qty", "int"}});
    s.commit();
    project_ = s.repository("project").create({{"title", "p"}}).head_id;
    task_ = s.repository("task")
                .create({{"title", "t"}, {"project_id", project_}, {"qty", 1}})
                .head_id;
    s.commit("a project and its task");
  }

  evcs::Session on(const std::string &branch = "main") { return engine_->session(branch, "tester"); }

  std::string scalar(const std::string &sql) {
    auto s = on();
    return s.scalar<std::string>(sql).value_or("NULL");
  }

  // The IntegrityError message `change` raises; the session's transaction is rolled back.
  std::string refusal(evcs::Session &s, const std::function<void()> &change) {
    try {
      change();
    } catch (const evcs::IntegrityError &error) {
      s.rollback();
      return error.what();
    }
    ADD_FAILURE() << "the change was not refused";
    return "";
  }

  std::string project_, task_;
};


bool starts_with(const std::string &text, const std::string &prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

TEST_F(AlterRelations, AReferenceAddedToAColumnWithDataIsHeldFromThen) {
  auto s = on();
  s.add_reference("task", "project_id", "project", "cascade");
  s.commit();
  EXPECT_EQ(json::parse(scalar("SELECT columns::text FROM evcs_entity_type WHERE name = 'task'")),
            json::parse(R"([{"name": "title", "type": "text"},
                            {"name": "project_id", "type": "uuid", "references": "project",
                             "on_delete": "cascade"},
                            {"name": "qty", "type": "int"}])"));
  auto fields = s.repository("task").fields();
  EXPECT_EQ(fields[1].references, "project");
  EXPECT_EQ(fields[1].on_delete, "cascade");
  EXPECT_EQ(scalar("SELECT conname::text FROM pg_constraint WHERE conrelid = "
                   "'task_version'::regclass AND contype = 'f' AND conname <> "
                   "'task_version_head_id_fkey'"),
            "task_project_id_fkey");
  EXPECT_EQ(scalar("SELECT to_regclass('task_version_project_id')::text"), "task_version_project_id");
  // The delete of the project now cascades to its task, in the same commit.
  s.repository("project").remove(project_);
  s.commit("the project goes");
  EXPECT_FALSE(s.repository("task").get(task_).has_value());
  // And a dangling reference is refused at commit.
  auto gone = project_;
  std::string message = refusal(s, [&] {
    s.repository("task").create({{"title", "late"}, {"project_id", gone}});
    s.commit();
  });
  EXPECT_NE(message.find("refers to project " + gone + " (field project_id)"), std::string::npos)
      << message;
}

TEST_F(AlterRelations, AReferenceADanglingLiveEntityBreaksIsRefusedNamingIt) {
  auto s = on();
  s.create_branch("feature");
  s.commit();
  auto feature = on("feature");
  feature.repository("project").remove(project_);
  feature.commit("the project goes on the branch only");
  std::string message = refusal(s, [&] { s.add_reference("task", "project_id", "project"); });
  EXPECT_TRUE(starts_with(message, "cannot make task.project_id refer to project: task " + task_ +
                                       " on branch \"feature\" refers to project " + project_ +
                                       " (field project_id), which is deleted or absent there"))
      << message;
  // Nothing changed, and the session goes on.
  EXPECT_EQ(scalar("SELECT columns -> 1 ->> 'references' FROM evcs_entity_type WHERE name = 'task'"),
            "NULL");
  EXPECT_EQ(scalar("SELECT count(*)::text FROM evcs_relation_queue"), "0");
  // Once the branch's task goes too, the reference can be added.
  feature.repository("task").remove(task_);
  feature.commit();
  s.add_reference("task", "project_id", "project");
  s.commit();
  EXPECT_EQ(scalar("SELECT columns -> 1 ->> 'references' FROM evcs_entity_type WHERE name = 'task'"),
            "project");
  EXPECT_EQ(scalar("SELECT count(*)::text FROM evcs_relation_queue"), "0");
}

TEST_F(AlterRelations, AReferenceAVersionsValueBreaksIsRefusedNamingTheVersion) {
  auto s = on();
  const std::string nowhere = "00000000-0000-4000-8000-000000000001";
  s.repository("task").update(task_, {{"project_id", nowhere}});
  s.commit("points at nothing");
  s.repository("task").update(task_, {{"project_id", project_}});
  s.commit("fixed, but history keeps it");
  std::string message = refusal(s, [&] { s.add_reference("task", "project_id", "project"); });
  EXPECT_TRUE(starts_with(message, "cannot make task.project_id refer to project: version 2 of "
                                       "task " + task_ + " on branch \"main\" holds " + nowhere +
                                       ", which is no project at all"))
      << message;
}

TEST_F(AlterRelations, ANewReferencingColumnIsAColumnAndAReference) {
  auto s = on();
  s.add_column("task", {"parent_id", "", "task", "set null"});
  s.commit();
  auto fields = s.repository("task").fields();
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[3].type, "uuid");
  EXPECT_EQ(fields[3].references, "task");
  EXPECT_EQ(fields[3].on_delete, "set null");
  auto child = s.repository("task").create({{"title", "child"}, {"parent_id", task_}}).head_id;
  s.commit();
  s.repository("task").remove(task_);
  s.commit();
  EXPECT_EQ(s.repository("task").get(child)->fields["parent_id"], nullptr);
}

TEST_F(AlterRelations, ADroppedReferenceKeepsTheColumnAndItsValues) {
  auto s = on();
  s.add_reference("task", "project_id", "project");
  s.commit();
  s.drop_reference("task", "project_id");
  s.commit();
  EXPECT_EQ(scalar("SELECT columns -> 1 FROM evcs_entity_type WHERE name = 'task'"),
            R"({"name": "project_id", "type": "uuid"})");
  EXPECT_EQ(scalar("SELECT count(*)::text FROM pg_constraint WHERE conrelid = "
                   "'task_version'::regclass AND contype = 'f' AND conname <> "
                   "'task_version_head_id_fkey'"), "0");
  EXPECT_EQ(scalar("SELECT coalesce(to_regclass('task_version_project_id')::text, 'none')"), "none");
  // The project can go; the task keeps pointing at it.
  s.repository("project").remove(project_);
  s.commit();
  EXPECT_EQ(s.repository("task").get(task_)->fields["project_id"], project_);
}

TEST_F(AlterRelations, AlterReferenceChangesWhatADeleteDoes) {
  auto s = on();
  s.add_reference("task", "project_id", "project");
  s.commit();
  std::string message = refusal(s, [&] {
    s.repository("project").remove(project_);
    s.commit();
  });
  EXPECT_NE(message.find("still refers to it (field project_id)"), std::string::npos) << message;
  s.alter_reference("task", "project_id", "set null");
  s.commit();
  EXPECT_EQ(scalar("SELECT columns -> 1 ->> 'on_delete' FROM evcs_entity_type WHERE name = 'task'"),
            "set null");
  s.repository("project").remove(project_);
  s.commit();
  EXPECT_EQ(s.repository("task").get(task_)->fields["project_id"], nullptr);
}

TEST_F(AlterRelations, AUniqueKeyTheLiveEntitiesBreakIsRefusedNamingThem) {
  auto s = on();
  auto twin = s.repository("task").create({{"title", "t"}}).head_id;
  s.commit("two tasks titled t");
  std::string message = refusal(s, [&] { s.add_unique_key("task", {"title"}); });
  EXPECT_NE(message.find("cannot add the unique key (title) to task: task "), std::string::npos)
      << message;
  EXPECT_NE(message.find("on branch \"main\" have the same title"), std::string::npos) << message;
  EXPECT_NE(message.find(task_), std::string::npos) << message;
  EXPECT_NE(message.find(twin), std::string::npos) << message;
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"), "{}");
  // A deleted entity no longer clashes: history is not constrained.
  s.repository("task").remove(twin);
  s.commit();
  s.add_unique_key("task", {"title"});
  s.add_unique_key("task", {"project_id", "qty"});
  s.commit();
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"),
            R"({"unique": [["title"], ["project_id", "qty"]]})");
  EXPECT_EQ(scalar("SELECT to_regclass('task_version_key_project_id_qty')::text"),
            "task_version_key_project_id_qty");
  message = refusal(s, [&] {
    s.repository("task").create({{"title", "t"}});
    s.commit();
  });
  EXPECT_NE(message.find("have the same title"), std::string::npos) << message;
  s.drop_unique_key("task", {"title"});
  s.commit();
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"),
            R"({"unique": [["project_id", "qty"]]})");
  s.repository("task").create({{"title", "t"}});
  s.commit("a second t is fine again");
  s.drop_unique_key("task", {"project_id", "qty"});
  s.commit();
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"), "{}");
}

TEST_F(AlterRelations, ACheckAVersionBreaksIsRefusedHistoryIncluded) {
  auto s = on();
  s.repository("task").update(task_, {{"qty", 0}});
  s.commit();
  s.repository("task").update(task_, {{"qty", 5}});
  s.commit("back to a positive qty; version 2 keeps 0");
  std::string message = refusal(s, [&] { s.add_check("task", "positive_qty", "qty > 0"); });
  EXPECT_TRUE(starts_with(message, "cannot add the check positive_qty to task: version 2 of task " +
                                       task_ + " on branch \"main\" breaks it (qty > 0)"))
      << message;
  s.add_check("task", "sane_qty", "qty >= 0");
  s.commit();
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"),
            R"({"checks": {"sane_qty": "qty >= 0"}})");
  message = refusal(s, [&] { s.repository("task").update(task_, {{"qty", -1}}); });
  EXPECT_NE(message.find("task_check_sane_qty"), std::string::npos) << message;
  s.drop_check("task", "sane_qty");
  s.commit();
  EXPECT_EQ(scalar("SELECT constraints::text FROM evcs_entity_type WHERE name = 'task'"), "{}");
  s.repository("task").update(task_, {{"qty", -1}});
  s.commit("allowed again");
}

TEST_F(AlterRelations, BadChangesAreRefusedClearlyAndLeaveTheSessionUsable) {
  auto s = on();
  EXPECT_THROW(s.add_reference("task", "nowhere", "project"), evcs::NotFound);
  EXPECT_THROW(s.add_reference("nothing", "project_id", "project"), evcs::NotFound);
  EXPECT_THROW(s.add_reference("task", "title", "project"), evcs::InvalidArgument);
  EXPECT_THROW(s.add_reference("task", "project_id", "project", "explode"), evcs::InvalidArgument);
  EXPECT_THROW(s.drop_reference("task", "project_id"), evcs::InvalidArgument);
  EXPECT_THROW(s.alter_reference("task", "project_id", "cascade"), evcs::InvalidArgument);
  EXPECT_THROW(s.add_unique_key("task", {}), evcs::InvalidArgument);
  EXPECT_THROW(s.add_unique_key("task", {"nowhere"}), evcs::NotFound);
  EXPECT_THROW(s.drop_unique_key("task", {"title"}), evcs::NotFound);
  EXPECT_THROW(s.add_check("task", "Bad Name", "qty > 0"), evcs::InvalidArgument);
  EXPECT_THROW(s.add_check("task", "c", "qty > 0; DROP TABLE task"), evcs::InvalidArgument);
  EXPECT_THROW(s.drop_check("task", "c"), evcs::NotFound);
  s.add_reference("task", "project_id", "project");
  EXPECT_THROW(s.add_reference("task", "project_id", "project"), evcs::InvalidArgument);
  s.add_unique_key("task", {"title"});
  s.add_check("task", "c", "qty > 0");
  s.commit();
  // The SQL functions refuse what the session would, for steps written by hand.
  auto expect_sql_error = [&](const std::string &sql, const std::string &sqlstate) {
    try {
      s.execute(sql);
      ADD_FAILURE() << sql << " was accepted";
    } catch (const evcs::Error &error) {
      EXPECT_EQ(error.sqlstate(), sqlstate) << sql << ": " << error.what();
    }
    s.rollback();
  };
  expect_sql_error("SELECT evcs_add_unique_key('task', ARRAY['qty', 'title', 'qty'])", "EVI01");
  expect_sql_error("SELECT evcs_add_unique_key('task', ARRAY['title'])", "EVI01");
  expect_sql_error("SELECT evcs_drop_unique_key('task', ARRAY['qty'])", "EVN01");
  expect_sql_error("SELECT evcs_add_check('task', 'c', 'qty > 1')", "EVI01");
  expect_sql_error("SELECT evcs_drop_check('task', 'd')", "EVN01");
  expect_sql_error("SELECT evcs_alter_reference('task', 'project_id', 'sideways')", "EVI01");
  expect_sql_error("SELECT evcs_add_reference('task', 'qty', 'project')", "EVI01");
  expect_sql_error("SELECT evcs_add_reference('task', 'head_id', 'project')", "EVI01");
}

}  // namespace
