// Diff, three-way merge, revert and cherry-pick (docs/versioning.md). All three are one
// operation: a three-way merge of the entities some commits wrote, between a base state and
// "theirs" (each the state of a branch at an instant), into the target as it is now ("ours").
// A merge's base is the merge base of the two heads in the commit graph, theirs the source at
// its head; a revert's base is the commit, theirs its first parent; a cherry-pick the reverse.
// The states are read in SQL, set-based per entity type; the per-field decisions are made here;
// the merged versions are written already stamped, two statements per type: an UPDATE closes
// the target's versions and a COPY brings in the merged ones. A result that would break the
// types' references, unique keys or checks is not written: the database's own rules list the
// violations, which are conflicts of the entities that break them (docs/relations.md).
#include "evcs/merge.hpp"
#include "branching/commits.hpp"
#include "catalog/entity_type.hpp"
#include "db/session_state.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"
#include "pg/copy_text.hpp"
#include "versioning/version_writes.hpp"

#include <set>

namespace evcs::detail {

// A staged merge's reads of the three states of the entities it merges, per entity type (the
// definition it was read with), and the target's head when they were read. Theirs and the base
// are fixed instants; ours is the target's state, which only a commit on the target changes.
// While the target's head is the same, its continue reads the same rows: planning a merge of
// 10,000 entities is a third of its time.
struct MergePlanMemo {
  std::string target;
  std::string source_commit;
  std::optional<std::string> target_head;
  std::vector<std::pair<std::shared_ptr<const EntityType>, Result>> rows;

  const Result *rows_of(const std::shared_ptr<const EntityType> &type) const {
    for (const auto &[read_type, read_rows] : rows)
      if (read_type == type) return &read_rows;
    return nullptr;
  }
  // Rows of `type` read once the target's head was `head` (they may show a later state: a
  // later head never matches a reuse's check).
  void remember(const std::optional<std::string> &head,
                const std::shared_ptr<const EntityType> &type, const Result &read) {
    if (head != target_head) {
      rows.clear();
      target_head = head;
    }
    for (auto &[read_type, read_rows] : rows)
      if (read_type == type) {
        read_rows = read;
        return;
      }
    rows.emplace_back(type, read);
  }
};

} // namespace evcs::detail

