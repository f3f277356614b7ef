// Diff and three-way merge of branches (SPEC §3.5). The states to compare are computed in SQL,
// set-based per entity type; the per-field decisions are made here; the merged versions are
// written already stamped, two statements per type: an UPDATE closes the target's versions and a
// COPY brings in the merged ones.
#include "copy_text.hpp"
#include "entity_type.hpp"
#include "evcs/error.hpp"
#include "evcs/merge.hpp"
#include "evcs/session.hpp"
#include "session_state.hpp"

namespace evcs {

using detail::append_copy_field;
using detail::append_copy_value;
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
  std::vector<nlohmann::json> values;
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
    conflict(type.columns[field].name, base_value, ours_value, theirs_value);
    if (strategy == "theirs") merged[field] = theirs_value;
  }
  if (merged != ours.values) {
    resolution.action = Action::write;
    resolution.values = std::move(merged);
  }
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

// Where the target's lineage of an entity stands before the merge: the version the target shows
// (its own, or one it reads through to an ancestor), read from the plan's "ours" columns.
struct TargetLineage {
  TargetLineage(const Result &result, const std::string &target)
      : target_(target), branch_(result.column_index("ours.branch")),
        version_(result.column_index("ours.version")),
        parent_branch_(result.column_index("ours.parent_branch")),
        parent_version_(result.column_index("ours.parent_version")) {}

  // The COPY fields (version, parent_branch, parent_version) of the merged version: it continues
  // the target's own version, or starts the target's lineage from the version read through to
  // (as a first write on a branch does), or is version 1 of an entity new to the target.
  std::string continuation(const Result &result, std::int64_t row) const {
    if (result.is_null(row, branch_)) return "1\t\\N\t\\N";
    std::string version = result.get_text(row, version_);
    std::string fields;
    if (result.get_text(row, branch_) != target_) {
      fields = "1\t";
      append_copy_field(fields, result.get_text(row, branch_));
      return fields + '\t' + version;
    }
    fields = std::to_string(std::stoll(version) + 1) + '\t';
    if (result.is_null(row, parent_branch_)) return fields + "\\N\t\\N";
    append_copy_field(fields, result.get_text(row, parent_branch_));
    return fields + '\t' + result.get_text(row, parent_version_);
  }

private:
  std::string target_;
  std::int64_t branch_, version_, parent_branch_, parent_version_;
};

// The merged versions of one entity type as COPY rows. A row ends right before its stamp (the
// last column), which is taken only after the whole merge is planned.
class MergedVersions {
public:
  MergedVersions(const EntityType &type, const std::string &target, const std::string &source,
                 const std::string &author)
      : type_(type) {
    for (const auto &column : type.columns) shapes_.push_back(detail::shape_of(column));
    append_copy_field(target_field_, target);
    append_copy_field(source_field_, source);
    if (author.empty()) author_field_ = "\\N";
    else append_copy_field(author_field_, author);
  }

  void add(const std::string &head_id, const std::string &continuation, bool deleted,
           const std::vector<nlohmann::json> &values) {
    std::string row = head_id + '\t' + target_field_ + '\t' + continuation +
                      (deleted ? "\ttrue\t" : "\tfalse\t") + source_field_ + '\t' +
                      author_field_;
    for (std::size_t field = 0; field < values.size(); ++field) {
      row += '\t';
      append_copy_value(row, values[field], type_.columns[field], shapes_[field], rows_.size());
    }
    rows_.push_back(std::move(row));
    head_ids_ += head_ids_.empty() ? "{" : ",";
    head_ids_ += head_id;
  }

  bool empty() const { return rows_.empty(); }
  std::string head_ids_array() const { return head_ids_ + "}"; }

  std::string copy_sql() const {
    std::string sql = "COPY " + quoted(type_.version_table()) +
                      " (head_id, branch, version, parent_branch, parent_version, deleted, "
                      "merged_from, author";
    for (const auto &column : type_.columns) sql += ", " + quoted(column.name);
    return sql + ", valid_from) FROM STDIN";
  }

  std::string stamped_rows(const std::string &stamp) const {
    std::string data;
    for (const auto &row : rows_) data += row + '\t' + stamp + '\n';
    return data;
  }

private:
  const EntityType &type_;
  std::vector<detail::ColumnShape> shapes_;
  std::string target_field_, source_field_, author_field_;
  std::vector<std::string> rows_;
  std::string head_ids_;
};

using MergeWrites = std::vector<std::pair<std::shared_ptr<const EntityType>, MergedVersions>>;

MergeResult plan_merge(SessionState &session, const std::string &source,
                       const std::optional<std::string> &into, const std::string &strategy,
                       MergeWrites *writes) {
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
      session.run_set_based("SELECT 1 FROM " + quoted(type->name) +
                                " WHERE head_id IN (SELECT head_id FROM " + versions +
                                " WHERE branch = $1 AND valid_to IS NULL AND valid_from > $2 AND "
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
        state_columns(*type, "ours") + ", ours.branch AS \"ours.branch\", ours.version AS "
        "\"ours.version\", ours.parent_branch AS \"ours.parent_branch\", ours.parent_version AS "
        "\"ours.parent_version\", " + state_columns(*type, "recorded") + ", " +
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
        "AND r.valid_from >= $4 ORDER BY r.valid_from LIMIT 1) recorded ON true"
        " LEFT JOIN LATERAL (SELECT x.* FROM target_at_base l CROSS JOIN LATERAL (SELECT * FROM " +
        versions + " y WHERE y.head_id = theirs.head_id AND y.branch = l.branch AND "
        "y.valid_from <= l.at ORDER BY y.valid_from DESC LIMIT 1) x ORDER BY l.depth LIMIT 1) "
        "at_base ON true"
        " ORDER BY theirs.head_id";
    Result rows = session.run_set_based(sql, params);
    const StateColumns theirs_columns(rows, *type, "theirs"), ours_columns(rows, *type, "ours"),
        recorded_columns(rows, *type, "recorded"), at_base_columns(rows, *type, "at_base");
    const TargetLineage target_lineage(rows, target);
    MergedVersions type_writes(*type, target, source, session.author);
    for (std::int64_t row = 0; row < rows.rows(); ++row) {
      std::string head_id = rows.get_text(row, 0);
      State theirs = theirs_columns.read(rows, row);
      State ours = ours_columns.read(rows, row);
      State recorded = recorded_columns.read(rows, row);
      State base = recorded.present ? std::move(recorded) : at_base_columns.read(rows, row);
      Resolution resolution =
          merge_entity(*type, head_id, base, ours, theirs, strategy, result.conflicts);
      if (resolution.action == Resolution::Action::none) continue;
      State written;
      written.present = true;
      written.deleted = resolution.action == Resolution::Action::remove;
      written.values = written.deleted ? ours.values : std::move(resolution.values);
      result.changes.push_back(describe(*type, head_id, ours, written));
      if (writes != nullptr)
        type_writes.add(head_id, target_lineage.continuation(rows, row), written.deleted,
                        written.values);
    }
    if (writes != nullptr && !type_writes.empty())
      writes->emplace_back(type, std::move(type_writes));
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
    Result rows = state_->run_set_based(sql, params, as_of);
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
    MergeWrites writes;
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
      state_->run_set_based("UPDATE " + versions + " SET valid_to = $2::timestamptz WHERE "
                            "head_id = ANY($3::uuid[]) AND branch = $1 AND valid_to IS NULL",
                            Params::of(target, stamp.text, entities.head_ids_array()));
      changes += state_->copy_in(entities.copy_sql(), entities.stamped_rows(stamp.text));
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
