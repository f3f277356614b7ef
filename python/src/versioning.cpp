// Versioned entities, branches, diff, merge and the commit graph (synchronous calls). Records
// cross the C ABI as JSON text. Repository records, diffs and merge results are handed to the
// pure-Python package parsed, their field values turned into the Python types of their columns
// (evcs_repository_fields says which); branch, commit and tag records are handed over as text
// (evcs/branching.py converts them).
#include "native.hpp"

#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <vector>

namespace evcs::python {

namespace {

const std::int64_t *pointer(const std::optional<std::int64_t> &value) {
  return value ? &*value : nullptr;
}

// A field whose values JSON carries as text (for a double: its NaN and infinities), with the
// EVCS_TYPE_* kind that decodes them.
struct TextualField {
  py::object name;
  int value_type;
};

// An entity type's fields as evcs_repository_fields lists them: [{"name", "type",
// "value_type"}, ...] in column order.
py::object fields_of(const evcs_repository *repository) {
  char *raw = nullptr;
  int status = evcs_repository_fields(&raw, repository);
  abi::Allocated owned(raw);
  abi::check(status);
  return parse_json(py::str(raw));
}

std::vector<TextualField> textual_fields(const py::object &fields) {
  std::vector<TextualField> textual;
  for (py::handle field : fields) {
    int value_type = field["value_type"].cast<int>();
    if (value_type == EVCS_TYPE_DOUBLE || value_type == EVCS_TYPE_NUMERIC ||
        value_type == EVCS_TYPE_UUID || value_type == EVCS_TYPE_DATE ||
        value_type == EVCS_TYPE_TIMESTAMP || value_type == EVCS_TYPE_BYTES)
      textual.push_back({field["name"], value_type});
  }
  return textual;
}

// Replaces mapping[key], when mapping is a dict holding it, by its decoded value (a value that
// needs no decoding, such as a finite double, stays as it is).
void decode_item(py::handle mapping, py::handle key, int value_type) {
  if (!PyDict_Check(mapping.ptr())) return;
  PyObject *value = PyDict_GetItemWithError(mapping.ptr(), key.ptr());
  if (value == nullptr) {
    if (PyErr_Occurred()) throw py::error_already_set();
    return;
  }
  py::object decoded = decode_field(value_type, value);
  if (decoded.ptr() == value) return;
  if (PyDict_SetItem(mapping.ptr(), key.ptr(), decoded.ptr()) != 0) throw py::error_already_set();
}

// A resolution's "value" (a conflict settled with take "value") is echoed as the caller sent
// it, in the form writes accept (evcs/repository.py's encoder: Decimal and UUID as text,
// datetime.isoformat(), bytea hex). It is decoded like a field where it reads as one; text that
// does not (free-form input the server would parse) stays as it was given.
void decode_resolution_value(py::handle conflict, int value_type) {
  if (!PyDict_Check(conflict.ptr())) return;
  PyObject *resolution = PyDict_GetItemString(conflict.ptr(), "resolution");
  if (resolution == nullptr || !PyDict_Check(resolution)) return;
  py::str value_key("value");
  try {
    decode_item(resolution, value_key, value_type);
  } catch (const abi::Error &) {
  } catch (py::error_already_set &) {
  }
}

// "fields", and "previous" (the changed fields' values before the version), of a version record
// with `textual` decoded.
void decode_record(py::handle record, const std::vector<TextualField> &textual) {
  for (const char *key : {"fields", "previous"}) {
    PyObject *values = PyDict_GetItemString(record.ptr(), key);
    if (values == nullptr) continue;
    for (const auto &field : textual) decode_item(values, field.name, field.value_type);
  }
}

// An entity type's fields as fields_of lists them, read from its repository in the session (so
// in the session's transaction, which sees types it created itself).
py::object type_fields(NativeSession &session, const std::string &name) {
  evcs_repository *raw = nullptr;
  call_without_gil([&] { return evcs_session_repository(&raw, session.get(), name.c_str()); });
  abi::Repository repository(raw);
  py::object fields = fields_of(repository.get());
  release_without_gil(repository);
  return fields;
}

// The repository of one entity type; keeps its Python session object (and so the C session)
// alive.
class NativeRepository {
public:
  NativeRepository(py::object session, abi::Repository handle)
      : session_(std::move(session)), handle_(std::move(handle)), fields_(fields_of(handle_.get())),
        textual_fields_(textual_fields(fields_)) {}
  ~NativeRepository() { release_without_gil(handle_); }
  evcs_repository *get() const noexcept { return handle_.get(); }
  // [{"name", "type", "value_type"}, ...] in column order.
  const py::object &fields() const noexcept { return fields_; }

