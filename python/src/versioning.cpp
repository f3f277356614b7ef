// Versioned entities, branches, diff and merge (synchronous calls). Records cross the C ABI as
// JSON text. Repository records are handed to the pure-Python package parsed, their field
// values turned into the Python types of their columns (evcs_repository_fields says which);
// branch, diff and merge records are handed over as text (evcs/branching.py converts them).
#include "native.hpp"

#include <pybind11/stl.h>

#include <optional>

namespace evcs::python {

namespace {

const std::int64_t *pointer(const std::optional<std::int64_t> &value) {
  return value ? &*value : nullptr;
}

// The repository of one entity type; keeps its Python session object (and so the C session)
// alive.
class NativeRepository {
public:
  NativeRepository(py::object session, abi::Repository handle)
      : session_(std::move(session)), handle_(std::move(handle)) {
    char *raw = nullptr;
    int status = evcs_repository_fields(&raw, handle_.get());
    abi::Allocated owned(raw);
    abi::check(status);
    fields_ = parse_json(py::str(raw));
    for (py::handle field : fields_) {
      int value_type = field["value_type"].cast<int>();
      if (value_type == EVCS_TYPE_NUMERIC || value_type == EVCS_TYPE_UUID ||
          value_type == EVCS_TYPE_DATE || value_type == EVCS_TYPE_TIMESTAMP ||
          value_type == EVCS_TYPE_BYTES)
        textual_fields_.push_back({field["name"], value_type});
    }
  }
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

private:
  struct TextualField {
    py::object name;
    int value_type;
  };

  void decode_fields(py::handle record) const {
    PyObject *fields = PyDict_GetItemString(record.ptr(), "fields");
    if (fields == nullptr || !PyDict_Check(fields)) return;
    for (const auto &field : textual_fields_) {
      PyObject *value = PyDict_GetItemWithError(fields, field.name.ptr());
      if (value == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        continue;
      }
      py::object decoded = decode_field(field.value_type, value);
      if (PyDict_SetItem(fields, field.name.ptr(), decoded.ptr()) != 0)
        throw py::error_already_set();
    }
  }

  py::object session_;
  abi::Repository handle_;
  py::object fields_;
  std::vector<TextualField> textual_fields_;
};

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
          [](NativeSession &s, const py::str &name, const py::str &columns_json) {
            std::string type_name = utf8(name, "the entity type name");
            std::string columns = utf8(columns_json, "the columns JSON");
            call_without_gil([&] {
              return evcs_session_create_entity_type(s.get(), type_name.c_str(), columns.c_str());
            });
          },
          py::arg("name"), py::arg("columns_json"))
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
             const py::str &mode) {
            std::string branch = utf8(name, "the branch name");
            std::string parent = utf8(from_branch, "the parent branch name");
            std::string branch_mode = utf8(mode, "the branch mode");
            call_without_gil([&] {
              return evcs_session_create_branch(s.get(), branch.c_str(), parent.c_str(),
                                                branch_mode.c_str());
            });
          },
          py::arg("name"), py::arg("from_branch"), py::arg("mode"))
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
            return text_without_gil([&](char **out) {
              return evcs_session_diff(out, s.get(), from.c_str(), to.c_str(), pointer(as_of));
            });
          },
          py::arg("source"), py::arg("target"), py::arg("as_of"))
      .def(
          "merge",
          [](NativeSession &s, const py::str &source, const std::optional<py::str> &into,
             const py::str &strategy) {
            std::string from = utf8(source, "the source branch name");
            std::optional<std::string> to = optional_utf8(into, "the target branch name");
            std::string how = utf8(strategy, "the merge strategy");
            return text_without_gil([&](char **out) {
              return evcs_session_merge(out, s.get(), from.c_str(), c_str(to), how.c_str());
            });
          },
          py::arg("source"), py::arg("into"), py::arg("strategy"))
      .def(
          "merge_preview",
          [](NativeSession &s, const py::str &source, const std::optional<py::str> &into) {
            std::string from = utf8(source, "the source branch name");
            std::optional<std::string> to = optional_utf8(into, "the target branch name");
            return text_without_gil([&](char **out) {
              return evcs_session_merge_preview(out, s.get(), from.c_str(), c_str(to));
            });
          },
          py::arg("source"), py::arg("into"));

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
          "history",
          [](NativeRepository &r, const py::str &head_id, const std::optional<py::str> &branch) {
            std::string id = utf8(head_id, "the head id");
            std::optional<std::string> on = optional_utf8(branch, "the branch name");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_history(out, r.get(), id.c_str(), c_str(on));
            }));
          },
          py::arg("head_id"), py::arg("branch"))
      .def(
          "find",
          [](NativeRepository &r, const py::str &options_json) {
            std::string options = utf8(options_json, "the find options JSON");
            return r.records(text_without_gil([&](char **out) {
              return evcs_repository_find(out, r.get(), options.c_str());
            }));
          },
          py::arg("options_json"))
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
