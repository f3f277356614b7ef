// Typed access: structs mapped to entity types with EVCS_ENTITY, every column type docs/versioning.md lists
// round-tripping through TypedRepository, and the errors for values that do not fit.
#include "evcs/evcs.hpp"
#include "test_database.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

struct Project {
  std::string name;
  std::int32_t count = 0;
  std::int64_t big = 0;
  evcs::Numeric budget;
  double ratio = 0;
  bool active = false;
  nlohmann::json meta;
  evcs::Uuid ref;
  evcs::Timestamp due;
  std::vector<std::string> tags;
  std::optional<std::string> note;
  std::optional<evcs::Numeric> cap;
};
EVCS_ENTITY(Project, "typed_project", name, count, big, budget, ratio, active, meta, ref, due, tags,
            note, cap)

// Reads a nullable field into a member that cannot hold NULL.
struct StrictNote {
  std::string note;
};
EVCS_ENTITY(StrictNote, "typed_project", note)

// Reads a bigint field into an int32 member.
struct NarrowBig {
  std::int32_t big = 0;
};
EVCS_ENTITY(NarrowBig, "typed_project", big)

struct Ghost {
  std::string nope;
};
EVCS_ENTITY(Ghost, "typed_project", nope)

namespace shop {

struct Order {
  std::string item;
  std::optional<std::int32_t> quantity;
};
EVCS_ENTITY(Order, "shop_order", item, quantity)

// A member named differently from its field: the description written out by hand.
struct Label {
  std::string title;
};
inline auto evcs_entity_description(const Label *) {
  return evcs::describe_entity<Label>("shop_order", evcs::field("item", &Label::title));
}

} // namespace shop

static_assert(evcs::is_field_type_v<std::string>);
static_assert(evcs::is_field_type_v<std::int32_t>);
static_assert(evcs::is_field_type_v<std::int64_t>);
static_assert(evcs::is_field_type_v<double>);
static_assert(evcs::is_field_type_v<bool>);
static_assert(evcs::is_field_type_v<evcs::Numeric>);
static_assert(evcs::is_field_type_v<evcs::Uuid>);
static_assert(evcs::is_field_type_v<evcs::Timestamp>);
static_assert(evcs::is_field_type_v<nlohmann::json>);
static_assert(evcs::is_field_type_v<std::vector<std::string>>);
static_assert(evcs::is_field_type_v<std::vector<std::optional<std::string>>>);
static_assert(evcs::is_field_type_v<std::optional<std::vector<std::string>>>);
static_assert(!evcs::is_field_type_v<float>);
static_assert(!evcs::is_field_type_v<char>);
static_assert(!evcs::is_field_type_v<std::vector<int>>);
static_assert(!evcs::is_field_type_v<std::optional<float>>);
static_assert(!evcs::is_field_type_v<Project>);

namespace {

class TypedTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { url_ = new std::string(evcs_test::fresh_database("core_typed")); }
  static void TearDownTestSuite() { delete url_; }

  void SetUp() override {
    evcs::EngineOptions options;
    options.url = *url_;
    engine_ = std::make_unique<evcs::Engine>(options);
    auto s = engine_->session();
    s.execute("DROP SCHEMA public CASCADE");
    s.execute("CREATE SCHEMA public");
    s.commit();
    s.create_entity_type("typed_project",
                         {{"name", "text not null"}, {"count", "integer"}, {"big", "bigint"},
                          {"budget", "numeric(14,2)"}, {"ratio", "double precision"},
                          {"active", "boolean"}, {"meta", "jsonb"}, {"ref", "uuid"},
                          {"due", "timestamptz"}, {"tags", "text[]"}, {"note", "text"},
                          {"cap", "numeric"}});
    s.create_entity_type("shop_order", {{"item", "text not null"}, {"quantity", "integer"}});
    s.commit();
  }

  static Project bridge() {
    Project project;
    project.name = "bridge";
    project.count = -2147483647 - 1;
    project.big = 9007199254740993;
    project.budget = {"1000.50"};
    project.ratio = 0.25;
    project.active = true;
    project.meta = {{"k", {1, 2}}, {"s", "x"}};
    project.ref = {"8d2c0b1e-5d4f-4c1a-9a51-2f3b8c7d6e10"};
    project.due = {1700000000123456};
    project.tags = {"a", "b c", ""};
    return project;
  }

  static std::string *url_;
  std::unique_ptr<evcs::Engine> engine_;
};

std::string *TypedTest::url_ = nullptr;

