// Diff and three-way merge of branches (SPEC §3.5). The states to compare are computed in SQL,
// set-based per entity type; the per-field decisions are made here; the merged versions are
// written by each type's write function in one statement per type, and stamped at commit.
#include "entity_type.hpp"
#include "evcs/error.hpp"
#include "evcs/merge.hpp"
#include "evcs/session.hpp"
#include "session_state.hpp"

namespace evcs {

using detail::EntityType;
using detail::quoted;
using detail::SessionState;

nlohmann::json EntityDiff::to_json() const {
  nlohmann::json changed = nlohmann::json::object();
  for (const auto &[field, change] : fields)
    changed[field] = {{"old", change.old_value}, {"new", change.new_value}};
  return {{"entity_type", entity_type}, {"head_id", head_id}, {"kind", kind}, {"fields", changed}};
}

nlohmann::json MergeConflictInfo::to_json() const {
  return {{"entity_type", entity_type}, {"head_id", head_id}, {"field", field},
          {"base", base}, {"ours", ours}, {"theirs", theirs}};
}

nlohmann::json MergeResult::to_json() const {
  nlohmann::json json = {{"changes", nlohmann::json::array()},
                         {"conflicts", nlohmann::json::array()}};
  for (const auto &change : changes) json["changes"].push_back(change.to_json());
  for (const auto &conflict : conflicts) json["conflicts"].push_back(conflict.to_json());
  json["stamp"] = stamp ? nlohmann::json(*stamp) : nlohmann::json(nullptr);
  return json;
}

namespace {

// An entity's state on one side: absent, or a (possibly deleted) version's content.
struct State {
  bool present = false;
  bool deleted = false;
  nlohmann::json fields = nlohmann::json::object();

