// Sessions and transactions (synchronous calls). Every call that can reach the server runs with
// the GIL released.
#include "native.hpp"

#include <pybind11/stl.h>

#include <optional>

namespace evcs::python {

namespace {

abi::Result execute(NativeSession &session, const py::str &sql, py::handle values) {
  std::string statement = utf8(sql, "the SQL text");
  abi::Params params = to_params(values);
  evcs_result *raw = nullptr;
  call_without_gil([&] {
    return evcs_session_execute(&raw, session.get(), statement.c_str(), params.get());
  });
  return abi::Result(raw);
}

// The session's author, None when it has none.
std::optional<std::string> author_of(const NativeSession &session) {
  const char *author = nullptr;
  abi::check(evcs_session_author(&author, session.get()));
  if (author == nullptr || *author == '\0') return std::nullopt;
  return std::string(author);
}

// The payload of run_in_transaction's C body callback.
struct TransactionBody {
  py::object fn;
  // What fn raised in the latest attempt; re-raised unchanged if that attempt's failure ends
  // the whole call.
  std::optional<py::error_already_set> raised;
};

// Calls fn with the GIL held. An evcs.Error keeps its C status so the engine's retry policy
// sees it; any other exception is reported as a plain, non-retryable EVCS_ERROR.
int run_transaction_body(void *payload, evcs_session *) {
  auto &body = *static_cast<TransactionBody *>(payload);
  py::gil_scoped_acquire gil;
  body.raised.reset();
  try {
    body.fn();
    return EVCS_OK;
  } catch (py::error_already_set &failure) {
    int status = EVCS_ERROR;
    std::string sqlstate;
    std::string message;
    try {
      py::object error = failure.value();
      message = py::str(error).cast<std::string>();
      py::object error_status = py::getattr(error, "_status", py::none());
      if (py::isinstance<py::int_>(error_status)) {
        status = error_status.cast<int>();
        py::object error_sqlstate = py::getattr(error, "sqlstate", py::none());
        if (!error_sqlstate.is_none()) sqlstate = py::str(error_sqlstate).cast<std::string>();
      }
    } catch (...) {
      message = "the transaction function raised an exception";
    }
    body.raised.emplace(std::move(failure));
    return evcs_error_set(status, sqlstate.empty() ? nullptr : sqlstate.c_str(), message.c_str());
  } catch (...) {
    return evcs_error_set(EVCS_ERROR, nullptr, "the transaction function failed");
  }
}

void run_in_transaction(NativeSession &session, py::object fn, int attempts) {
  TransactionBody body{std::move(fn), std::nullopt};
  int status;
  {
    py::gil_scoped_release released;
    status = evcs_session_run_in_transaction(session.get(), attempts, &run_transaction_body, &body);
  }
  if (status != EVCS_OK && body.raised) throw py::error_already_set(std::move(*body.raised));
  abi::check(status);
}

std::unique_ptr<NativeTransaction> begin(py::object self, bool nested) {
  NativeSession &session = self.cast<NativeSession &>();
  evcs_transaction *begun = nullptr;
  // BEGIN / SAVEPOINT are sent lazily with the next statement, so no GIL release is needed.
  abi::check(nested ? evcs_session_begin_nested(&begun, session.get())
                    : evcs_session_begin(&begun, session.get()));
  return std::make_unique<NativeTransaction>(std::move(self), abi::Transaction(begun));
}

} // namespace

NativeSession::~NativeSession() { release_without_gil(handle_); }

NativeTransaction::~NativeTransaction() { release_without_gil(handle_); }

void register_session(py::module_ &module) {
  py::class_<NativeSession>(module, "Session")
      .def(
          "execute",
          [](NativeSession &session, const py::str &sql, py::handle params) {
            return convert_result(execute(session, sql, params).get());
          },
          py::arg("sql"), py::arg("params"))
      .def(
          "execute_columns",
          [](NativeSession &session, const py::str &sql, py::handle params) {
            abi::Result result = execute(session, sql, params);
            std::int64_t rows = 0;
            abi::check(evcs_result_row_count(&rows, result.get()));
            return typed_columns(result.get(), rows, {});
          },
          py::arg("sql"), py::arg("params"))
      .def(
          "scalar",
          [](NativeSession &session, const py::str &sql, py::handle params) {
            return convert_scalar(execute(session, sql, params).get());
          },
          py::arg("sql"), py::arg("params"))
      .def(
          "commit",
          [](NativeSession &session, const std::optional<py::str> &message) {
            std::optional<std::string> text;
            if (message) text = utf8(*message, "the commit message");
            call_without_gil(
                [&] { return evcs_session_commit(session.get(), text ? text->c_str() : nullptr); });
          },
          py::arg("message"))
      .def("rollback",
           [](NativeSession &session) {
             call_without_gil([&] { return evcs_session_rollback(session.get()); });
           })
      .def("close",
           [](NativeSession &session) {
             call_without_gil([&] { return evcs_session_close(session.get()); });
           })
      .def("begin", [](py::object self) { return begin(std::move(self), false); })
      .def("begin_nested", [](py::object self) { return begin(std::move(self), true); })
      .def("run_in_transaction", &run_in_transaction, py::arg("fn"), py::arg("attempts"))
      .def_property_readonly("in_transaction",
                             [](const NativeSession &session) {
                               int active = 0;
                               abi::check(evcs_session_in_transaction(&active, session.get()));
                               return active != 0;
                             })
      .def_property(
          "autocommit",
          [](const NativeSession &session) {
            int on = 0;
            abi::check(evcs_session_autocommit(&on, session.get()));
            return on != 0;
          },
          [](NativeSession &session, bool on) {
            abi::check(evcs_session_set_autocommit(session.get(), on ? 1 : 0));
          })
      .def_property_readonly("branch",
                             [](const NativeSession &session) {
                               const char *branch = nullptr;
                               abi::check(evcs_session_branch(&branch, session.get()));
                               return std::string(branch);
                             })
      .def_property_readonly("author",
                             [](const NativeSession &session) {
                               return author_of(session);
                             })
      .def_property_readonly("backend_pid", [](const NativeSession &session) {
        std::int64_t pid = 0;
        abi::check(evcs_session_backend_pid(&pid, session.get()));
        return pid;
      });

  py::class_<NativeTransaction>(module, "Transaction")
      .def("commit",
           [](NativeTransaction &transaction) {
             call_without_gil([&] { return evcs_transaction_commit(transaction.get()); });
           })
      .def("rollback",
           [](NativeTransaction &transaction) {
             call_without_gil([&] { return evcs_transaction_rollback(transaction.get()); });
           })
      .def_property_readonly("is_active", [](const NativeTransaction &transaction) {
        int active = 0;
        abi::check(evcs_transaction_is_active(&active, transaction.get()));
        return active != 0;
      });
}

} // namespace evcs::python
