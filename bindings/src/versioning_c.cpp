// Versioned entities through the C ABI: entity types and the repository of one type. Records
// cross as JSON text; this file only translates between that text and the core's types.
#include "capi_internal.hpp"

#include <set>

using namespace evcs::capi;
using json = nlohmann::json;

namespace {

char *version_out(const evcs::Version &version) { return copy_out(version.to_json_text()); }

char *versions_out(const std::vector<evcs::Version> &versions) {
  std::string array = "[";
  for (const auto &version : versions) {
    if (array.size() > 1) array += ',';
    array += version.to_json_text();
  }
  array += ']';
  return copy_out(array);
}

// [{"name": "...", "type": "..."}, ...] in column order.
std::vector<evcs::ColumnDefinition> columns_argument(const char *text) {
  json columns = json_argument(text, "the columns JSON");
  if (!columns.is_array())
    throw evcs::InvalidArgument("the columns JSON must be an array of {\"name\": ..., \"type\": ...} "
                                "objects in column order");
  std::vector<evcs::ColumnDefinition> definitions;
  for (const auto &column : columns) {
    bool valid = column.is_object() && column.contains("name") &&
                 (column.contains("type") || column.contains("references"));
    if (valid)
      for (const auto &[key, value] : column.items())
        valid = valid && value.is_string() &&
                (key == "name" || key == "type" || key == "references" || key == "on_delete");
    if (!valid)
      throw evcs::InvalidArgument("each column must be an object {\"name\": \"...\", \"type\": "
                                  "\"...\"} or {\"name\": \"...\", \"references\": \"...\", "
                                  "\"on_delete\": \"...\"} with string values, not " +
                                  column.dump());
    definitions.push_back({column["name"].get<std::string>(), column.value("type", ""),
                           column.value("references", ""), column.value("on_delete", "")});
  }
  return definitions;
}

json values_argument(const char *text) {
  json values = json_argument(text, "the values JSON");
  if (!values.is_object())
    throw evcs::InvalidArgument("the values JSON must be an object mapping field names to values");
  return values;
}

std::int64_t integer_option(const json &value, const char *key) {
  if (!value.is_number_integer())
    throw evcs::InvalidArgument(std::string("the find option \"") + key +
                                "\" must be an integer, not " + value.dump());
  return value.get<std::int64_t>();
}

// The options object `text` holds: nothing for NULL or "null"; InvalidArgument for anything but
// an object, naming `what` and the keys it takes (`listed`).
std::optional<json> options_object(const char *text, const std::string &what, const char *listed) {
  if (text == nullptr) return std::nullopt;
  json given = json_argument(text, what.c_str());
  if (given.is_null()) return std::nullopt;
  if (!given.is_object())
    throw evcs::InvalidArgument(what + " must be an object with any of " + listed);
  return given;
}

// NULL, "null" or an object with the keys of evcs::FindOptions.
evcs::FindOptions find_options_argument(const char *text) {
  evcs::FindOptions options;
  const char *listed =
      "where, order_by, limit, offset, as_of, branch, as_of_commit, after, include";
  std::optional<json> object = options_object(text, "the find options JSON", listed);
  if (!object) return options;
  const json &given = *object;
  static const std::set<std::string> known = {"where",  "order_by", "limit",
                                              "offset", "as_of",    "branch",
                                              "as_of_commit", "after", "include"};
  for (const auto &[key, value] : given.items()) {
    if (known.count(key) == 0)
      throw evcs::InvalidArgument("unknown find option \"" + key + "\" (known: " + listed + ")");
    if (value.is_null()) continue;
    if (key == "where") {
      options.where = value;
    } else if (key == "order_by" || key == "include") {
      std::vector<std::string> &names = key == "order_by" ? options.order_by : options.include;
      const std::string what = key == "order_by" ? "a field name" : "a relation name";
      if (value.is_string()) {
        names.push_back(value.get<std::string>());
      } else if (value.is_array()) {
        for (const auto &name : value) {
          if (!name.is_string())
            throw evcs::InvalidArgument(key + " must be " + what + " or an array of them, not " +
                                        value.dump());
          names.push_back(name.get<std::string>());
        }
      } else {
        throw evcs::InvalidArgument(key + " must be " + what + " or an array of them, not " +
                                    value.dump());
      }
    } else if (key == "limit") {
      options.limit = integer_option(value, "limit");
    } else if (key == "offset") {
      options.offset = integer_option(value, "offset");
    } else if (key == "as_of") {
      options.as_of = integer_option(value, "as_of");
    } else {
      if (!value.is_string())
        throw evcs::InvalidArgument("the find option \"" + key + "\" must be a string, not " +
                                    value.dump());
      (key == "branch" ? options.branch : key == "after" ? options.after : options.as_of_commit) =
          value.get<std::string>();
    }
  }
  return options;
}

// NULL, "null" or an object with the keys of evcs::VersionRange.
evcs::VersionRange version_range_argument(const char *text) {
  evcs::VersionRange range;
  const char *listed = "from, to, mode, branch, limit, after";
  std::optional<json> object = options_object(text, "the version range JSON", listed);
  if (!object) return range;
  const json &given = *object;
  for (const auto &[key, value] : given.items()) {
    std::optional<std::int64_t> *integer = key == "from"    ? &range.from
                                           : key == "to"    ? &range.to
                                           : key == "limit" ? &range.limit
                                                            : nullptr;
    if (integer == nullptr && key != "mode" && key != "branch" && key != "after")
      throw evcs::InvalidArgument("unknown version range option \"" + key + "\" (known: " +
                                  listed + ")");
    if (value.is_null()) continue;
    if (integer != nullptr) {
      if (!value.is_number_integer())
        throw evcs::InvalidArgument("the version range option \"" + key +
                                    "\" must be an integer, not " + value.dump());
      *integer = value.get<std::int64_t>();
    } else if (!value.is_string()) {
      throw evcs::InvalidArgument("the version range option \"" + key +
                                  "\" must be a string, not " + value.dump());
    } else if (key == "mode") {
      range.mode = value.get<std::string>();
    } else {
      (key == "branch" ? range.branch : range.after) = value.get<std::string>();
    }
  }
  return range;
}

// NULL, "null" or an object with the keys of evcs::HistoryOptions.
evcs::HistoryOptions history_options_argument(const char *text) {
  evcs::HistoryOptions options;
  const char *listed = "branch, limit, after";
  std::optional<json> object = options_object(text, "the history options JSON", listed);
  if (!object) return options;
  const json &given = *object;
  for (const auto &[key, value] : given.items()) {
    if (key != "branch" && key != "limit" && key != "after")
      throw evcs::InvalidArgument("unknown history option \"" + key + "\" (known: " + listed +
                                  ")");
    if (value.is_null()) continue;
    if (key == "limit") {
      if (!value.is_number_integer())
        throw evcs::InvalidArgument("the history option \"limit\" must be an integer, not " +
                                    value.dump());
      options.limit = value.get<std::int64_t>();
    } else if (!value.is_string()) {
      throw evcs::InvalidArgument("the history option \"" + key + "\" must be a string, not " +
                                  value.dump());
    } else {
      (key == "branch" ? options.branch : options.after) = value.get<std::string>();
    }
  }
  return options;
}

std::optional<std::string> optional_branch(const char *branch) {
  if (branch == nullptr) return std::nullopt;
  return text_argument(branch, "the branch name");
}

// Every write and read starts the same way: a non-NULL out-parameter, cleared, and a repository.
template <typename Out> evcs::Repository &prepare(Out **out, evcs_repository *repository) {
  deref(out, "out");
  *out = nullptr;
  return deref(repository, "repository").repository;
}

} // namespace