namespace evcs {

using detail::append_copy_field;
using detail::append_copy_value;
using detail::ColumnShape;
using detail::EntityType;
using detail::MergePlanMemo;
using detail::quoted;
using detail::SessionState;
using detail::TargetLineage;
using detail::VersionRows;
using detail::visible_through;

nlohmann::json EntityDiff::to_json() const {
  nlohmann::json changed = nlohmann::json::object();
  for (const auto &[field, change] : fields)
    changed[field] = {{"old", change.old_value}, {"new", change.new_value}};
  return {{"entity_type", entity_type}, {"head_id", head_id}, {"kind", kind}, {"fields", changed}};
}

nlohmann::json ConflictResolution::to_json() const {
  nlohmann::json json = {{"entity_type", entity_type}, {"head_id", head_id}, {"field", field},
                         {"take", take}};
  if (take == "value") json["value"] = value;
  return json;
}

ConflictResolution ConflictResolution::from_json(const nlohmann::json &json) {
  const char *shape = "a resolution is {\"entity_type\", \"head_id\", \"field\", \"take\": "
                      "\"ours\" | \"theirs\" | \"value\", \"value\"}";
  if (!json.is_object()) throw InvalidArgument(std::string(shape) + ", not " + json.dump());
  ConflictResolution resolution;
  for (const auto &[key, item] : json.items()) {
    std::string *text = key == "entity_type" ? &resolution.entity_type
                        : key == "head_id"   ? &resolution.head_id
                        : key == "field"     ? &resolution.field
                        : key == "take"      ? &resolution.take
                                             : nullptr;
    if (key == "value") {
      resolution.value = item;
    } else if (text == nullptr) {
      throw InvalidArgument("unknown key \"" + key + "\" in a resolution: " + shape);
    } else if (!item.is_string()) {
      throw InvalidArgument("\"" + key + "\" of a resolution must be a string, not " + item.dump());
    } else {
      *text = item.get<std::string>();
    }
  }
  if (resolution.entity_type.empty() || resolution.head_id.empty() || resolution.field.empty())
    throw InvalidArgument(std::string(shape) + ": entity_type, head_id and field are required, in " +
                          json.dump());
  if (resolution.take.empty()) resolution.take = json.contains("value") ? "value" : "";
  if (resolution.take != "ours" && resolution.take != "theirs" && resolution.take != "value")
    throw InvalidArgument("\"take\" of a resolution must be \"ours\", \"theirs\" or \"value\", not \"" +
                          resolution.take + "\"");
  if (resolution.take == "value" && !json.contains("value"))
    throw InvalidArgument("a resolution that takes a value needs \"value\": " + json.dump());
  if (resolution.take == "value" && resolution.field == "deleted")
    throw InvalidArgument("a delete-versus-modify conflict (field \"deleted\") is settled with "
                          "\"ours\" or \"theirs\", not a value");
  return resolution;
}

nlohmann::json MergeConflictInfo::to_json() const {
  auto text_or_null = [](const std::string &text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  return {{"entity_type", entity_type}, {"head_id", head_id}, {"field", field},
          {"base", base}, {"ours", ours}, {"theirs", theirs},
          {"resolution", resolution ? resolution->to_json() : nlohmann::json(nullptr)},
          {"kind", kind}, {"constraint", text_or_null(constraint)},
          {"other_type", text_or_null(other_type)}, {"other_head_id", text_or_null(other_head_id)}};
}

namespace {

// The kind of a conflict of both sides' changes: "delete" for the pseudo-field "deleted" (one
// side deleted, the other modified), else "field".
std::string kind_of_conflict_on(const std::string &field) {
  return field == "deleted" ? "delete" : "field";
}

} // namespace

MergeConflictInfo MergeConflictInfo::from_json(const nlohmann::json &json) {
  auto text = [&](const char *key) {
    return json.contains(key) && json.at(key).is_string() ? json.at(key).get<std::string>()
                                                           : std::string();
  };
  MergeConflictInfo conflict;
  conflict.entity_type = json.at("entity_type").get<std::string>();
  conflict.head_id = json.at("head_id").get<std::string>();
  conflict.field = json.at("field").get<std::string>();
  conflict.base = json.value("base", nlohmann::json());
  conflict.ours = json.value("ours", nlohmann::json());
  conflict.theirs = json.value("theirs", nlohmann::json());
  if (json.contains("resolution") && !json.at("resolution").is_null())
    conflict.resolution = ConflictResolution::from_json(json.at("resolution"));
  conflict.kind = text("kind");
  if (conflict.kind.empty()) conflict.kind = kind_of_conflict_on(conflict.field);
  conflict.constraint = text("constraint");
  conflict.other_type = text("other_type");
  conflict.other_head_id = text("other_head_id");
  return conflict;
}

MergeOptions MergeOptions::from_json(const nlohmann::json &json) {
  MergeOptions options;
  if (json.is_null()) return options;
  const char *known = "into, strategy, message, resolutions";
  if (!json.is_object())
    throw InvalidArgument(std::string("merge options must be an object with any of ") + known);
  for (const auto &[key, item] : json.items()) {
    if (item.is_null()) continue;
    if (key == "resolutions") {
      if (!item.is_array())
        throw InvalidArgument("\"resolutions\" must be an array, not " + item.dump());
      for (const auto &resolution : item)
        options.resolutions.push_back(ConflictResolution::from_json(resolution));
      continue;
    }
    if (key != "into" && key != "strategy" && key != "message")
      throw InvalidArgument("unknown merge option \"" + key + "\" (known: " + known + ")");
    if (!item.is_string())
      throw InvalidArgument("the merge option \"" + key + "\" must be a string, not " + item.dump());
    if (key == "into") options.into = item.get<std::string>();
    else if (key == "strategy") options.strategy = item.get<std::string>();
    else options.message = item.get<std::string>();
  }
  return options;
}

HistoryPoint HistoryPoint::from_json(const nlohmann::json &json) {
  if (json.is_string()) return at_commit(json.get<std::string>());
  if (json.is_number_integer()) return at_instant(json.get<std::int64_t>());
  throw InvalidArgument("a point in history is a commit (a string: id, tag or branch) or an "
                        "instant (UTC microseconds), not " + json.dump());
}

std::size_t MergeResult::unresolved() const {
  std::size_t count = 0;
  for (const auto &conflict : conflicts)
    if (!conflict.resolution) ++count;
  return count;
}

nlohmann::json MergeResult::to_json() const {
  auto optional_text = [](const std::optional<std::string> &text) {
    return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
  };
  nlohmann::json json = {{"changes", nlohmann::json::array()},
                         {"conflicts", nlohmann::json::array()}};
  for (const auto &change : changes) json["changes"].push_back(change.to_json());
  for (const auto &conflict : conflicts) json["conflicts"].push_back(conflict.to_json());
  json["stamp"] = stamp ? nlohmann::json(*stamp) : nlohmann::json(nullptr);
  json["target"] = target;
  json["source"] = source;
  json["source_commit"] = optional_text(source_commit);
  json["base_commit"] = optional_text(base_commit);
  json["commit"] = optional_text(commit);
  json["unresolved"] = unresolved();
  return json;
}

namespace {

// An entity's state on one side: absent, or a (possibly deleted) version's content, its values
// in the entity type's column order.
struct State {
  bool present = false;
  bool deleted = false;
  std::vector<nlohmann::json> values;

  bool live() const { return present && !deleted; }
  bool same_as(const State &other) const {
    if (live() != other.live()) return false;
    return !live() || values == other.values;
  }
};

// `alias.head_id AS "alias.head_id", …` for the columns a State is read from.
std::string state_columns(const EntityType &type, const std::string &alias) {
  std::string list = alias + ".head_id AS \"" + alias + ".head_id\", " + alias + ".deleted AS \"" +
                     alias + ".deleted\"";
  for (const auto &column : type.columns)
    list += ", " + alias + "." + quoted(column.name) + " AS \"" + alias + "." + column.name + "\"";
  return list;
}

// Where one side's state sits in the rows of a result, looked up once per result.
struct StateColumns {
  StateColumns(const Result &result, const EntityType &type, const std::string &alias)
      : head_id(result.column_index(alias + ".head_id")),
        deleted(result.column_index(alias + ".deleted")) {
    for (const auto &column : type.columns)
      values.push_back(result.column_index(alias + "." + column.name));
  }

  State read(const Result &result, std::int64_t row) const {
    State state;
    if (result.is_null(row, head_id)) return state;
    state.present = true;
    state.deleted = result.get_bool(row, deleted);
    state.values.reserve(values.size());
    for (std::int64_t column : values) state.values.push_back(result.get_json(row, column));
    return state;
  }

  std::int64_t head_id;
  std::int64_t deleted;
  std::vector<std::int64_t> values;
};

// The version of each entity a branch shows at an instant, deleted ones included, reading
// through the branch's lineage (a CTE named `lineage` must hold evcs_lineage(branch, at)).
std::string visible_versions(const EntityType &type, const std::string &lineage) {
  return "SELECT DISTINCT ON (x.head_id) x.* FROM " + lineage + " l JOIN " +
         quoted(type.version_table()) +
         " x ON x.branch = l.branch AND tstzrange(x.valid_from, x.valid_to) @> l.at "
         "ORDER BY x.head_id, l.depth";
}

struct BranchRow {
  std::optional<std::string> parent;
  std::string status;
};

BranchRow branch_row(SessionState &session, const std::string &name) {
  require_utf8(name, "the branch name");
  Result row = session.run("SELECT parent, status FROM evcs_branch WHERE name = $1",
                           Params::of(name));
  if (row.rows() == 0)
    throw NotFound("branch '" + name + "' does not exist (see branches())", "EVN01");
  BranchRow branch;
  if (!row.is_null(0, 0)) branch.parent = row.get_text(0, 0);
  branch.status = row.get_text(0, 1);
  return branch;
}

// Every entity type, a type before the types it refers to: a merge writes referrers first, so
// that a delete it brings cascades only to what the merge itself left live.
std::vector<std::shared_ptr<const EntityType>> all_entity_types(SessionState &session) {
  Result names = session.run("SELECT name FROM evcs_entity_type ORDER BY name", Params());
  std::map<std::string, std::shared_ptr<const EntityType>> by_name;
  for (std::int64_t row = 0; row < names.rows(); ++row)
    by_name[names.get_text(row, 0)] =
        session.engine->entity_types.find(session, names.get_text(row, 0));
  std::vector<std::shared_ptr<const EntityType>> ordered;
  std::set<std::string> placed;
  std::function<void(const std::shared_ptr<const EntityType> &)> place =
      [&](const std::shared_ptr<const EntityType> &type) {
        if (!placed.insert(type->name).second) return;
        for (const auto &[name, other] : by_name)
          for (const auto &column : other->columns)
            if (column.references == type->name) place(other);
        ordered.push_back(type);
      };
  for (const auto &[name, type] : by_name) place(type);
  return ordered;
}

// What identifies an entity of a merge: its entity type and head_id.
std::string entity_key(const std::string &type, const std::string &head_id) {
  return type + '\n' + head_id;
}

// How the conflicts of one merge are settled: by the resolution given for each, else by the
// strategy. Resolutions of violations (`edits`: each names an entity whose merged state breaks
// a rule, and any of its fields) change that entity's merged state wherever no field conflict
// took them.
class ConflictSettler {
public:
  ConflictSettler(const MergeOptions &options,
                  const std::map<std::string, std::vector<ConflictResolution>> &edits = {})
      : options_(options), edits_(edits) {
    const std::string &strategy = options.strategy;
    if (strategy != "fail" && strategy != "theirs" && strategy != "ours")
      throw InvalidArgument("merge strategy must be \"fail\", \"theirs\" or \"ours\", not \"" +
                            strategy + "\"");
    used_.assign(options.resolutions.size(), false);
    for (std::size_t index = 0; index < options.resolutions.size(); ++index) {
      const ConflictResolution &resolution = options.resolutions[index];
      if (!by_conflict_.emplace(key(resolution.entity_type, resolution.head_id, resolution.field),
                                index).second)
        throw InvalidArgument("two resolutions for the same conflict: " +
                              resolution.to_json().dump());
    }
  }

  // Records the conflict; returns how it is settled: "ours", "theirs", "value" (then `value`
  // holds it) or "" (not settled). The strategy never settles a violation.
  std::string settle(MergeConflictInfo conflict, nlohmann::json &value,
                     std::vector<MergeConflictInfo> &conflicts) {
    auto found = by_conflict_.find(key(conflict.entity_type, conflict.head_id, conflict.field));
    if (found != by_conflict_.end()) {
      used_[found->second] = true;
      conflict.resolution = options_.resolutions[found->second];
    } else if (conflict.violation()) {
      if (const auto *found_edits = edits(conflict.entity_type, conflict.head_id)) {
        conflict.resolution = found_edits->front();
        for (const auto &edit : *found_edits)
          if (edit.field == conflict.field) conflict.resolution = edit;
      }
    } else if (options_.strategy != "fail") {
      conflict.resolution = ConflictResolution{conflict.entity_type, conflict.head_id,
                                               conflict.field, options_.strategy, nullptr};
    }
    std::string take = conflict.resolution ? conflict.resolution->take : "";
    if (take == "value") value = conflict.resolution->value;
    conflicts.push_back(std::move(conflict));
    return take;
  }

  // The resolutions that change an entity's merged state beyond its field conflicts.
  const std::vector<ConflictResolution> *edits(const std::string &type,
                                               const std::string &head_id) const {
    auto found = edits_.find(entity_key(type, head_id));
    return found == edits_.end() ? nullptr : &found->second;
  }

  // The resolutions no field conflict took.
  std::vector<ConflictResolution> unused() const {
    std::vector<ConflictResolution> left;
    for (std::size_t index = 0; index < used_.size(); ++index)
      if (!used_[index] && !edits(options_.resolutions[index].entity_type,
                                  options_.resolutions[index].head_id))
        left.push_back(options_.resolutions[index]);
    return left;
  }

  // What identifies a conflict: its entity type, entity and field.
  static std::string key(const std::string &type, const std::string &head_id,
                         const std::string &field) {
    return entity_key(type, head_id) + '\n' + field;
  }

private:
  const MergeOptions &options_;
  std::map<std::string, std::vector<ConflictResolution>> edits_;
  std::map<std::string, std::size_t> by_conflict_;
  std::vector<bool> used_;
};

[[noreturn]] void throw_unmet(const ConflictResolution &resolution, const char *where) {
  throw InvalidArgument("a resolution for something that is not in conflict: " +
                        resolution.to_json().dump() + " (see " + where + ")");
}

// The virtual base of a criss-cross merge for one entity (git's recursive strategy, at field
// level): the merge of the two bases' states against their own base. Where the two bases
// disagree with each other and with their base, their base's state stands, so that a change
// both sides made since still shows as one.
State virtual_base(const State &inner, const State &one, const State &other) {
  if (one.same_as(other) || other.same_as(inner)) return one;
  if (one.same_as(inner)) return other;
  if (!one.live() || !other.live() || !inner.live()) return inner;
  State merged = one;
  for (std::size_t field = 0; field < merged.values.size(); ++field) {
    if (one.values[field] == other.values[field] || other.values[field] == inner.values[field])
      continue;
    merged.values[field] = one.values[field] == inner.values[field] ? other.values[field]
                                                                     : inner.values[field];
  }
  return merged;
}

// The three-way merge of one entity. Returns the content to write into the target, if any.
struct Resolution {
  enum class Action { none, write, remove } action = Action::none;
  std::vector<nlohmann::json> values;
};

Resolution merge_fields(const EntityType &type, const std::string &head_id, const State &base,
                        const State &ours, const State &theirs, ConflictSettler &settler,
                        std::vector<MergeConflictInfo> &conflicts) {
  using Action = Resolution::Action;
  Resolution resolution;
  if (theirs.same_as(base)) return resolution;
  nlohmann::json chosen;
  auto conflict = [&](const std::string &field, nlohmann::json base_value,
                      nlohmann::json ours_value, nlohmann::json theirs_value) {
    MergeConflictInfo found;
    found.entity_type = type.name;
    found.head_id = head_id;
    found.field = field;
    found.kind = kind_of_conflict_on(field);
    found.base = std::move(base_value);
    found.ours = std::move(ours_value);
    found.theirs = std::move(theirs_value);
    return settler.settle(std::move(found), chosen, conflicts);
  };
  if (!theirs.live()) {
    if (!ours.live()) return resolution;
    if (ours.same_as(base) || conflict("deleted", !base.live(), false, true) == "theirs")
      resolution.action = Action::remove;
    return resolution;
  }
  if (!ours.live()) {
    if (base.live() && ours.present && conflict("deleted", false, true, false) != "theirs")
      return resolution;
    resolution.action = Action::write;
    resolution.values = theirs.values;
    return resolution;
  }
  std::vector<nlohmann::json> merged = ours.values;
  const nlohmann::json none;
  for (std::size_t field = 0; field < type.columns.size(); ++field) {
    const nlohmann::json &base_value = base.live() ? base.values[field] : none;
    const nlohmann::json &ours_value = ours.values[field];
    const nlohmann::json &theirs_value = theirs.values[field];
    if (theirs_value == base_value || theirs_value == ours_value) continue;
    if (ours_value == base_value) {
      merged[field] = theirs_value;
      continue;
    }
    std::string take = conflict(type.columns[field].name, base_value, ours_value, theirs_value);
    if (take == "theirs") merged[field] = theirs_value;
    else if (take == "value") merged[field] = chosen;
  }
  if (merged != ours.values) {
    resolution.action = Action::write;
    resolution.values = std::move(merged);
  }
  return resolution;
}

std::size_t column_index(const EntityType &type, const std::string &field) {
  for (std::size_t index = 0; index < type.columns.size(); ++index)
    if (type.columns[index].name == field) return index;
  throw InvalidArgument("entity type '" + type.name + "' has no field '" + field +
                        "' (a resolution of a violation names a field of the entity, or "
                        "\"deleted\")");
}

// The three-way merge of one entity, then the resolutions of its violations: "deleted" takes the
// whole entity as one side has it ("ours": the target keeps what it has), a field takes that
// side's value or the value given.
Resolution merge_entity(const EntityType &type, const std::string &head_id, const State &base,
                        const State &ours, const State &theirs, ConflictSettler &settler,
                        std::vector<MergeConflictInfo> &conflicts) {
  using Action = Resolution::Action;
  Resolution resolution = merge_fields(type, head_id, base, ours, theirs, settler, conflicts);
  const std::vector<ConflictResolution> *edits = settler.edits(type.name, head_id);
  if (edits == nullptr) return resolution;
  for (const ConflictResolution &edit : *edits) {
    if (edit.field == "deleted") {
      resolution = Resolution();
      if (edit.take == "theirs" && theirs.live()) {
        resolution.action = Action::write;
        resolution.values = theirs.values;
      } else if (edit.take == "theirs" && ours.live()) {
        resolution.action = Action::remove;
      }
      continue;
    }
    std::size_t field = column_index(type, edit.field);
    if (resolution.action == Action::remove) continue;  // a field of a delete changes nothing
    if (resolution.action == Action::none) {
      if (!ours.live()) continue;
      resolution.action = Action::write;
      resolution.values = ours.values;
    }
    const State &side = edit.take == "ours" ? ours : theirs;
    resolution.values[field] = edit.take == "value" ? edit.value
                               : side.live()        ? side.values[field]
                                                    : nlohmann::json();
  }
  if (resolution.action == Action::write && ours.live() && resolution.values == ours.values)
    resolution.action = Action::none;
  return resolution;
}

EntityDiff describe(const EntityType &type, const std::string &head_id, const State &target,
                    const State &source) {
  EntityDiff diff{type.name, head_id, "modified", {}};
  if (source.live() && !target.live()) diff.kind = "added";
  else if (!source.live() && target.live()) diff.kind = "deleted";
  const nlohmann::json none;
  for (std::size_t field = 0; field < type.columns.size(); ++field) {
    const nlohmann::json &old_value = target.live() ? target.values[field] : none;
    const nlohmann::json &new_value = source.live() ? source.values[field] : none;
    if (old_value != new_value) diff.fields[type.columns[field].name] = {old_value, new_value};
  }
  return diff;
}

using MergeWrites = std::vector<std::pair<std::shared_ptr<const EntityType>, VersionRows>>;

// One side of a three-way merge: the state of a branch at an instant (a commit's stamp). No
// branch: the empty state (the base of histories that share no commit).
struct Side {
  std::optional<std::string> branch;
  std::int64_t at = 0;
};

Side side_at(const CommitInfo &commit) { return {commit.branch, commit.stamp}; }

// What a three-way merge combines: the entities `commits` wrote, their state at `base` and at
// `theirs`, into `target` as it is now.
struct ThreeWay {
  std::string target;
  std::vector<std::string> commits;
  Side base;
  // Criss-cross histories have two best common ancestors: the base is then, per entity, the
  // merge of their states (`base` and `other_base`) against their own merge base.
  std::optional<Side> other_base;
  Side inner_base;
  Side theirs;
  // Recorded on the merged versions as merged_from (a merge's source branch; else empty).
  std::string merged_from;
  // The commit's parent besides the target's head: a merge's source head; else empty.
  std::string merge_parent;
  // The commit message when none is given.
  std::string default_message;
  // What the result reports: the branch and commit merged, and the merge base.
  std::string source;
  std::optional<std::string> source_commit;
  std::optional<std::string> base_commit;
  // The target's head when planned (none: the target has no commit yet).
  std::optional<std::string> target_head;
  // A staged merge's reads: the plan records them, or reuses them while the target's head is
  // the one they were read at.
  std::shared_ptr<MergePlanMemo> memo;
};

// The entities the commits $1 wrote: the versions stamped with a commit's stamp on its branch.
std::string candidates(const std::string &versions) {
  return "SELECT DISTINCT v.head_id FROM evcs_commit c JOIN " + versions +
         " v ON v.branch = c.branch AND v.valid_from = c.stamp WHERE c.commit_id = ANY($1::text[])";
}

// The plan's rows of one entity type: a staged merge's reads of it when the target's head is
// still the one they were read at (checked after the caller's row locks, so no writer can move
// the target's state of these entities any more), else read now and remembered.
Result planned_rows(SessionState &session, const ThreeWay &merge,
                    const std::shared_ptr<const EntityType> &type, const std::string &sql,
                    const Params &params) {
  MergePlanMemo *memo = merge.memo.get();
  if (memo != nullptr && memo->target_head == merge.target_head) {
    if (const Result *remembered = memo->rows_of(type)) {
      std::optional<CommitInfo> head = detail::branch_head(session, merge.target);
      if ((head ? std::optional<std::string>(head->id) : std::nullopt) == memo->target_head)
        return *remembered;
    }
  }
  Result rows = session.run_set_based(sql, params);
  if (memo != nullptr) memo->remember(merge.target_head, type, rows);
  return rows;
}

// Resolution values as the column holds them (a numeric(6,2) given 25 is "25.00"), so that the
// merge compares, reports and writes what will be stored: each column's values are cast by the
// server in one statement.
MergeOptions with_stored_values(SessionState &session, const MergeOptions &options) {
  MergeOptions stored = options;
  std::map<std::pair<std::string, std::string>, std::vector<ConflictResolution *>> by_column;
  for (auto &resolution : stored.resolutions)
    if (resolution.take == "value" && !resolution.value.is_null())
      by_column[{resolution.entity_type, resolution.field}].push_back(&resolution);
  for (const auto &[column, resolutions] : by_column) {
    std::shared_ptr<const EntityType> type;
    try {
      type = session.engine->entity_types.find(session, column.first);
    } catch (const NotFound &) {
      continue;  // it meets no conflict, which the plan reports
    }
    std::size_t index = 0;
    while (index < type->columns.size() && type->columns[index].name != column.second) ++index;
    if (index == type->columns.size()) continue;
    const ColumnShape shape = detail::shape_of(type->columns[index]);
    nlohmann::json texts = nlohmann::json::array();
    for (const ConflictResolution *resolution : resolutions) {
      std::optional<std::string> text = detail::value_text(resolution->value, shape);
      if (!text)
        throw InvalidArgument("the value " + resolution->value.dump() + " of a resolution does "
                              "not fit field " + column.second + " (" + type->columns[index].type +
                              ")");
      texts.push_back(*text);
    }
    Params params;
    params.add_json(texts.dump());
    Result cast = session.run("SELECT value::" + type->sql_types[index] + " FROM "
                              "jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS "
                              "given(value, position) ORDER BY position",
                              params);
    for (std::size_t row = 0; row < resolutions.size(); ++row)
      resolutions[row]->value = cast.get_json(static_cast<std::int64_t>(row), 0);
  }
  return stored;
}

// One entity the merge writes (or would write): its three states and what it merges to.
struct PlannedEntity {
  std::shared_ptr<const EntityType> type;
  State base, ours, theirs, merged;
};

// A planned merge: its result, the versions to write, and what a check of the rules needs.
struct MergePlan {
  MergeResult result;
  MergeWrites writes;
  // By entity_key.
  std::map<std::string, PlannedEntity> entities;
  // The resolutions no field conflict took (those of violations, or ones that meet nothing).
  std::vector<ConflictResolution> unused;
  // Whether a version it writes is of a type that refers, is referred to or has unique keys: the
  // rules then need the merged state written to be checked.
  bool writes_related = false;
};

// The types that take part in references or unique keys.
std::set<std::string> related_types(const std::vector<std::shared_ptr<const EntityType>> &types) {
  std::set<std::string> related;
  for (const auto &type : types) {
    if (!type->constraints.unique.empty()) related.insert(type->name);
    for (const auto &column : type->columns)
      if (!column.references.empty()) {
        related.insert(type->name);
        related.insert(column.references);
      }
  }
  return related;
}

// A violation of the merged result as a conflict of the entity that breaks the rule. Its field
// is the one a resolution most likely changes: "deleted" for an entity gone while others refer
// to it (or one the merge does not write), the reference column, else the first field of the key
// (or of the entity, for a check) that the merge changes.
MergeConflictInfo violation_conflict(const MergePlan &plan, const std::string &kind,
                                     const std::string &type_name, const std::string &head_id,
                                     const std::string &constraint, const std::string &other_type,
                                     const std::string &other_head_id) {
  MergeConflictInfo conflict;
  conflict.kind = kind;
  conflict.entity_type = type_name;
  conflict.head_id = head_id;
  conflict.constraint = constraint;
  conflict.other_type = other_type;
  conflict.other_head_id = other_head_id;
  conflict.field = "deleted";
  auto found = plan.entities.find(entity_key(type_name, head_id));
  if (found == plan.entities.end()) return conflict;
  const PlannedEntity &entity = found->second;
  const EntityType &type = *entity.type;
  std::vector<std::size_t> fields;
  if (kind == "reference") {
    fields.push_back(column_index(type, constraint));
  } else if (kind == "unique") {
    std::size_t start = 0;
    while (start <= constraint.size()) {
      std::size_t end = constraint.find(", ", start);
      if (end == std::string::npos) end = constraint.size();
      fields.push_back(column_index(type, constraint.substr(start, end - start)));
      start = end + 2;
    }
  } else if (kind == "check") {
    for (std::size_t field = 0; field < type.columns.size(); ++field) fields.push_back(field);
  }
  if (!fields.empty() && entity.merged.live()) {
    std::size_t chosen = fields.front();
    for (std::size_t field : fields)
      if (!entity.ours.live() || entity.merged.values[field] != entity.ours.values[field]) {
        chosen = field;
        break;
      }
    auto value = [&](const State &state) {
      return state.live() ? state.values[chosen] : nlohmann::json();
    };
    conflict.field = type.columns[chosen].name;
    conflict.base = value(entity.base);
    conflict.ours = value(entity.ours);
    conflict.theirs = value(entity.theirs);
    return conflict;
  }
  conflict.base = !entity.base.live();
  conflict.ours = !entity.ours.live();
  conflict.theirs = !entity.theirs.live();
  return conflict;
}

// Plans a three-way merge with the resolutions of `options`, and `edits` (the resolutions of
// violations, by entity_key). `writing`: writers of the merged entities wait for the merge's
// commit, and every version to write is prepared (a preview prepares those a check of the rules
// needs).
MergePlan plan_three_way(SessionState &session, const ThreeWay &merge, const MergeOptions &given,
                         bool writing,
                         const std::map<std::string, std::vector<ConflictResolution>> &edits = {}) {
  const MergeOptions options = with_stored_values(session, given);
  ConflictSettler settler(options, edits);
  MergePlan plan;
  MergeResult &result = plan.result;
  result.target = merge.target;
  result.source = merge.source;
  result.source_commit = merge.source_commit;
  result.base_commit = merge.base_commit;
  if (merge.commits.empty()) {
    plan.unused = settler.unused();
    return plan;
  }
  std::string commit_array = "{";
  for (const auto &commit : merge.commits)
    commit_array += (commit_array.size() > 1 ? "," : "") + commit;
  commit_array += "}";
  Params params = Params::of(commit_array, merge.target);
  params.add(merge.theirs.branch).add(Timestamp{merge.theirs.at});
  params.add(merge.base.branch).add(Timestamp{merge.base.at});
  const bool criss_cross = merge.other_base.has_value();
  if (criss_cross) {
    params.add(merge.other_base->branch).add(Timestamp{merge.other_base->at});
    params.add(merge.inner_base.branch).add(Timestamp{merge.inner_base.at});
  }
  const std::vector<std::shared_ptr<const EntityType>> types = all_entity_types(session);
  const std::set<std::string> related = related_types(types);
  for (const auto &type : types) {
    std::string versions = quoted(type->version_table());
    // Writers of these entities on any branch wait from here to the merge's commit, so the
    // target state planned below is still the target state when the merge writes over it.
    if (writing)
      session.run_set_based("SELECT 1 FROM " + quoted(type->name) + " WHERE head_id IN (" +
                                candidates(versions) + ") ORDER BY head_id FOR UPDATE",
                            Params::of(commit_array));
    std::string sql =
        "WITH candidate AS (" + candidates(versions) + "), "
        "ours_lineage AS (SELECT * FROM evcs_lineage($2, 'infinity')), "
        "theirs_lineage AS (SELECT * FROM evcs_lineage($3, $4::timestamptz)), "
        "base_lineage AS (SELECT * FROM evcs_lineage($5, $6::timestamptz) WHERE $5 IS NOT NULL)" +
        std::string(criss_cross ? ", other_base_lineage AS (SELECT * FROM evcs_lineage($7, "
                                  "$8::timestamptz)), inner_base_lineage AS (SELECT * FROM "
                                  "evcs_lineage($9, $10::timestamptz) WHERE $9 IS NOT NULL) "
                                : " ") +
        "SELECT candidate.head_id::text, " + state_columns(*type, "theirs") + ", " +
        state_columns(*type, "ours") + ", ours.branch AS \"ours.branch\", ours.version AS "
        "\"ours.version\", ours.parent_branch AS \"ours.parent_branch\", ours.parent_version AS "
        "\"ours.parent_version\", " + state_columns(*type, "base") +
        (criss_cross ? ", " + state_columns(*type, "other_base") + ", " +
                           state_columns(*type, "inner_base")
                     : std::string()) +
        " FROM candidate"
        " LEFT JOIN LATERAL " + visible_through(versions, "theirs_lineage") + " theirs ON true"
        " LEFT JOIN LATERAL " + visible_through(versions, "ours_lineage") + " ours ON true"
        " LEFT JOIN LATERAL " + visible_through(versions, "base_lineage") + " base ON true" +
        (criss_cross ? " LEFT JOIN LATERAL " + visible_through(versions, "other_base_lineage") +
                           " other_base ON true LEFT JOIN LATERAL " +
                           visible_through(versions, "inner_base_lineage") + " inner_base ON true"
                     : std::string()) +
        " ORDER BY 1";
    Result rows = planned_rows(session, merge, type, sql, params);
    const StateColumns theirs_columns(rows, *type, "theirs"), ours_columns(rows, *type, "ours"),
        base_columns(rows, *type, "base");
    std::optional<StateColumns> other_base_columns, inner_base_columns;
    if (criss_cross) {
      other_base_columns.emplace(rows, *type, "other_base");
      inner_base_columns.emplace(rows, *type, "inner_base");
    }
    const TargetLineage target_lineage(rows, merge.target, "ours.");
    // The rows the type's checks must pass first: head_id and fields, as the checks read them.
    nlohmann::json checked = nlohmann::json::array();
    const bool related_type = related.count(type->name) != 0;
    const bool ruled = related_type || !type->constraints.checks.empty();
    // Its versions are prepared when the merge writes, or for a check of the rules.
    const bool prepares_writes = writing || related_type;
    struct Written {
      std::int64_t row;
      std::string head_id;
      State merged;
    };
    std::vector<Written> written;
    for (std::int64_t row = 0; row < rows.rows(); ++row) {
      std::string head_id = rows.get_text(row, 0);
      State theirs = theirs_columns.read(rows, row);
      State ours = ours_columns.read(rows, row);
      State base = base_columns.read(rows, row);
      if (criss_cross)
        base = virtual_base(inner_base_columns->read(rows, row), base,
                            other_base_columns->read(rows, row));
      Resolution resolution =
          merge_entity(*type, head_id, base, ours, theirs, settler, result.conflicts);
      if (resolution.action == Resolution::Action::none) continue;
      State merged;
      merged.present = true;
      merged.deleted = resolution.action == Resolution::Action::remove;
      merged.values = merged.deleted ? ours.values : std::move(resolution.values);
      result.changes.push_back(describe(*type, head_id, ours, merged));
      if (!merged.deleted && !type->constraints.checks.empty()) {
        nlohmann::json fields = {{"head_id", head_id}};
        for (std::size_t field = 0; field < type->columns.size(); ++field)
          fields[type->columns[field].name] = merged.values[field];
        checked.push_back(std::move(fields));
      }
      // What a violation's report needs, kept for the types that have rules.
      if (ruled)
        plan.entities[entity_key(type->name, head_id)] =
            PlannedEntity{type, std::move(base), std::move(ours), std::move(theirs), merged};
      if (prepares_writes) written.push_back({row, std::move(head_id), std::move(merged)});
    }
    // A version that breaks a check is refused at insert: such entities are reported, and left
    // out of the writes so that the rest can still be checked against the other rules.
    std::set<std::string> breaking;
    if (!checked.empty()) {
      Params check_params = Params::of(type->name);
      check_params.add_json(checked.dump());
      Result broken = session.run("SELECT check_name, head_id::text FROM "
                                  "evcs_check_violations($1, $2::jsonb)",
                                  check_params);
      for (std::int64_t row = 0; row < broken.rows(); ++row) {
        breaking.insert(broken.get_text(row, 1));
        result.conflicts.push_back(violation_conflict(plan, "check", type->name,
                                                      broken.get_text(row, 1),
                                                      broken.get_text(row, 0), "", ""));
      }
    }
    if (!prepares_writes) continue;
    VersionRows type_writes(*type, merge.target, merge.merged_from, session.author);
    for (const Written &entity : written)
      if (!breaking.count(entity.head_id))
        type_writes.add(entity.head_id, target_lineage.continuation(rows, entity.row),
                        entity.merged.deleted, entity.merged.values);
    if (!type_writes.empty()) {
      plan.writes_related = plan.writes_related || related_type;
      plan.writes.emplace_back(type, std::move(type_writes));
    }
  }
  plan.unused = settler.unused();
  return plan;
}

// The target of a write: it exists, and (when writing) accepts writes; merges, reverts and
// cherry-picks into one branch then wait for each other, since each plans against the state
// the previous one leaves.
void prepare_target(SessionState &session, const std::string &target, bool writing) {
  branch_row(session, target);
  if (!writing) return;
  session.run("SELECT evcs_require_writable($1)", Params::of(target));
  session.run("SELECT 1 FROM evcs_branch WHERE name = $1 FOR NO KEY UPDATE", Params::of(target));
}

// A merge of `source`'s head into `into` (default: the source's parent).
ThreeWay plan_branch_merge(SessionState &session, const std::string &source,
                           const std::optional<std::string> &into,
                           const std::optional<std::string> &pinned_source_commit, bool writing) {
  detail::ensure_catalog(session);
  BranchRow source_branch = branch_row(session, source);
  if (!into && !source_branch.parent)
    throw InvalidArgument("branch '" + source + "' has no parent: say which branch to merge it "
                          "into");
  ThreeWay merge;
  merge.target = into.value_or(source_branch.parent.value_or(""));
  if (merge.target == source)
    throw InvalidArgument("cannot merge branch '" + source + "' into itself");
  prepare_target(session, merge.target, writing);
  merge.merged_from = source;
  merge.default_message = "merge " + source;
  merge.source = source;
  // The source's head as committed now: every commit stamped before it is visible too (each
  // held the clock until its COMMIT), so the state at its stamp is final. A commit still in
  // flight stamps later and has this head as an ancestor: the next merge brings it.
  std::optional<CommitInfo> theirs =
      pinned_source_commit ? std::optional<CommitInfo>(detail::resolve_commit(session, *pinned_source_commit))
                           : detail::branch_head(session, source);
  if (!theirs) return merge;
  merge.source_commit = theirs->id;
  merge.merge_parent = theirs->id;
  std::optional<CommitInfo> ours = detail::branch_head(session, merge.target);
  if (ours) merge.target_head = ours->id;
  std::vector<CommitInfo> bases;
  if (ours) bases = detail::merge_bases(session, *ours, *theirs);
  std::optional<CommitInfo> base;
  if (!bases.empty()) {
    base = bases.front();
    merge.base_commit = base->id;
    merge.base = side_at(*base);
    // Already merged: the target has the source's head among its ancestors.
    if (base->id == theirs->id) return merge;
  }
  merge.theirs = {source, theirs->stamp};
  if (bases.size() > 1) {
    // Criss-cross: the latest two best bases make the virtual base (more than two would need
    // git's full recursion; their merge base stands in for the rest).
    merge.other_base = side_at(bases[1]);
    std::vector<CommitInfo> inner = detail::merge_bases(session, bases[0], bases[1]);
    base.reset();
    if (!inner.empty()) {
      base = inner.front();
      merge.inner_base = side_at(*base);
    }
  }
  merge.commits = detail::commits_between(session, base, *theirs);
  return merge;
}

// The merged versions are written already stamped, set by set: no pending rows to rewrite at
// commit. Returns how many versions it wrote.
std::int64_t write_versions(SessionState &session, const std::string &target,
                            const MergeWrites &writes, const std::string &stamp) {
  std::int64_t changes = 0;
  for (const auto &[type, entities] : writes)
    changes += detail::write_stamped(session, target, entities, stamp);
  return changes;
}

[[noreturn]] void throw_unsettled(const MergeResult &result, const std::string &what) {
  nlohmann::json detail = {{"conflicts", nlohmann::json::array()}};
  for (const auto &conflict : result.conflicts)
    if (!conflict.resolution) detail["conflicts"].push_back(conflict.to_json());
  throw MergeConflict(std::to_string(result.unresolved()) + " conflict(s) " + what +
                          ": resolve each one, or use strategy \"theirs\" or \"ours\" (a "
                          "violation of a reference, unique key or check needs a resolution); "
                          "the detail lists them",
                      "", detail.dump());
}

// What identifies a violation: its kind, entity, rule and other entity.
std::string violation_key(const MergeConflictInfo &conflict) {
  return conflict.kind + '\n' + entity_key(conflict.entity_type, conflict.head_id) + '\n' +
         conflict.constraint + '\n' + conflict.other_type + '\n' + conflict.other_head_id;
}

// A merge planned and checked against the rules: its result (violations among its conflicts)
// and, when it is to be written, its versions and whether they are written already.
struct CheckedMerge {
  MergePlan plan;
  std::optional<SessionState::CommitStamp> stamp;
  bool written = false;
  std::int64_t changes = 0;
};

// A preview that checks the rules writes in a savepoint, which needs a transaction: in
// autocommit mode, one of its own that ends rolled back (opened only then, so that a preview of
// types without rules runs as before).
using PreviewScope = std::optional<detail::OperationScope>;

// Writes a plan's versions in a savepoint and lists what they break: the database's own rules
// (the generated <type>_evcs_violations of each type the writes queued, cascades included).
// The writes stay when they break nothing and `keep`; otherwise they are rolled back.
std::vector<MergeConflictInfo> relation_violations(SessionState &session, const ThreeWay &merge,
                                                   CheckedMerge &checked, bool writing,
                                                   bool keep, PreviewScope *preview_scope) {
  if (!checked.plan.writes_related) return {};
  if (writing && !checked.stamp) checked.stamp = session.take_commit_stamp();
  if (!writing) session.require_nothing_uncommitted("previewing a merge of related entity types");
  if (preview_scope != nullptr && !preview_scope->has_value()) preview_scope->emplace(session);
  session.run("SAVEPOINT evcs_merge_violations", Params());
  // A preview's versions are pending, as a transaction's writes are until its commit.
  checked.changes = write_versions(session, merge.target, checked.plan.writes,
                                   writing ? checked.stamp->text : "infinity");
  Result rows = session.run("SELECT kind, entity_type, head_id::text, fields, other_type, "
                            "other::text FROM evcs_relation_violations()",
                            Params());
  std::vector<MergeConflictInfo> violations;
  std::set<std::string> seen;
  for (std::int64_t row = 0; row < rows.rows(); ++row) {
    MergeConflictInfo violation =
        violation_conflict(checked.plan, rows.get_text(row, 0), rows.get_text(row, 1),
                           rows.get_text(row, 2), rows.get_text(row, 3), rows.get_text(row, 4),
                           rows.is_null(row, 5) ? "" : rows.get_text(row, 5));
    if (seen.insert(violation_key(violation)).second) violations.push_back(std::move(violation));
  }
  checked.written = keep && writing && violations.empty();
  session.run(checked.written ? "RELEASE SAVEPOINT evcs_merge_violations"
                              : "ROLLBACK TO SAVEPOINT evcs_merge_violations",
              Params());
  return violations;
}

// Plans a merge and checks its result against the rules of its entity types. A violation is a
// conflict of the entity that breaks the rule; resolutions that name such an entity (any field,
// or "deleted") change its merged state, which is then planned and checked again: a violation
// they settle is reported with its resolution, one that remains (or a new one) without.
// `strict`: every resolution must meet a conflict or a violation.
CheckedMerge plan_checked(SessionState &session, const ThreeWay &merge,
                          const MergeOptions &options, bool writing, bool strict,
                          PreviewScope *preview_scope = nullptr) {
  CheckedMerge checked;
  checked.plan = plan_three_way(session, merge, options, writing);
  auto breaking = [](const MergePlan &plan) {
    std::vector<MergeConflictInfo> found;
    for (const auto &conflict : plan.result.conflicts)
      if (conflict.violation()) found.push_back(conflict);
    return found;
  };
  std::vector<MergeConflictInfo> first = breaking(checked.plan);
  bool final_pass = checked.plan.unused.empty();
  for (auto &violation : relation_violations(session, merge, checked, writing, final_pass,
                                                 preview_scope)) {
    first.push_back(violation);
    checked.plan.result.conflicts.push_back(std::move(violation));
  }
  if (final_pass) return checked;

  // The resolutions of violations, by the entity they name.
  std::set<std::string> violating;
  for (const auto &violation : first)
    violating.insert(entity_key(violation.entity_type, violation.head_id));
  std::map<std::string, std::vector<ConflictResolution>> edits;
  for (const auto &resolution : checked.plan.unused) {
    std::string entity = entity_key(resolution.entity_type, resolution.head_id);
    if (violating.count(entity)) edits[entity].push_back(resolution);
    else if (strict) throw_unmet(resolution, "the conflicts of merge_preview or merge_status");
  }
  if (!edits.empty()) {
    checked.plan = plan_three_way(session, merge, options, writing, edits);
    std::set<std::string> remaining;
    for (const auto &violation : breaking(checked.plan)) remaining.insert(violation_key(violation));
    for (auto &violation : relation_violations(session, merge, checked, writing, true,
                                                   preview_scope)) {
      remaining.insert(violation_key(violation));
      checked.plan.result.conflicts.push_back(std::move(violation));
    }
    // Those the resolutions settled, reported with them.
    const MergeOptions no_resolutions;
    ConflictSettler settler(no_resolutions, edits);
    nlohmann::json unused;
    for (const auto &violation : first)
      if (edits.count(entity_key(violation.entity_type, violation.head_id)) &&
          !remaining.count(violation_key(violation)))
        settler.settle(violation, unused, checked.plan.result.conflicts);
  }
  return checked;
}

// Plans and, unless previewing, writes a three-way merge; everything lands or nothing.
template <typename Planner>
MergeResult run_three_way(SessionState &session, const MergeOptions &options, bool preview,
                          const std::string &what, Planner plan, bool strict = true) {
  if (preview) {
    ThreeWay merge = plan(false);
    PreviewScope scope;
    return plan_checked(session, merge, options, false, strict, &scope).plan.result;
  }
  require_utf8(options.message, "the commit message");
  detail::OperationScope scope(session);
  try {
    ThreeWay merge = plan(true);
    CheckedMerge checked = plan_checked(session, merge, options, true, strict);
    MergeResult &planned = checked.plan.result;
    if (planned.unresolved() != 0) throw_unsettled(planned, what);
    // A merge commit that writes nothing still joins the two histories; anything else that
    // writes nothing is no commit.
    if (merge.commits.empty() || (checked.plan.writes.empty() && merge.merge_parent.empty())) {
      session.commit("");
      return planned;
    }
    if (!checked.stamp) checked.stamp = session.take_commit_stamp();
    if (!checked.written)
      checked.changes = write_versions(session, merge.target, checked.plan.writes,
                                       checked.stamp->text);
    planned.stamp = checked.stamp->micros;
    planned.commit = session.commit_stamped(
        *checked.stamp, merge.target,
        options.message.empty() ? merge.default_message : options.message, checked.changes,
        merge.merged_from, merge.merge_parent);
    return planned;
  } catch (...) {
    session.close_quietly();
    throw;
  }
}

// The states of two sides, entity by entity: `source` is "new", `target` "old". An unset instant
// is now.
std::vector<EntityDiff> diff_states(SessionState &session, const std::string &source,
                                    std::optional<std::int64_t> source_at,
                                    const std::string &target,
                                    std::optional<std::int64_t> target_at) {
  detail::ensure_catalog(session);
  branch_row(session, source);
  branch_row(session, target);
  auto instant = [](std::optional<std::int64_t> at) {
    return at ? std::optional<Timestamp>(Timestamp{*at}) : std::nullopt;
  };
  Params params = Params::of(source, target);
  params.add(instant(source_at)).add(instant(target_at));
  std::optional<std::int64_t> latest = source_at;
  if (target_at && (!latest || *target_at > *latest)) latest = target_at;
  std::vector<EntityDiff> diffs;
  for (const auto &type : all_entity_types(session)) {
    std::string sql =
        "WITH source_lineage AS (SELECT * FROM evcs_lineage($1, coalesce($3::timestamptz, "
        "'infinity'))), target_lineage AS (SELECT * FROM evcs_lineage($2, "
        "coalesce($4::timestamptz, 'infinity'))), "
        "source_state AS (" + visible_versions(*type, "source_lineage") + "), "
        "target_state AS (" + visible_versions(*type, "target_lineage") + ") "
        "SELECT coalesce(s.head_id, t.head_id)::text, " + state_columns(*type, "s") + ", " +
        state_columns(*type, "t") +
        " FROM source_state s FULL JOIN target_state t ON s.head_id = t.head_id"
        " WHERE s.deleted IS NOT TRUE OR t.deleted IS NOT TRUE"
        " ORDER BY 1";
    Result rows = session.run_set_based(sql, params, latest);
    const StateColumns source_columns(rows, *type, "s"), target_columns(rows, *type, "t");
    for (std::int64_t row = 0; row < rows.rows(); ++row) {
      State source_state = source_columns.read(rows, row);
      State target_state = target_columns.read(rows, row);
      if (source_state.same_as(target_state)) continue;
      diffs.push_back(describe(*type, rows.get_text(row, 0), target_state, source_state));
    }
  }
  return diffs;
}

// A staged merge as evcs_merge_in_progress keeps it.
struct StagedMerge {
  std::string source;
  std::string source_commit;
  std::optional<std::string> base_commit;
  MergeOptions options;
  // The conflicts the merge found when it started.
  std::vector<MergeConflictInfo> conflicts;
};

StagedMerge staged_merge(SessionState &session, const std::string &target, bool lock) {
  detail::ensure_catalog(session);
  Result row = session.run("SELECT source, source_commit, strategy, coalesce(message, ''), "
                           "resolutions::text, conflicts::text, base_commit "
                           "FROM evcs_merge_in_progress WHERE target = $1" +
                               std::string(lock ? " FOR UPDATE" : ""),
                           Params::of(target));
  if (row.rows() == 0)
    throw NotFound("no merge into '" + target + "' is in progress (start one with merge_start)",
                   "EVN01");
  StagedMerge staged;
  staged.source = row.get_text(0, 0);
  staged.source_commit = row.get_text(0, 1);
  staged.options.into = target;
  staged.options.strategy = row.get_text(0, 2);
  staged.options.message = row.get_text(0, 3);
  for (const auto &resolution : nlohmann::json::parse(row.get_text(0, 4)))
    staged.options.resolutions.push_back(ConflictResolution::from_json(resolution));
  for (const auto &conflict : nlohmann::json::parse(row.get_text(0, 5)))
    staged.conflicts.push_back(MergeConflictInfo::from_json(conflict));
  if (!row.is_null(0, 6)) staged.base_commit = row.get_text(0, 6);
  return staged;
}

// The session's reads of the staged merge `merge` continues, if this session started it.
void reuse_staged_plan(SessionState &session, ThreeWay &merge) {
  const std::shared_ptr<MergePlanMemo> &memo = session.staged_plan;
  if (memo && merge.source_commit && memo->target == merge.target &&
      memo->source_commit == *merge.source_commit)
    merge.memo = memo;
}

void forget_staged_plan(SessionState &session, const std::string &target) {
  if (session.staged_plan && session.staged_plan->target == target) session.staged_plan.reset();
}

std::string resolutions_json(const std::vector<ConflictResolution> &resolutions) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto &resolution : resolutions) list.push_back(resolution.to_json());
  return list.dump();
}

// A revert (`inverse`) or cherry-pick of one commit onto options.into or the session's branch.
ThreeWay plan_commit_application(SessionState &session, const std::string &ref, bool inverse,
                                 const MergeOptions &options, bool writing) {
  CommitInfo applied = detail::resolve_commit(session, ref);
  ThreeWay apply;
  apply.target = options.into.value_or(session.branch);
  prepare_target(session, apply.target, writing);
  apply.source = applied.branch;
  apply.source_commit = applied.id;
  apply.commits = {applied.id};
  Side after = side_at(applied);
  Side before{applied.branch, applied.stamp - 1};
  apply.base = inverse ? after : before;
  apply.theirs = inverse ? before : after;
  std::string short_id = applied.id.substr(0, 12);
  apply.default_message = (inverse ? "revert " : "cherry-pick ") + short_id +
                          (applied.message.empty() ? "" : ": " + applied.message);
  return apply;
}

} // namespace