  bool live() const { return present && !deleted; }
  bool same_as(const State &other) const {
    if (live() != other.live()) return false;
    return !live() || fields == other.fields;
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

State read_state(const Result &result, std::int64_t row, const EntityType &type,
                 const std::string &alias) {
  State state;
  std::int64_t head = result.column_index(alias + ".head_id");
  if (result.is_null(row, head)) return state;
  state.present = true;
  state.deleted = result.get_bool(row, result.column_index(alias + ".deleted"));
  for (const auto &column : type.columns)
    state.fields[column.name] = result.get_json(row, result.column_index(alias + "." + column.name));
  return state;
}

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

std::vector<std::shared_ptr<const EntityType>> all_entity_types(SessionState &session) {
  Result names = session.run("SELECT name FROM evcs_entity_type ORDER BY name", Params());
  std::vector<std::shared_ptr<const EntityType>> types;
  for (std::int64_t row = 0; row < names.rows(); ++row)
    types.push_back(session.engine->entity_types.find(session, names.get_text(row, 0)));
  return types;
}

// The three-way merge of one entity. Returns the content to write into the target, if any.
struct Resolution {
  enum class Action { none, write, remove } action = Action::none;
  nlohmann::json fields;
};

Resolution merge_entity(const EntityType &type, const std::string &head_id, const State &base,
                        const State &ours, const State &theirs, const std::string &strategy,
                        std::vector<MergeConflictInfo> &conflicts) {
  using Action = Resolution::Action;
  Resolution resolution;
  if (theirs.same_as(base)) return resolution;
  auto conflict = [&](const std::string &field, nlohmann::json base_value,
                      nlohmann::json ours_value, nlohmann::json theirs_value) {
    conflicts.push_back({type.name, head_id, field, std::move(base_value), std::move(ours_value),
                         std::move(theirs_value)});
  };
  if (!theirs.live()) {
    if (!ours.live()) return resolution;
    if (ours.same_as(base)) {
      resolution.action = Action::remove;
    } else {
      conflict("deleted", !base.live(), false, true);
      if (strategy == "theirs") resolution.action = Action::remove;
    }
    return resolution;
  }
  if (!ours.live()) {
    if (base.live() && ours.present) {
      conflict("deleted", false, true, false);
      if (strategy != "theirs") return resolution;
    }
    resolution.action = Action::write;
    resolution.fields = theirs.fields;
    return resolution;
  }
  nlohmann::json merged = ours.fields;
  for (const auto &column : type.columns) {
    const auto &name = column.name;
    const nlohmann::json none;
    const nlohmann::json &base_value = base.live() ? base.fields[name] : none;
    const nlohmann::json &ours_value = ours.fields[name];
    const nlohmann::json &theirs_value = theirs.fields[name];
    if (theirs_value == base_value || theirs_value == ours_value) continue;
    if (ours_value == base_value) {
      merged[name] = theirs_value;
      continue;
    }
    conflict(name, base_value, ours_value, theirs_value);
    if (strategy == "theirs") merged[name] = theirs_value;
  }
  if (merged != ours.fields) {
    resolution.action = Action::write;
    resolution.fields = merged;
  }
  return resolution;
}

EntityDiff describe(const EntityType &type, const std::string &head_id, const State &target,
                    const State &source) {
  EntityDiff diff{type.name, head_id, "modified", {}};
  if (source.live() && !target.live()) diff.kind = "added";
  else if (!source.live() && target.live()) diff.kind = "deleted";
  for (const auto &column : type.columns) {
    nlohmann::json old_value = target.live() ? target.fields[column.name] : nlohmann::json();
    nlohmann::json new_value = source.live() ? source.fields[column.name] : nlohmann::json();
    if (old_value != new_value) diff.fields[column.name] = {old_value, new_value};
  }
  return diff;
}

MergeResult plan_merge(SessionState &session, const std::string &source,
                       const std::optional<std::string> &into, const std::string &strategy,
                       std::vector<std::pair<std::shared_ptr<const EntityType>, nlohmann::json>>
                           *writes) {
  if (strategy != "fail" && strategy != "theirs" && strategy != "ours")
    throw InvalidArgument("merge strategy must be \"fail\", \"theirs\" or \"ours\", not \"" +
                          strategy + "\"");
  detail::ensure_catalog(session);
  BranchRow source_branch = branch_row(session, source);
  if (!source_branch.parent)
    throw InvalidArgument("branch '" + source + "' has no parent to merge into");
  std::string target = into.value_or(*source_branch.parent);
  if (target == source)
    throw InvalidArgument("cannot merge branch '" + source + "' into itself");
  branch_row(session, target);
  if (target != *source_branch.parent)
    throw InvalidArgument("branch '" + source + "' merges into its parent '" +
                          *source_branch.parent + "', not into '" + target + "'");
  if (writes != nullptr) session.run("SELECT evcs_require_writable($1)", Params::of(target));
  Result base_row = session.run("SELECT valid_from, base_stamp FROM evcs_branch_base "
                                "WHERE branch = $1 ORDER BY valid_from DESC LIMIT 1",
                                Params::of(source));
  MergeResult result;
  if (base_row.rows() == 0 || base_row.get_timestamp(0, 1) == INT64_MAX) return result;
  Params params = Params::of(source, target, Timestamp{base_row.get_timestamp(0, 0)},
                             Timestamp{base_row.get_timestamp(0, 1)});
  for (const auto &type : all_entity_types(session)) {
    std::string versions = quoted(type->version_table());
    // Writers of these entities on any branch wait from here to the merge's commit, so the
    // target state planned below is still the target state when the merge writes over it.
    if (writes != nullptr)
      session.run("SELECT 1 FROM " + quoted(type->name) + " WHERE head_id IN (SELECT head_id FROM " +
                      versions + " WHERE branch = $1 AND valid_to IS NULL AND valid_from > $2 AND "
                      "valid_from <> 'infinity') ORDER BY head_id FOR UPDATE",
                  Params::of(source, Timestamp{base_row.get_timestamp(0, 0)}));
    // Every join is a LATERAL lookup by head_id, so the plan stays one index probe per entity
    // whatever the planner estimates for tables a bulk load has just filled. An entity the
    // source changed since its base has its open version on the source from after the base.
    std::string sql =
        "WITH target_now AS (SELECT * FROM evcs_lineage($2, 'infinity')), "
        "target_at_base AS (SELECT * FROM evcs_lineage($2, $4)), "
        "theirs AS (SELECT * FROM " + versions + " WHERE branch = $1 AND valid_to IS NULL AND "
        "valid_from > $3 AND valid_from <> 'infinity') "
        "SELECT theirs.head_id::text, " + state_columns(*type, "theirs") + ", " +
        state_columns(*type, "ours") + ", " + state_columns(*type, "recorded") + ", " +
        state_columns(*type, "at_base") +
        " FROM theirs"
        " LEFT JOIN LATERAL (SELECT x.* FROM target_now l CROSS JOIN LATERAL (SELECT * FROM " +
        versions + " y WHERE y.head_id = theirs.head_id AND y.branch = l.branch AND "
        "y.valid_from <= l.at ORDER BY y.valid_from DESC LIMIT 1) x ORDER BY l.depth LIMIT 1) "
        "ours ON true"
        " LEFT JOIN LATERAL (SELECT parent_branch, parent_version FROM " + versions +
        " f WHERE f.head_id = theirs.head_id AND f.branch = $1 AND f.valid_from > $3 ORDER BY "
        "f.valid_from LIMIT 1) first_change ON true"
        " LEFT JOIN LATERAL (SELECT * FROM " + versions + " r WHERE r.head_id = theirs.head_id "
        "AND r.branch = first_change.parent_branch AND r.version = first_change.parent_version "
        "AND r.valid_from >= $4 LIMIT 1) recorded ON true"
        " LEFT JOIN LATERAL (SELECT x.* FROM target_at_base l CROSS JOIN LATERAL (SELECT * FROM " +
        versions + " y WHERE y.head_id = theirs.head_id AND y.branch = l.branch AND "
        "y.valid_from <= l.at ORDER BY y.valid_from DESC LIMIT 1) x ORDER BY l.depth LIMIT 1) "
        "at_base ON true"
        " ORDER BY theirs.head_id";
    Result rows = session.run(sql, params);
    nlohmann::json type_writes = nlohmann::json::array();
    for (std::int64_t row = 0; row < rows.rows(); ++row) {
      std::string head_id = rows.get_text(row, 0);
      State theirs = read_state(rows, row, *type, "theirs");
      State ours = read_state(rows, row, *type, "ours");
      State recorded = read_state(rows, row, *type, "recorded");
      State base = recorded.present ? recorded : read_state(rows, row, *type, "at_base");
      Resolution resolution =
          merge_entity(*type, head_id, base, ours, theirs, strategy, result.conflicts);
      if (resolution.action == Resolution::Action::none) continue;
      State written;
      written.present = true;
      written.deleted = resolution.action == Resolution::Action::remove;
      written.fields = written.deleted ? ours.fields : resolution.fields;
      result.changes.push_back(describe(*type, head_id, ours, written));
      type_writes.push_back(
          {{"head_id", head_id}, {"deleted", written.deleted}, {"fields", written.fields}});
    }
    if (writes != nullptr && !type_writes.empty()) writes->emplace_back(type, type_writes);
  }
  return result;
}

} // namespace

std::vector<EntityDiff> Session::diff(const std::string &source, const std::string &target,
                                      std::optional<std::int64_t> as_of) {
  detail::SessionState::UseGuard guard(*state_);
  detail::ensure_catalog(*state_);
  branch_row(*state_, source);
  branch_row(*state_, target);
  Params params = Params::of(source, target);
  params.add(as_of ? std::optional<Timestamp>(Timestamp{*as_of}) : std::nullopt);
  std::vector<EntityDiff> diffs;
  for (const auto &type : all_entity_types(*state_)) {
    std::string sql =
        "WITH source_lineage AS (SELECT * FROM evcs_lineage($1, coalesce($3::timestamptz, "
        "'infinity'))), target_lineage AS (SELECT * FROM evcs_lineage($2, "
        "coalesce($3::timestamptz, 'infinity'))), "
        "source_state AS (" + visible_versions(*type, "source_lineage") + "), "
        "target_state AS (" + visible_versions(*type, "target_lineage") + ") "
        "SELECT coalesce(s.head_id, t.head_id)::text, " + state_columns(*type, "s") + ", " +
        state_columns(*type, "t") +
        " FROM source_state s FULL JOIN target_state t ON s.head_id = t.head_id"
        " WHERE s.deleted IS NOT TRUE OR t.deleted IS NOT TRUE"
        " ORDER BY 1";
    Result rows = state_->run_as_of(sql, params, as_of);
    for (std::int64_t row = 0; row < rows.rows(); ++row) {
      State source_state = read_state(rows, row, *type, "s");
      State target_state = read_state(rows, row, *type, "t");
      if (source_state.same_as(target_state)) continue;
      diffs.push_back(describe(*type, rows.get_text(row, 0), target_state, source_state));
    }
  }
  return diffs;
}

MergeResult Session::merge_preview(const std::string &source,
                                   const std::optional<std::string> &into,
                                   const std::string &strategy) {
  SessionState::UseGuard guard(*state_);
  return plan_merge(*state_, source, into, strategy, nullptr);
}

MergeResult Session::merge(const std::string &source, const std::optional<std::string> &into,
                           const std::string &strategy, const std::string &message) {
  require_utf8(message, "the commit message");
  SessionState::UseGuard guard(*state_);
  if (!state_->written_types.empty() || state_->catalog_stamp_pending)
    throw InvalidArgument("this session holds uncommitted versioned work: commit or roll it "
                          "back before merging");
  detail::OperationScope scope(*state_);
  try {
    std::vector<std::pair<std::shared_ptr<const EntityType>, nlohmann::json>> writes;
    MergeResult result = plan_merge(*state_, source, into, strategy, &writes);
    if (!result.conflicts.empty() && strategy == "fail") {
      nlohmann::json detail = {{"conflicts", nlohmann::json::array()}};
      for (const auto &conflict : result.conflicts)
        detail["conflicts"].push_back(conflict.to_json());
      throw MergeConflict(std::to_string(result.conflicts.size()) + " conflict(s) merging '" +
                              source + "': resolve them on the branch, or merge with strategy "
                              "\"theirs\" or \"ours\"; the detail lists each one",
                          "", detail.dump());
    }
    std::string target = into.value_or(*branch_row(*state_, source).parent);
    // The merged versions are written already stamped, set by set: no pending rows to
    // rewrite at commit.
    SessionState::CommitStamp stamp = state_->take_commit_stamp();
    std::int64_t changes = 0;
    for (const auto &[type, entities] : writes) {
      std::string versions = quoted(type->version_table());
      std::string head_ids = "{";
      for (const auto &entity : entities)
        head_ids += (head_ids.size() > 1 ? "," : "") + entity["head_id"].get<std::string>();
      state_->run("UPDATE " + versions + " SET valid_to = $2::timestamptz WHERE head_id = "
                  "ANY($3::uuid[]) AND branch = $1 AND valid_to IS NULL",
                  Params::of(target, stamp.text, head_ids + "}"));
      Params params = Params::of(target, stamp.text);
      params.add_json(entities.dump());
      params.add(source);
      params.add(state_->author.empty() ? std::nullopt
                                        : std::optional<std::string>(state_->author));
      std::string fields;
      for (const auto &column : type->columns) fields += ", " + quoted(column.name);
      std::string merged_fields;
      for (const auto &column : type->columns) merged_fields += ", merged." + quoted(column.name);
      // Each version continues the target's own version (just closed) or, on a target that
      // reads the entity through to its parent, starts the target's lineage from the version
      // read there (as a first write on a branch does); an entity new to the target starts
      // at version 1.
      Result inserted = state_->run(
          "WITH ancestors AS MATERIALIZED (SELECT * FROM evcs_lineage($1, 'infinity') "
          "WHERE depth > 0) "
          "INSERT INTO " + versions + " (head_id, branch, version, valid_from, deleted, "
          "parent_branch, parent_version, merged_from, author" + fields + ") "
          "SELECT m.head_id, $1, coalesce(own.version + 1, 1), $2::timestamptz, m.deleted, "
          "CASE WHEN own.head_id IS NULL THEN read_through.branch ELSE own.parent_branch END, "
          "CASE WHEN own.head_id IS NULL THEN read_through.version ELSE own.parent_version END, "
          "$4, $5" + merged_fields +
          " FROM jsonb_to_recordset($3::jsonb) AS m(head_id uuid, deleted boolean, fields jsonb)"
          " CROSS JOIN LATERAL jsonb_populate_record(NULL::" + versions + ", m.fields) merged"
          " LEFT JOIN LATERAL (SELECT o.head_id, o.version, o.parent_branch, o.parent_version "
          "FROM " + versions + " o WHERE o.head_id = m.head_id AND o.branch = $1 AND "
          "o.valid_to = $2::timestamptz LIMIT 1) own ON true"
          " LEFT JOIN LATERAL (SELECT x.branch, x.version FROM ancestors l CROSS JOIN LATERAL "
          "(SELECT y.branch, y.version FROM " + versions + " y WHERE y.head_id = m.head_id AND "
          "y.branch = l.branch AND y.valid_from <= l.at ORDER BY y.valid_from DESC LIMIT 1) x "
          "ORDER BY l.depth LIMIT 1) read_through ON own.head_id IS NULL",
          params);
      changes += inserted.rows_affected();
    }
    // The source's next merge starts from this one: its base moves to this commit's stamp.
    state_->run("INSERT INTO evcs_branch_base (branch, valid_from, base_stamp) "
                "VALUES ($1, $2::timestamptz, $2::timestamptz)",
                Params::of(source, stamp.text));
    state_->commit_stamped(stamp, target, message.empty() ? "merge " + source : message, changes,
                           source);
    result.stamp = stamp.micros;
    return result;
  } catch (...) {
    state_->close_quietly();
    throw;
  }
}

} // namespace evcs