TEST_F(TypedTest, EveryColumnTypeRoundTripsAsItsMemberType) {
  auto s = engine_->session("main", "alice");
  evcs::TypedRepository<Project> projects(s);
  auto created = projects.create(bridge());
  s.commit();
  EXPECT_EQ(created.version.version, 1);
  EXPECT_EQ(created.version.author, "alice");
  EXPECT_EQ(created->name, "bridge");

  auto read = projects.get(created.version.head_id);
  ASSERT_TRUE(read.has_value());
  const Project &project = read->value;
  EXPECT_EQ(project.name, "bridge");
  EXPECT_EQ(project.count, -2147483647 - 1);
  EXPECT_EQ(project.big, 9007199254740993);
  EXPECT_EQ(project.budget, evcs::Numeric{"1000.50"});
  EXPECT_EQ(project.ratio, 0.25);
  EXPECT_TRUE(project.active);
  EXPECT_EQ(project.meta, (nlohmann::json{{"k", {1, 2}}, {"s", "x"}}));
  EXPECT_EQ(project.ref, evcs::Uuid{"8d2c0b1e-5d4f-4c1a-9a51-2f3b8c7d6e10"});
  EXPECT_EQ(project.due, evcs::Timestamp{1700000000123456});
  EXPECT_EQ(project.tags, (std::vector<std::string>{"a", "b c", ""}));
  EXPECT_EQ(project.note, std::nullopt);
  EXPECT_EQ(project.cap, std::nullopt);
  EXPECT_EQ(read->version.fields["budget"], "1000.50") << "the raw fields stay reachable";
  EXPECT_FALSE(read->version.valid_to.has_value());
  EXPECT_LT(read->version.valid_from, INT64_MAX);
}

TEST_F(TypedTest, UpdatesHistoryTimeTravelAndFind) {
  auto s = engine_->session("main", "alice");
  evcs::TypedRepository<Project> projects(s);
  auto project = bridge();
  std::string head = projects.create(project).version.head_id;
  s.commit();
  std::int64_t first = projects.get(head)->version.valid_from;

  project.budget = {"7"};
  project.note = "raised";
  project.cap = evcs::Numeric{"12.345"};
  auto updated = projects.update(head, project, 1);
  s.commit();
  EXPECT_EQ(updated.version.version, 2);
  EXPECT_EQ(updated->budget, evcs::Numeric{"7.00"}) << "as the column's scale stores it";
  EXPECT_EQ(updated->note, "raised");
  EXPECT_EQ(updated->cap, evcs::Numeric{"12.345"});
  EXPECT_THROW(projects.update(head, project, 1), evcs::ConcurrentModification);
  s.rollback();

  auto history = projects.history(head);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]->budget, evcs::Numeric{"1000.50"});
  EXPECT_EQ(history[1]->budget, evcs::Numeric{"7.00"});
  const auto &changed = history[1].version.changed;
  EXPECT_EQ(std::set<std::string>(changed.begin(), changed.end()),
            (std::set<std::string>{"budget", "cap", "note"}));
  EXPECT_EQ(projects.get(head, first)->value.note, std::nullopt) << "as of the first version";

  auto other = bridge();
  other.name = "road";
  other.active = false;
  projects.create(other);
  s.commit();
  evcs::FindOptions active;
  active.where = {{"active", true}};
  auto found = projects.find(active);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]->name, "bridge");
  evcs::FindOptions by_name;
  by_name.order_by = {"-name"};
  auto all = projects.find(by_name);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "road");

  auto removed = projects.remove(head);
  s.commit();
  EXPECT_TRUE(removed.version.deleted);
  EXPECT_FALSE(projects.get(head).has_value());
  EXPECT_EQ(projects.untyped().history(head).size(), 3u);
}

TEST_F(TypedTest, StructsInANamespaceAndRenamedMembers) {
  auto s = engine_->session();
  evcs::TypedRepository<shop::Order> orders(s);
  auto order = orders.create({"bolts", 40});
  auto without_quantity = orders.create({"nuts", std::nullopt});
  s.commit();
  EXPECT_EQ(orders.get(order.version.head_id)->value.quantity, 40);
  EXPECT_EQ(orders.get(without_quantity.version.head_id)->value.quantity, std::nullopt);
  EXPECT_EQ(evcs::EntityMapping<shop::Order>::to_fields({"x", 3}),
            (nlohmann::json{{"item", "x"}, {"quantity", 3}}));

  evcs::TypedRepository<shop::Label> labels(s);
  EXPECT_EQ(labels.get(order.version.head_id)->value.title, "bolts");
  labels.update(order.version.head_id, {"washers"});
  s.commit();
  auto after = orders.get(order.version.head_id);
  EXPECT_EQ(after->value.item, "washers");
  EXPECT_EQ(after->value.quantity, 40) << "a write sets only the mapped fields";
}