static_assert(EVCS_FOUND_FIELDS_AFTER == evcs::FoundPage::first_field,
              "evcs.h documents the core's row layout");

evcs_found::evcs_found(evcs::FoundPage page)
    : rows(std::move(page.rows)), size(page.size), cursor(std::move(page.cursor)) {
  for (auto &relation : page.relations)
    relations.push_back({std::move(relation.name), std::move(relation.entity_type),
                         relation.to_one, evcs_result(std::move(relation.rows)),
                         std::move(relation.offsets), std::move(relation.indexes)});
}

const evcs_found::Relation &evcs_found::relation(std::size_t index) const {
  if (index >= relations.size())
    throw evcs::InvalidArgument("relation " + std::to_string(index) + " of a page with " +
                                std::to_string(relations.size()));
  return relations[index];
}

extern "C" {

int evcs_session_create_entity_type(evcs_session *session, const char *name,
                                    const char *columns_json) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    std::string type_name = text_argument(name, "the entity type name");
    target.session.create_entity_type(type_name, columns_argument(columns_json));
  });
}

int evcs_session_create_entity_type_with(evcs_session *session, const char *name,
                                         const char *columns_json, const char *constraints_json) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    std::string type_name = text_argument(name, "the entity type name");
    evcs::EntityConstraints constraints;
    if (constraints_json != nullptr)
      constraints = evcs::EntityConstraints::from_json(
          json_argument(constraints_json, "the constraints JSON"));
    target.session.create_entity_type(type_name, columns_argument(columns_json), constraints);
  });
}

int evcs_session_repository(evcs_repository **out, evcs_session *session,
                            const char *entity_type) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_session &owner = deref(session, "session");
    *out = new evcs_repository(
        owner.session.repository(text_argument(entity_type, "the entity type name")));
  });
}

void evcs_repository_free(evcs_repository *repository) { delete repository; }