std::vector<EntityDiff> Session::diff(const std::string &source, const std::string &target,
                                      std::optional<std::int64_t> as_of) {
  SessionState::UseGuard guard(*state_);
  return diff_states(*state_, source, as_of, target, as_of);
}

std::vector<EntityDiff> Session::diff_history(const HistoryPoint &from, const HistoryPoint &to,
                                              const std::optional<std::string> &branch) {
  SessionState::UseGuard guard(*state_);
  auto side = [&](const HistoryPoint &point, const char *which) -> Side {
    if (point.commit.has_value() == point.instant.has_value())
      throw InvalidArgument(std::string("diff_history: \"") + which +
                            "\" must be either a commit or an instant");
    if (point.commit) return side_at(detail::resolve_commit(*state_, *point.commit));
    return {branch.value_or(state_->branch), *point.instant};
  };
  Side older = side(from, "from"), newer = side(to, "to");
  return diff_states(*state_, *newer.branch, newer.at, *older.branch, older.at);
}

MergeResult Session::merge(const std::string &source, const MergeOptions &options) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("merging");
  return run_three_way(*state_, options, false, "merging '" + source + "'",
                       [&](bool writing) {
                         return plan_branch_merge(*state_, source, options.into, std::nullopt,
                                                  writing);
                       });
}