template <typename Operation>
void expect_invalid_argument(Operation operation, const char *message) {
  try {
    operation();
    ADD_FAILURE() << "expected InvalidArgument: " << message;
  } catch (const evcs::InvalidArgument &error) {
    EXPECT_STREQ(error.what(), message);
  }
}

TEST_F(TypedTest, ValuesThatDoNotFitTheirMemberAreInvalidArgument) {
  auto s = engine_->session();
  evcs::TypedRepository<Project> projects(s);
  auto project = bridge();
  project.big = 5000000000;
  std::string head = projects.create(project).version.head_id;
  s.commit();

  evcs::TypedRepository<StrictNote> strict(s);
  expect_invalid_argument([&] { strict.get(head); },
                          "field 'typed_project.note' is null: declare its member as "
                          "std::optional<text (std::string)> to read SQL NULL");
  evcs::TypedRepository<NarrowBig> narrow(s);
  expect_invalid_argument([&] { narrow.get(head); },
                          "field 'typed_project.big' holds 5000000000, which is not an integer "
                          "(std::int32_t)");
  evcs::TypedRepository<Ghost> ghost(s);
  expect_invalid_argument([&] { ghost.get(head); },
                          "entity type 'typed_project' has no field 'nope', which EVCS_ENTITY "
                          "maps a member to");
  EXPECT_THROW(ghost.create({"boo"}), evcs::InvalidArgument);
  s.rollback();
  EXPECT_EQ(projects.find().size(), 1u) << "nothing was written";

  EXPECT_THROW(evcs::FieldCodec<double>::decode("12abc", "f"), evcs::InvalidArgument);
  EXPECT_EQ(evcs::FieldCodec<double>::decode("12.5", "f"), 12.5);
  EXPECT_THROW(evcs::FieldCodec<std::vector<std::string>>::decode({"a", nullptr}, "f"),
               evcs::InvalidArgument);
  EXPECT_EQ(evcs::FieldCodec<std::vector<std::optional<std::string>>>::decode({"a", nullptr}, "f"),
            (std::vector<std::optional<std::string>>{"a", std::nullopt}));
}

} // namespace

// JSON has no NaN or infinities; they cross it as PostgreSQL's text for them and reach the
// double precision column (and a struct's double) as themselves, on every write path.
TEST_F(TypedTest, NaNAndTheInfinitiesAreStoredAndReadBackAsThemselves) {
  auto s = engine_->session("main", "alice");
  evcs::TypedRepository<Project> projects(s);
  auto repo = s.repository("typed_project");
  auto stored = [&](const std::string &head) {
    return *s.scalar<std::string>("SELECT ratio::text || ' ' || coalesce(meta::text, '') FROM "
                                  "typed_project_version WHERE head_id = $1::uuid AND valid_to "
                                  "IS NULL",
                                  evcs::Params::of(head));
  };
  auto project = bridge();
  project.ratio = std::numeric_limits<double>::quiet_NaN();
  project.meta = {{"x", -std::numeric_limits<double>::infinity()}};
  std::string head = projects.create(project).version.head_id;
  s.commit();
  EXPECT_EQ(stored(head), "NaN {\"x\": \"-Infinity\"}");
  auto read = projects.get(head);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(std::isnan(read->value.ratio));
  EXPECT_EQ(read->version.fields["ratio"], "NaN");
  s.rollback();

  s.set_autocommit(true);
  project.ratio = std::numeric_limits<double>::infinity();
  projects.update(head, project);
  EXPECT_EQ(stored(head), "Infinity {\"x\": \"-Infinity\"}");
  auto updated = repo.update(head, {{"ratio", -std::numeric_limits<double>::infinity()}});
  EXPECT_EQ(updated.fields["ratio"], "-Infinity");
  EXPECT_EQ(stored(head), "-Infinity {\"x\": \"-Infinity\"}");
  EXPECT_EQ(projects.get(head)->value.ratio, -std::numeric_limits<double>::infinity());
  s.set_autocommit(false);

  auto created = repo.create_many(nlohmann::json::array(
      {{{"name", "copied"}, {"ratio", std::numeric_limits<double>::quiet_NaN()}}}));
  ASSERT_EQ(created.head_ids.size(), 1u);
  EXPECT_EQ(stored(created.head_ids[0]), "NaN ");
}