int evcs_repository_fields(char **out_json, const evcs_repository *repository) {
  return guarded([&] {
    deref(out_json, "out");
    *out_json = nullptr;
    json fields = json::array();
    for (const auto &field : deref(repository, "repository").repository.fields()) {
      json described = {{"name", field.name},
                        {"type", field.type},
                        {"value_type", static_cast<int>(field.value_type)}};
      if (!field.references.empty()) {
        described["references"] = field.references;
        described["on_delete"] = field.on_delete;
      }
      fields.push_back(std::move(described));
    }
    *out_json = copy_out(fields.dump());
  });
}

int evcs_repository_create(char **out_version, evcs_repository *repository,
                           const char *values_json, const char *head_id) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    json values = values_argument(values_json);
    *out_version = version_out(repo.create(values, optional_text(head_id, "the head id", "")));
  });
}

int evcs_repository_create_many(char **out_json, evcs_repository *repository,
                                const char *rows_json, const char *message) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_json, repository);
    json rows = json_argument(rows_json, "the rows JSON");
    std::string commit_message = optional_text(message, "the commit message", "");
    *out_json = copy_out(repo.create_many(rows, commit_message).to_json().dump());
  });
}

int evcs_repository_update_many(char **out_json, evcs_repository *repository,
                                const char *rows_json, const char *message) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_json, repository);
    json rows = json_argument(rows_json, "the rows JSON");
    std::string commit_message = optional_text(message, "the commit message", "");
    *out_json = copy_out(repo.update_many(rows, commit_message).to_json().dump());
  });
}

int evcs_repository_update(char **out_version, evcs_repository *repository, const char *head_id,
                           const char *values_json, int64_t expected_version) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    std::string id = text_argument(head_id, "the head id");
    json values = values_argument(values_json);
    std::optional<std::int64_t> expected;
    if (expected_version >= 0) expected = expected_version;
    *out_version = version_out(repo.update(id, values, expected));
  });
}

int evcs_repository_delete(char **out_version, evcs_repository *repository, const char *head_id) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    *out_version = version_out(repo.remove(text_argument(head_id, "the head id")));
  });
}

int evcs_repository_restore(char **out_version, evcs_repository *repository,
                            const char *head_id) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    *out_version = version_out(repo.restore(text_argument(head_id, "the head id")));
  });
}

int evcs_repository_revert(char **out_version, evcs_repository *repository, const char *head_id,
                           int64_t to_version, const int64_t *as_of) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    std::string id = text_argument(head_id, "the head id");
    std::optional<std::int64_t> target;
    if (to_version >= 0) target = to_version;
    *out_version = version_out(repo.revert(id, target, optional_int(as_of)));
  });
}

int evcs_repository_get(char **out_version, evcs_repository *repository, const char *head_id,
                        const int64_t *as_of, const char *branch) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    std::string id = text_argument(head_id, "the head id");
    std::optional<evcs::Version> found = repo.get(id, optional_int(as_of), optional_branch(branch));
    *out_version = found ? version_out(*found) : copy_out("null");
  });
}

int evcs_repository_history(char **out_versions, evcs_repository *repository,
                            const char *head_id, const char *branch) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_versions, repository);
    std::string id = text_argument(head_id, "the head id");
    *out_versions = versions_out(repo.history(id, optional_branch(branch)));
  });
}

int evcs_repository_history_page(char **out_page, evcs_repository *repository,
                                 const char *head_id, const char *options_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_page, repository);
    std::string id = text_argument(head_id, "the head id");
    evcs::VersionPage page = repo.history_page(id, history_options_argument(options_json));
    *out_page = copy_out(page.to_json_text());
  });
}

int evcs_repository_history_rows(evcs_history **out, evcs_repository *repository,
                                 const char *head_id, const char *options_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out, repository);
    std::string id = text_argument(head_id, "the head id");
    *out = new evcs_history(repo.history_rows(id, history_options_argument(options_json)));
  });
}

int evcs_history_rows(const evcs_result **out, int64_t *out_first, int64_t *out_count,
                      const evcs_history *history) {
  return guarded([&] {
    deref(out, "out");
    deref(out_first, "out_first");
    deref(out_count, "out_count");
    const evcs_history &page = deref(history, "history");
    *out = &page.rows;
    *out_first = page.history.first;
    *out_count = page.history.count;
  });
}

int evcs_history_changed(const size_t **out_fields, size_t *out_count,
                         const evcs_history *history, int64_t row) {
  return guarded([&] {
    deref(out_fields, "out_fields");
    deref(out_count, "out_count");
    const auto &changed = deref(history, "history").history.changed;
    if (row < 0 || row >= static_cast<int64_t>(changed.size()))
      throw evcs::InvalidArgument("row " + std::to_string(row) + " of a history of " +
                                  std::to_string(changed.size()) + " versions");
    *out_fields = changed[static_cast<std::size_t>(row)].data();
    *out_count = changed[static_cast<std::size_t>(row)].size();
  });
}