MergeResult Session::merge(const std::string &source, const std::optional<std::string> &into,
                           const std::string &strategy, const std::string &message) {
  MergeOptions options;
  options.into = into;
  options.strategy = strategy;
  options.message = message;
  return merge(source, options);
}

MergeResult Session::merge_preview(const std::string &source, const MergeOptions &options) {
  SessionState::UseGuard guard(*state_);
  return run_three_way(*state_, options, true, "merging '" + source + "'",
                       [&](bool writing) {
                         return plan_branch_merge(*state_, source, options.into, std::nullopt,
                                                  writing);
                       });
}

MergeResult Session::merge_preview(const std::string &source,
                                   const std::optional<std::string> &into,
                                   const std::string &strategy) {
  MergeOptions options;
  options.into = into;
  options.strategy = strategy;
  return merge_preview(source, options);
}

MergeResult Session::merge_start(const std::string &source, const MergeOptions &options) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("starting a merge");
  require_utf8(options.message, "the commit message");
  detail::OperationScope scope(*state_);
  try {
    ThreeWay merge = plan_branch_merge(*state_, source, options.into, std::nullopt, true);
    Result staged = state_->run("SELECT source FROM evcs_merge_in_progress WHERE target = $1",
                                Params::of(merge.target));
    if (staged.rows() != 0)
      throw InvalidArgument("a merge of '" + staged.get_text(0, 0) + "' into '" + merge.target +
                            "' is in progress: continue or abort it first");
    if (!merge.source_commit || merge.commits.empty())
      throw InvalidArgument("nothing to merge: '" + merge.target + "' already has every commit "
                            "of '" + source + "'");
    merge.memo = std::make_shared<MergePlanMemo>();
    merge.memo->target = merge.target;
    merge.memo->source_commit = *merge.source_commit;
    MergeResult planned = plan_checked(*state_, merge, options, false, true).plan.result;
    Params params = Params::of(merge.target, source, *merge.source_commit, options.strategy);
    params.add(options.message.empty() ? std::nullopt : std::optional<std::string>(options.message));
    params.add_json(resolutions_json(options.resolutions));
    params.add(state_->author.empty() ? std::nullopt : std::optional<std::string>(state_->author));
    nlohmann::json conflicts = nlohmann::json::array();
    for (MergeConflictInfo conflict : planned.conflicts) {
      conflict.resolution.reset();
      conflicts.push_back(conflict.to_json());
    }
    params.add_json(conflicts.dump());
    params.add(merge.base_commit);
    state_->run("INSERT INTO evcs_merge_in_progress (target, source, source_commit, strategy, "
                "message, resolutions, started_by, conflicts, base_commit) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                params);
    state_->commit("");
    state_->staged_plan = merge.memo;
    return planned;
  } catch (...) {
    state_->close_quietly();
    throw;
  }
}