  // A version record (a dict), a list of them, or None, with the fields of the types JSON
  // carries as text converted in place.
  py::object records(const py::str &text) const {
    py::object parsed = parse_json(text);
    if (PyList_Check(parsed.ptr())) {
      for (py::handle record : parsed) decode_fields(record);
    } else if (PyDict_Check(parsed.ptr())) {
      decode_fields(parsed);
    }
    return parsed;
  }

  // A page {"versions": [...], "cursor": text or null} as (the version records, the cursor,
  // None: found_page's relations).
  py::tuple page(const py::str &text) const {
    py::object parsed = parse_json(text);
    py::object versions = parsed["versions"];
    for (py::handle record : versions) decode_fields(record);
    return py::make_tuple(versions, parsed["cursor"], py::none());
  }

  // find_page's page as page() gives it, made straight from the rows (evcs_repository_find_rows):
  // no JSON on either side. Each related version's record is made once; a version has the same
  // record in every relation row that names it.
  py::tuple found_page(const py::str &options_json) {
    std::string options = utf8(options_json, "the find options JSON");
    evcs_found *raw = nullptr;
    call_without_gil(
        [&] { return evcs_repository_find_rows(&raw, handle_.get(), options.c_str()); });
    abi::Found found(raw);
    CollectorPause pause;
    const evcs_result *rows = nullptr;
    std::int64_t count = 0;
    abi::check(evcs_found_rows(&rows, &count, found.get()));
    py::list records = version_records(rows, 0, count, py::len(fields_));
    const char *cursor = nullptr;
    abi::check(evcs_found_cursor(&cursor, found.get()));
    std::size_t relation_count = 0;
    abi::check(evcs_found_relation_count(&relation_count, found.get()));
    if (relation_count == 0)
      return py::make_tuple(records, cursor ? py::object(py::str(cursor)) : py::none(), py::none());
    py::dict relations;
    py::str included_key("included"), entity_type_key("entity_type"), to_one_key("to_one");
    for (py::handle record : records) record[included_key] = py::dict();
    for (std::size_t index = 0; index < relation_count; ++index) {
      const char *name = nullptr, *entity_type = nullptr;
      int to_one = 0;
      const evcs_result *related_rows = nullptr;
      abi::check(evcs_found_relation(&name, &entity_type, &to_one, &related_rows, found.get(),
                                     index));
      std::int64_t related_count = 0;
      abi::check(evcs_result_row_count(&related_count, related_rows));
      py::list related = version_records(related_rows, 0, related_count,
                                         related_field_count(entity_type));
      py::str relation_name(name);
      py::dict description;
      description[entity_type_key] = py::str(entity_type);
      description[to_one_key] = py::bool_(to_one != 0);
      relations[relation_name] = description;
      for (std::int64_t row = 0; row < count; ++row) {
        const int64_t *indexes = nullptr;
        size_t related_of_row = 0;
        abi::check(evcs_found_related(&indexes, &related_of_row, found.get(), index, row));
        py::list versions(related_of_row);
        for (size_t at = 0; at < related_of_row; ++at)
          versions[at] = related[static_cast<size_t>(indexes[at])];
        records[static_cast<size_t>(row)][included_key][relation_name] = std::move(versions);
      }
    }
    return py::make_tuple(records, cursor ? py::object(py::str(cursor)) : py::none(), relations);
  }