int evcs_history_cursor(const char **out, const evcs_history *history) {
  return guarded([&] {
    deref(out, "out");
    const evcs_history &page = deref(history, "history");
    *out = page.history.cursor ? page.history.cursor->c_str() : nullptr;
  });
}

void evcs_history_free(evcs_history *history) { delete history; }

int evcs_repository_get_at_commit(char **out_version, evcs_repository *repository,
                                  const char *head_id, const char *ref) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_version, repository);
    std::string id = text_argument(head_id, "the head id");
    std::optional<evcs::Version> found = repo.get_at_commit(id, text_argument(ref, "the commit"));
    *out_version = found ? version_out(*found) : copy_out("null");
  });
}

int evcs_repository_versions(char **out_versions, evcs_repository *repository,
                             const char *range_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_versions, repository);
    *out_versions = versions_out(repo.versions(version_range_argument(range_json)));
  });
}

int evcs_repository_versions_page(char **out_page, evcs_repository *repository,
                                  const char *range_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_page, repository);
    *out_page = copy_out(repo.versions_page(version_range_argument(range_json)).to_json_text());
  });
}

int evcs_repository_find_page(char **out_page, evcs_repository *repository,
                              const char *options_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_page, repository);
    *out_page = copy_out(repo.find_page_json(find_options_argument(options_json)));
  });
}

int evcs_repository_find(char **out_versions, evcs_repository *repository,
                         const char *options_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out_versions, repository);
    *out_versions = copy_out(repo.find_json(find_options_argument(options_json)));
  });
}

int evcs_repository_find_rows(evcs_found **out, evcs_repository *repository,
                              const char *options_json) {
  return guarded([&] {
    evcs::Repository &repo = prepare(out, repository);
    *out = new evcs_found(repo.find_rows(find_options_argument(options_json)));
  });
}

int evcs_found_rows(const evcs_result **out, int64_t *out_count, const evcs_found *found) {
  return guarded([&] {
    deref(out, "out");
    deref(out_count, "out_count");
    const evcs_found &page = deref(found, "found");
    *out = &page.rows;
    *out_count = page.size;
  });
}

int evcs_found_cursor(const char **out, const evcs_found *found) {
  return guarded([&] {
    deref(out, "out");
    const evcs_found &page = deref(found, "found");
    *out = page.cursor ? page.cursor->c_str() : nullptr;
  });
}

int evcs_found_relation_count(size_t *out, const evcs_found *found) {
  return guarded([&] {
    deref(out, "out");
    *out = deref(found, "found").relations.size();
  });
}

int evcs_found_relation(const char **out_name, const char **out_entity_type, int *out_to_one,
                        const evcs_result **out_rows, const evcs_found *found, size_t index) {
  return guarded([&] {
    deref(out_name, "out_name");
    deref(out_entity_type, "out_entity_type");
    deref(out_to_one, "out_to_one");
    deref(out_rows, "out_rows");
    const evcs_found &page = deref(found, "found");
    const evcs_found::Relation &relation = page.relation(index);
    *out_name = relation.name.c_str();
    *out_entity_type = relation.entity_type.c_str();
    *out_to_one = relation.to_one ? 1 : 0;
    *out_rows = &relation.rows;
  });
}

int evcs_found_related(const int64_t **out_rows, size_t *out_count, const evcs_found *found,
                       size_t index, int64_t row) {
  return guarded([&] {
    deref(out_rows, "out_rows");
    deref(out_count, "out_count");
    const evcs_found &page = deref(found, "found");
    const evcs_found::Relation &relation = page.relation(index);
    if (row < 0 || row >= page.size)
      throw evcs::InvalidArgument("row " + std::to_string(row) + " of a page of " +
                                  std::to_string(page.size));
    const auto begin = static_cast<std::size_t>(relation.offsets[static_cast<std::size_t>(row)]);
    const auto end = static_cast<std::size_t>(relation.offsets[static_cast<std::size_t>(row) + 1]);
    *out_rows = relation.indexes.data() + begin;
    *out_count = end - begin;
  });
}

void evcs_found_free(evcs_found *found) { delete found; }

int evcs_repository_count(int64_t *out, evcs_repository *repository, const char *options_json) {
  return guarded([&] {
    deref(out, "out");
    evcs::Repository &repo = deref(repository, "repository").repository;
    *out = repo.count(find_options_argument(options_json));
  });
}

int evcs_repository_exists(int *out, evcs_repository *repository, const char *options_json) {
  return guarded([&] {
    deref(out, "out");
    evcs::Repository &repo = deref(repository, "repository").repository;
    *out = repo.exists(find_options_argument(options_json)) ? 1 : 0;
  });
}

} // extern "C"