MergeResult Session::merge_status(const std::optional<std::string> &target) {
  SessionState::UseGuard guard(*state_);
  StagedMerge staged = staged_merge(*state_, target.value_or(state_->branch), false);
  return run_three_way(
      *state_, staged.options, true, "merging '" + staged.source + "'",
      [&](bool writing) {
        ThreeWay merge = plan_branch_merge(*state_, staged.source, staged.options.into,
                                           staged.source_commit, writing);
        reuse_staged_plan(*state_, merge);
        return merge;
      },
      false);
}

MergeResult Session::merge_resolve(const std::vector<ConflictResolution> &resolutions,
                                   const std::optional<std::string> &target) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("resolving a merge's conflicts");
  detail::OperationScope scope(*state_);
  try {
    StagedMerge staged = staged_merge(*state_, target.value_or(state_->branch), true);
    MergeOptions given;
    given.resolutions = resolutions;
    given = with_stored_values(*state_, given);
    // Each new resolution must meet a conflict the merge found when it started (kept with it,
    // as Dolt's conflicts table keeps them), or name an entity of a violation: checked without
    // planning the merge again.
    std::set<std::string> in_conflict;
    for (const auto &conflict : staged.conflicts)
      in_conflict.insert(conflict.violation() ? entity_key(conflict.entity_type, conflict.head_id)
                                              : ConflictSettler::key(conflict.entity_type,
                                                                     conflict.head_id,
                                                                     conflict.field));
    for (const auto &resolution : given.resolutions)
      if (!in_conflict.count(
              ConflictSettler::key(resolution.entity_type, resolution.head_id, resolution.field)) &&
          !in_conflict.count(entity_key(resolution.entity_type, resolution.head_id)))
        throw_unmet(resolution, "merge_status");
    // A new resolution of a conflict replaces the one given before.
    std::vector<ConflictResolution> merged;
    for (const auto &kept : staged.options.resolutions) {
      bool replaced = false;
      for (const auto &resolution : given.resolutions)
        replaced = replaced || ConflictSettler::key(resolution.entity_type, resolution.head_id,
                                                    resolution.field) ==
                                   ConflictSettler::key(kept.entity_type, kept.head_id,
                                                        kept.field);
      if (!replaced) merged.push_back(kept);
    }
    merged.insert(merged.end(), given.resolutions.begin(), given.resolutions.end());
    staged.options.resolutions = merged;
    MergeResult result;
    result.target = *staged.options.into;
    result.source = staged.source;
    result.source_commit = staged.source_commit;
    result.base_commit = staged.base_commit;
    // What settles each conflict, as far as resolutions tell (merge_status checks that the
    // resolutions of a violation make the result valid).
    std::map<std::string, std::vector<ConflictResolution>> edits;
    for (const auto &resolution : merged)
      if (!in_conflict.count(
              ConflictSettler::key(resolution.entity_type, resolution.head_id, resolution.field)))
        edits[entity_key(resolution.entity_type, resolution.head_id)].push_back(resolution);
    ConflictSettler settler(staged.options, edits);
    nlohmann::json unused;
    for (auto &conflict : staged.conflicts) settler.settle(conflict, unused, result.conflicts);
    Params params = Params::of(*staged.options.into);
    params.add_json(resolutions_json(merged));
    state_->run("UPDATE evcs_merge_in_progress SET resolutions = $2 WHERE target = $1", params);
    state_->commit("");
    return result;
  } catch (...) {
    state_->close_quietly();
    throw;
  }
}