  // history_page's page as page() gives it, made straight from the rows
  // (evcs_repository_history_rows): no JSON on either side. A version's previous values are the
  // objects of the version before it.
  py::tuple history_page(const py::str &head_id, const py::str &options_json) {
    std::string id = utf8(head_id, "the head id");
    std::string options = utf8(options_json, "the history options JSON");
    evcs_history *raw = nullptr;
    call_without_gil([&] {
      return evcs_repository_history_rows(&raw, handle_.get(), id.c_str(), options.c_str());
    });
    abi::History history(raw);
    CollectorPause pause;
    const evcs_result *rows = nullptr;
    std::int64_t first = 0, count = 0;
    abi::check(evcs_history_rows(&rows, &first, &count, history.get()));
    // The page's records and the one before it, whose fields are the first one's previous values.
    const std::int64_t start = first > 0 ? first - 1 : 0;
    py::list records = version_records(rows, start, first + count - start, py::len(fields_));
    std::vector<py::str> names;
    for (py::handle field : fields_) names.emplace_back(field["name"]);
    py::str changed_key("changed"), previous_key("previous"), fields_key("fields");
    py::list page(static_cast<size_t>(count));
    for (std::int64_t row = first; row < first + count; ++row) {
      const size_t *changed = nullptr;
      size_t changed_count = 0;
      abi::check(evcs_history_changed(&changed, &changed_count, history.get(), row));
      py::object before =
          row > 0 ? py::object(records[static_cast<size_t>(row - 1 - start)][fields_key])
                  : py::none();
      py::list changed_names;
      py::dict previous;
      for (size_t index = 0; index < changed_count; ++index) {
        const py::str &name = names.at(changed[index]);
        changed_names.append(name);
        previous[name] = row > 0 ? py::object(before[name]) : py::none();
      }
      py::object record = records[static_cast<size_t>(row - start)];
      record[changed_key] = std::move(changed_names);
      record[previous_key] = std::move(previous);
      page[static_cast<size_t>(row - first)] = std::move(record);
    }
    const char *cursor = nullptr;
    abi::check(evcs_history_cursor(&cursor, history.get()));
    return py::make_tuple(page, cursor ? py::object(py::str(cursor)) : py::none(), py::none());
  }

  // find_page's page as typed columns (typed_columns: the columns named in `wanted`) and the
  // cursor: what a DataFrame is made of, without a record per version.
  py::tuple found_columns(const py::str &options_json,
                          const std::vector<std::pair<std::string, bool>> &wanted) {
    std::string options = utf8(options_json, "the find options JSON");
    evcs_found *raw = nullptr;
    call_without_gil(
        [&] { return evcs_repository_find_rows(&raw, handle_.get(), options.c_str()); });
    abi::Found found(raw);
    const evcs_result *rows = nullptr;
    std::int64_t count = 0;
    abi::check(evcs_found_rows(&rows, &count, found.get()));
    py::list columns = typed_columns(rows, count, wanted);
    const char *cursor = nullptr;
    abi::check(evcs_found_cursor(&cursor, found.get()));
    return py::make_tuple(columns, cursor ? py::object(py::str(cursor)) : py::none());
  }

private:
  void decode_fields(py::handle record) const { decode_record(record, textual_fields_); }

  std::size_t related_field_count(const std::string &name) {
    auto found = related_field_counts_.find(name);
    if (found != related_field_counts_.end()) return found->second;
    std::size_t count = py::len(type_fields(session_.cast<NativeSession &>(), name));
    return related_field_counts_.emplace(name, count).first->second;
  }


  py::object session_;
  abi::Repository handle_;
  py::object fields_;
  std::vector<TextualField> textual_fields_;
  // The number of fields of the types found_page's relations loaded, by name.
  std::map<std::string, std::size_t> related_field_counts_;
};

// Gives the values of diff entries and merge conflicts the Python types of their fields, as
// versions have them. Each entity type's fields are read once per call, from its repository in
// the session (so in the session's transaction, which sees types it created itself).
class DiffDecoder {
public:
  explicit DiffDecoder(NativeSession &session) : session_(session) {}

  // Entries {"entity_type", "fields": {name: {"old", "new"}}} (a diff, a merge's changes).
  void decode_changes(py::handle entries) {
    py::str old_key("old"), new_key("new");
    for (py::handle entry : entries) {
      py::object fields = entry["fields"];
      for (const auto &field : textual_fields_of(entry["entity_type"])) {
        if (!fields.contains(field.name)) continue;
        py::object change = fields[field.name];
        decode_item(change, old_key, field.value_type);
        decode_item(change, new_key, field.value_type);
      }
    }
  }

  // Conflicts {"entity_type", "field", "base", "ours", "theirs", "resolution"}; the
  // pseudo-field "deleted" (delete versus modify) is no column and keeps its values.
  void decode_conflicts(py::handle conflicts) {
    py::str base_key("base"), ours_key("ours"), theirs_key("theirs");
    for (py::handle conflict : conflicts) {
      py::object name = conflict["field"];
      for (const auto &field : textual_fields_of(conflict["entity_type"])) {
        if (!field.name.equal(name)) continue;
        decode_item(conflict, base_key, field.value_type);
        decode_item(conflict, ours_key, field.value_type);
        decode_item(conflict, theirs_key, field.value_type);
        decode_resolution_value(conflict, field.value_type);
      }
    }
  }

  // A merge result {"changes", "conflicts", "stamp", "target", ...}, parsed and decoded.
  py::object merge_result(const py::str &text) {
    py::object result = parse_json(text);
    decode_changes(result["changes"]);
    decode_conflicts(result["conflicts"]);
    return result;
  }

  // A merge ends the session's transaction and returns its connection, whether it landed or
  // not; reading field types afterwards began a new transaction, which this ends the same way.
  void end_transaction_after_merge() {
    if (!types_.empty()) call_without_gil([&] { return evcs_session_close(session_.get()); });
  }

private:
  const std::vector<TextualField> &textual_fields_of(py::handle entity_type) {
    std::string name = utf8(py::str(entity_type), "the entity type name");
    auto found = types_.find(name);
    if (found != types_.end()) return found->second;
    return types_.emplace(name, textual_fields(type_fields(session_, name))).first->second;
  }

  NativeSession &session_;
  std::map<std::string, std::vector<TextualField>> types_;
};

// Runs a merge's C call; a merge conflict is raised as its evcs.MergeConflict with the
// conflicts' values decoded.
template <typename Call> py::object typed_merge(NativeSession &session, Call call) {
  DiffDecoder decoder(session);
  py::object result;
  try {
    result = decoder.merge_result(text_without_gil(call));
  } catch (const abi::Error &error) {
    if (error.code() != EVCS_EMERGECONFLICT) throw;
    py::object exception = make_exception(error);
    decoder.decode_conflicts(exception.attr("detail")["conflicts"]);
    decoder.end_transaction_after_merge();
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exception.ptr())), exception.ptr());
    throw py::error_already_set();
  }
  decoder.end_transaction_after_merge();
  return result;
}

std::unique_ptr<NativeRepository> repository(py::object self, const py::str &entity_type) {
  NativeSession &session = self.cast<NativeSession &>();
  std::string name = utf8(entity_type, "the entity type name");
  evcs_repository *raw = nullptr;
  call_without_gil([&] { return evcs_session_repository(&raw, session.get(), name.c_str()); });
  return std::make_unique<NativeRepository>(std::move(self), abi::Repository(raw));
}

} // namespace