MergeResult Session::merge_continue(const std::optional<std::string> &target,
                                    const std::string &message) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("continuing a merge");
  std::string into = target.value_or(state_->branch);
  StagedMerge staged = staged_merge(*state_, into, false);
  if (!message.empty()) staged.options.message = message;
  MergeResult merged = run_three_way(
      *state_, staged.options, false, "merging '" + staged.source + "'",
      [&](bool writing) {
        ThreeWay merge = plan_branch_merge(*state_, staged.source, staged.options.into,
                                           staged.source_commit, writing);
        reuse_staged_plan(*state_, merge);
        // Gone with the commit; kept if the merge fails.
        if (state_->run("DELETE FROM evcs_merge_in_progress WHERE target = $1 AND "
                        "source_commit = $2 RETURNING target",
                        Params::of(into, staged.source_commit))
                .rows() == 0)
          throw NotFound("the merge into '" + into + "' was continued or aborted meanwhile",
                         "EVN01");
        return merge;
      },
      false);
  forget_staged_plan(*state_, into);
  return merged;
}

void Session::merge_abort(const std::optional<std::string> &target) {
  SessionState::UseGuard guard(*state_);
  std::string into = target.value_or(state_->branch);
  state_->require_nothing_uncommitted("aborting a merge");
  detail::ensure_catalog(*state_);
  detail::OperationScope scope(*state_);
  try {
    if (state_->run("DELETE FROM evcs_merge_in_progress WHERE target = $1 RETURNING target",
                    Params::of(into))
            .rows() == 0)
      throw NotFound("no merge into '" + into + "' is in progress", "EVN01");
    state_->commit("");
    forget_staged_plan(*state_, into);
  } catch (...) {
    state_->close_quietly();
    throw;
  }
}

MergeResult Session::revert_commit(const std::string &commit, const MergeOptions &options) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("reverting a commit");
  return run_three_way(*state_, options, false, "reverting " + commit,
                       [&](bool writing) {
                         return plan_commit_application(*state_, commit, true, options, writing);
                       });
}

MergeResult Session::cherry_pick(const std::string &commit, const MergeOptions &options) {
  SessionState::UseGuard guard(*state_);
  state_->require_nothing_uncommitted("cherry-picking a commit");
  return run_three_way(*state_, options, false, "cherry-picking " + commit,
                       [&](bool writing) {
                         return plan_commit_application(*state_, commit, false, options, writing);
                       });
}

} // namespace evcs