void register_versioning(py::module_ &module) {
  auto session = py::reinterpret_borrow<py::class_<NativeSession>>(module.attr("Session"));
  session
      .def(
          "create_entity_type",
          [](NativeSession &s, const py::str &name, const py::str &columns_json,
             const py::str &constraints_json) {
            std::string type_name = utf8(name, "the entity type name");
            std::string columns = utf8(columns_json, "the columns JSON");
            std::string constraints = utf8(constraints_json, "the constraints JSON");
            call_without_gil([&] {
              return evcs_session_create_entity_type_with(s.get(), type_name.c_str(),
                                                          columns.c_str(), constraints.c_str());
            });
          },
          py::arg("name"), py::arg("columns_json"), py::arg("constraints_json"))
      .def("repository", &repository, py::arg("entity_type"))
      .def(
          "add_column",
          [](NativeSession &s, const py::str &entity_type, const py::str &column,
             const py::str &type, const std::optional<py::str> &default_value) {
            std::string type_name = utf8(entity_type, "the entity type name");
            std::string column_name = utf8(column, "the column name");
            std::string column_type = utf8(type, "the column type");
            std::optional<std::string> default_text = optional_utf8(default_value, "the default value");
            call_without_gil([&] {
              return evcs_session_add_column(s.get(), type_name.c_str(), column_name.c_str(),
                                             column_type.c_str(),
                                             c_str(default_text));
            });
          },
          py::arg("entity_type"), py::arg("column"), py::arg("type"), py::arg("default"))
      .def(
          "drop_column",
          [](NativeSession &s, const py::str &entity_type, const py::str &column) {
            std::string type_name = utf8(entity_type, "the entity type name");
            std::string column_name = utf8(column, "the column name");
            call_without_gil([&] {
              return evcs_session_drop_column(s.get(), type_name.c_str(), column_name.c_str());
            });
          },
          py::arg("entity_type"), py::arg("column"))
      .def(
          "rename_column",
          [](NativeSession &s, const py::str &entity_type, const py::str &column,
             const py::str &new_name) {
            std::string type_name = utf8(entity_type, "the entity type name");
            std::string column_name = utf8(column, "the column name");
            std::string renamed = utf8(new_name, "the new column name");
            call_without_gil([&] {
              return evcs_session_rename_column(s.get(), type_name.c_str(), column_name.c_str(),
                                                renamed.c_str());
            });
          },
          py::arg("entity_type"), py::arg("column"), py::arg("new_name"))
      .def(
          "create_branch",
          [](NativeSession &s, const py::str &name, const py::str &from_branch,
             const py::str &mode, std::optional<std::int64_t> as_of) {
            std::string branch = utf8(name, "the branch name");
            std::string parent = utf8(from_branch, "the parent branch name");
            std::string branch_mode = utf8(mode, "the branch mode");
            call_without_gil([&] {
              return evcs_session_create_branch_as_of(s.get(), branch.c_str(), parent.c_str(),
                                                      branch_mode.c_str(), pointer(as_of));
            });
          },
          py::arg("name"), py::arg("from_branch"), py::arg("mode"), py::arg("as_of"))
      .def("branches",
           [](NativeSession &s) {
             return text_without_gil([&](char **out) { return evcs_session_branches(out, s.get()); });
           })
      .def(
          "commit_log",
          [](NativeSession &s, const py::str &options_json) {
            std::string options = utf8(options_json, "the commit log options JSON");
            return text_without_gil([&](char **out) {
              return evcs_session_commit_log(out, s.get(), options.c_str());
            });
          },
          py::arg("options_json"))
      .def(
          "lock_branch",
          [](NativeSession &s, const py::str &name) {
            std::string branch = utf8(name, "the branch name");
            call_without_gil([&] { return evcs_session_lock_branch(s.get(), branch.c_str()); });
          },
          py::arg("name"))
      .def(
          "unlock_branch",
          [](NativeSession &s, const py::str &name) {
            std::string branch = utf8(name, "the branch name");
            call_without_gil([&] { return evcs_session_unlock_branch(s.get(), branch.c_str()); });
          },
          py::arg("name"))
      .def(
          "archive_branch",
          [](NativeSession &s, const py::str &name) {
            std::string branch = utf8(name, "the branch name");
            call_without_gil([&] { return evcs_session_archive_branch(s.get(), branch.c_str()); });
          },
          py::arg("name"))
      .def(
          "diff",
          [](NativeSession &s, const py::str &source, const py::str &target,
             std::optional<std::int64_t> as_of) {
            std::string from = utf8(source, "the source branch name");
            std::string to = utf8(target, "the target branch name");
            py::object entries = parse_json(text_without_gil([&](char **out) {
              return evcs_session_diff(out, s.get(), from.c_str(), to.c_str(), pointer(as_of));
            }));
            DiffDecoder(s).decode_changes(entries);
            return entries;
          },
          py::arg("source"), py::arg("target"), py::arg("as_of"))
      .def(
          "merge",
          [](NativeSession &s, const py::str &source, const py::str &options_json) {
            std::string from = utf8(source, "the source branch name");
            std::string options = utf8(options_json, "the merge options JSON");
            return typed_merge(s, [&](char **out) {
              return evcs_session_merge_with_options(out, s.get(), from.c_str(), options.c_str());
            });
          },
          py::arg("source"), py::arg("options_json"))
      .def(
          "merge_preview",
          [](NativeSession &s, const py::str &source, const py::str &options_json) {
            std::string from = utf8(source, "the source branch name");
            std::string options = utf8(options_json, "the merge options JSON");
            return DiffDecoder(s).merge_result(text_without_gil([&](char **out) {
              return evcs_session_merge_preview_with_options(out, s.get(), from.c_str(),
                                                             options.c_str());
            }));
          },
          py::arg("source"), py::arg("options_json"))
      .def(
          "merge_start",
          [](NativeSession &s, const py::str &source, const py::str &options_json) {
            std::string from = utf8(source, "the source branch name");
            std::string options = utf8(options_json, "the merge options JSON");
            return typed_merge(s, [&](char **out) {
              return evcs_session_merge_start(out, s.get(), from.c_str(), options.c_str());
            });
          },
          py::arg("source"), py::arg("options_json"))
      .def(
          "merge_status",
          [](NativeSession &s, const std::optional<py::str> &target) {
            std::optional<std::string> into = optional_utf8(target, "the target branch name");
            return DiffDecoder(s).merge_result(text_without_gil([&](char **out) {
              return evcs_session_merge_status(out, s.get(), c_str(into));
            }));
          },
          py::arg("target"))
      .def(
          "merge_resolve",
          [](NativeSession &s, const py::str &resolutions_json,
             const std::optional<py::str> &target) {
            std::string resolutions = utf8(resolutions_json, "the resolutions JSON");
            std::optional<std::string> into = optional_utf8(target, "the target branch name");
            return typed_merge(s, [&](char **out) {
              return evcs_session_merge_resolve(out, s.get(), resolutions.c_str(), c_str(into));
            });
          },
          py::arg("resolutions_json"), py::arg("target"))
      .def(
          "merge_continue",
          [](NativeSession &s, const std::optional<py::str> &target,
             const std::optional<py::str> &message) {
            std::optional<std::string> into = optional_utf8(target, "the target branch name");
            std::optional<std::string> text = optional_utf8(message, "the commit message");
            return typed_merge(s, [&](char **out) {
              return evcs_session_merge_continue(out, s.get(), c_str(into), c_str(text));
            });
          },
          py::arg("target"), py::arg("message"))
      .def(
          "merge_abort",
          [](NativeSession &s, const std::optional<py::str> &target) {
            std::optional<std::string> into = optional_utf8(target, "the target branch name");
            call_without_gil([&] { return evcs_session_merge_abort(s.get(), c_str(into)); });
          },
          py::arg("target"))
      .def(
          "commit_info",
          [](NativeSession &s, const py::str &ref) {
            std::string commit = utf8(ref, "the commit");
            return text_without_gil([&](char **out) {
              return evcs_session_commit_info(out, s.get(), commit.c_str());
            });
          },
          py::arg("ref"))
      .def(
          "merge_base",
          [](NativeSession &s, const py::str &first, const py::str &second) {
            std::string one = utf8(first, "the first commit");
            std::string other = utf8(second, "the second commit");
            return text_without_gil([&](char **out) {
              return evcs_session_merge_base(out, s.get(), one.c_str(), other.c_str());
            });
          },
          py::arg("first"), py::arg("second"))
      .def(
          "tag",
          [](NativeSession &s, const py::str &name, const std::optional<py::str> &commit,
             const std::optional<py::str> &message) {
            std::string tag = utf8(name, "the tag name");
            std::optional<std::string> ref = optional_utf8(commit, "the commit");
            std::optional<std::string> text = optional_utf8(message, "the tag message");
            return text_without_gil([&](char **out) {
              return evcs_session_tag(out, s.get(), tag.c_str(), c_str(ref), c_str(text));
            });
          },
          py::arg("name"), py::arg("commit"), py::arg("message"))
      .def("tags",
           [](NativeSession &s) {
             return text_without_gil(
                 [&](char **out) { return evcs_session_tags(out, s.get()); });
           })
      .def(
          "delete_tag",
          [](NativeSession &s, const py::str &name) {
            std::string tag = utf8(name, "the tag name");
            call_without_gil([&] { return evcs_session_delete_tag(s.get(), tag.c_str()); });
          },
          py::arg("name"))
      .def(
          "revert_commit",
          [](NativeSession &s, const py::str &ref, const py::str &options_json) {
            std::string commit = utf8(ref, "the commit");
            std::string options = utf8(options_json, "the merge options JSON");
            return typed_merge(s, [&](char **out) {
              return evcs_session_revert_commit(out, s.get(), commit.c_str(), options.c_str());
            });
          },
          py::arg("ref"), py::arg("options_json"))
      .def(
          "cherry_pick",
          [](NativeSession &s, const py::str &ref, const py::str &options_json) {
            std::string commit = utf8(ref, "the commit");
            std::string options = utf8(options_json, "the merge options JSON");
            return typed_merge(s, [&](char **out) {
              return evcs_session_cherry_pick(out, s.get(), commit.c_str(), options.c_str());
            });
          },
          py::arg("ref"), py::arg("options_json"))
      .def(
          "diff_history",
          [](NativeSession &s, const py::str &from_json, const py::str &to_json,
             const std::optional<py::str> &branch) {
            std::string from = utf8(from_json, "the \"from\" point JSON");
            std::string to = utf8(to_json, "the \"to\" point JSON");
            std::optional<std::string> on = optional_utf8(branch, "the branch name");
            py::object entries = parse_json(text_without_gil([&](char **out) {
              return evcs_session_diff_history(out, s.get(), from.c_str(), to.c_str(),
                                               c_str(on));
            }));
            DiffDecoder(s).decode_changes(entries);
            return entries;
          },
          py::arg("from_json"), py::arg("to_json"), py::arg("branch"));

  py::class_<NativeRepository>(module, "Repository")
      .def_property_readonly("fields", &NativeRepository::fields)
      .def(
          "create",
          [](NativeRepository &r, const py::str &values_json, const std::optional<py::str> &head_id) {
            std::string values = utf8(values_json, "the values JSON");
            std::optional<std::string> id = optional_utf8(head_id, "the head id");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_create(out, r.get(), values.c_str(), c_str(id));
            }));
          },
          py::arg("values_json"), py::arg("head_id"))
      .def(
          "create_many",
          [](NativeRepository &r, const py::str &rows_json, const std::optional<py::str> &message) {
            std::string rows = utf8(rows_json, "the rows JSON");
            std::optional<std::string> text = optional_utf8(message, "the commit message");
            return text_without_gil([&](char **out) {
              return evcs_repository_create_many(out, r.get(), rows.c_str(), c_str(text));
            });
          },
          py::arg("rows_json"), py::arg("message"))
      .def(
          "update_many",
          [](NativeRepository &r, const py::str &rows_json, const std::optional<py::str> &message) {
            std::string rows = utf8(rows_json, "the rows JSON");
            std::optional<std::string> text = optional_utf8(message, "the commit message");
            return text_without_gil([&](char **out) {
              return evcs_repository_update_many(out, r.get(), rows.c_str(), c_str(text));
            });
          },
          py::arg("rows_json"), py::arg("message"))
      .def(
          "update",
          [](NativeRepository &r, const py::str &head_id, const py::str &values_json,
             std::optional<std::int64_t> expected_version) {
            std::string id = utf8(head_id, "the head id");
            std::string values = utf8(values_json, "the values JSON");
            if (expected_version && *expected_version < 0)
              throw abi::Error(EVCS_EINVALID, "expected_version must not be negative");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_update(out, r.get(), id.c_str(), values.c_str(),
                                            expected_version.value_or(-1));
            }));
          },
          py::arg("head_id"), py::arg("values_json"), py::arg("expected_version"))
      .def(
          "delete",
          [](NativeRepository &r, const py::str &head_id) {
            std::string id = utf8(head_id, "the head id");
            return r.records(text_without_gil(
                [&](char **out) { return evcs_repository_delete(out, r.get(), id.c_str()); }));
          },
          py::arg("head_id"))
      .def(
          "restore",
          [](NativeRepository &r, const py::str &head_id) {
            std::string id = utf8(head_id, "the head id");
            return r.records(text_without_gil(
                [&](char **out) { return evcs_repository_restore(out, r.get(), id.c_str()); }));
          },
          py::arg("head_id"))
      .def(
          "revert",
          [](NativeRepository &r, const py::str &head_id, std::optional<std::int64_t> to_version,
             std::optional<std::int64_t> as_of) {
            std::string id = utf8(head_id, "the head id");
            if (to_version && *to_version < 0)
              throw abi::Error(EVCS_EINVALID, "to_version must not be negative");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_revert(out, r.get(), id.c_str(), to_version.value_or(-1),
                                            pointer(as_of));
            }));
          },
          py::arg("head_id"), py::arg("to_version"), py::arg("as_of"))
      .def(
          "get",
          [](NativeRepository &r, const py::str &head_id, std::optional<std::int64_t> as_of,
             const std::optional<py::str> &branch) {
            std::string id = utf8(head_id, "the head id");
            std::optional<std::string> on = optional_utf8(branch, "the branch name");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_get(out, r.get(), id.c_str(), pointer(as_of), c_str(on));
            }));
          },
          py::arg("head_id"), py::arg("as_of"), py::arg("branch"))
      .def(
          "get_at_commit",
          [](NativeRepository &r, const py::str &head_id, const py::str &ref) {
            std::string id = utf8(head_id, "the head id");
            std::string commit = utf8(ref, "the commit");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_get_at_commit(out, r.get(), id.c_str(), commit.c_str());
            }));
          },
          py::arg("head_id"), py::arg("ref"))
      .def(
          "versions",
          [](NativeRepository &r, const py::str &range_json) {
            std::string range = utf8(range_json, "the version range JSON");
            return r.page(text_without_gil([&](char **out) {
              return evcs_repository_versions_page(out, r.get(), range.c_str());
            }));
          },
          py::arg("range_json"))
      .def(
          "history", &NativeRepository::history_page, py::arg("head_id"),
          py::arg("options_json"))
      .def("find", &NativeRepository::found_page, py::arg("options_json"))
      .def("find_columns", &NativeRepository::found_columns, py::arg("options_json"),
           py::arg("wanted"))
      .def(
          "count",
          [](NativeRepository &r, const py::str &options_json) {
            std::string options = utf8(options_json, "the find options JSON");
            std::int64_t count = 0;
            call_without_gil(
                [&] { return evcs_repository_count(&count, r.get(), options.c_str()); });
            return count;
          },
          py::arg("options_json"))
      .def(
          "exists",
          [](NativeRepository &r, const py::str &options_json) {
            std::string options = utf8(options_json, "the find options JSON");
            int found = 0;
            call_without_gil(
                [&] { return evcs_repository_exists(&found, r.get(), options.c_str()); });
            return found != 0;
          },
          py::arg("options_json"));
}

} // namespace evcs::python
