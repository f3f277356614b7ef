// Async calls: the C layer completes them on the engine's I/O thread; the completion enters
// Python, converts the outcome there and hands it to the asyncio loop with
// loop.call_soon_threadsafe, so the event loop itself never waits for the database.
#include "native.hpp"

#include <pybind11/stl.h>

#include <optional>

namespace evcs::python {

namespace {

// Set once by evcs/aio.py: resolve(future, exception_or_None, value, owner) settles a future
// unless it was cancelled. Never destroyed, like the error factory.
py::object *future_resolver = nullptr;

// The payload of one pending C call; owns the Python objects until the completion ran.
struct PendingCall {
  py::object owner; // the NativeSession or NativeTransaction, alive while the call is pending
  py::object loop;
  py::object future;
};

void settle(PendingCall *pending, int status, evcs_result *raw, bool wants_result) {
  abi::Result result(raw);
  std::optional<abi::Error> failure;
  if (status != EVCS_OK) failure.emplace(abi::Error::last(status));
  // During interpreter shutdown nothing can be delivered; the payload is abandoned on purpose
  // because releasing Python objects is no longer possible.
  if (!python_is_running()) return;
  py::gil_scoped_acquire gil;
  std::unique_ptr<PendingCall> owned(pending);
  try {
    py::object exception = py::none();
    py::object value = py::none();
    if (failure) {
      exception = make_exception(*failure);
    } else if (wants_result) {
      try {
        value = convert_result(result.get());
      } catch (const abi::Error &conversion_failure) {
        exception = make_exception(conversion_failure);
      } catch (py::error_already_set &conversion_failure) {
        exception = conversion_failure.value();
      }
    }
    // The owner travels to the loop thread, so that if this was its last reference the session
    // is freed there, not on the I/O thread (freeing rolls back over the network).
    owned->loop.attr("call_soon_threadsafe")(*future_resolver, owned->future, exception, value,
                                             std::move(owned->owner));
  } catch (py::error_already_set &delivery_failure) {
    // e.g. the loop was closed while the call was pending
    delivery_failure.discard_as_unraisable("evcs async completion");
  } catch (...) {
  }
}

void on_result(void *payload, int status, evcs_result *result) {
  settle(static_cast<PendingCall *>(payload), status, result, true);
}

void on_status(void *payload, int status) {
  settle(static_cast<PendingCall *>(payload), status, nullptr, false);
}

// Queues one C async call with `pending` as its payload; the payload is reclaimed here when the
// call was refused (its callback will then never run).
template <typename Start> void start(std::unique_ptr<PendingCall> pending, Start start_call) {
  if (future_resolver == nullptr)
    throw std::logic_error("evcs._native async calls need the evcs package: import evcs");
  int status;
  { // queueing may wait for an engine lock that an I/O thread holds while it waits for the GIL
    py::gil_scoped_release released;
    status = start_call(pending.get());
  }
  abi::check(status);
  pending.release(); // owned by the completion from now on
}

std::unique_ptr<PendingCall> pending_call(py::object owner, py::object loop, py::object future) {
  return std::make_unique<PendingCall>(PendingCall{std::move(owner), std::move(loop),
                                                   std::move(future)});
}

} // namespace

void register_async(py::module_ &module) {
  module.def(
      "set_future_resolver",
      [](py::object resolver) {
        if (future_resolver == nullptr) future_resolver = new py::object();
        *future_resolver = std::move(resolver);
      },
      py::arg("resolver"),
      "Registers resolver(future, exception_or_None, value, owner), called on the loop's thread.");

  auto session_class = py::reinterpret_borrow<py::object>(module.attr("Session"));
  auto transaction_class = py::reinterpret_borrow<py::object>(module.attr("Transaction"));

  py::setattr(
      session_class, "execute_async",
      py::cpp_function(
          [](py::object self, const py::str &sql, py::handle values, py::object loop,
             py::object future) {
            evcs_session *session = self.cast<NativeSession &>().get();
            std::string statement = utf8(sql, "the SQL text");
            abi::Params params = to_params(values);
            start(pending_call(std::move(self), std::move(loop), std::move(future)),
                  [&](PendingCall *payload) {
                    return evcs_session_execute_async(session, statement.c_str(), params.get(),
                                                      &on_result, payload);
                  });
          },
          py::is_method(session_class), py::arg("sql"), py::arg("params"), py::arg("loop"),
          py::arg("future")));

  py::setattr(session_class, "commit_async",
              py::cpp_function(
                  [](py::object self, const std::optional<std::string> &message, py::object loop,
                     py::object future) {
                    evcs_session *session = self.cast<NativeSession &>().get();
                    start(pending_call(std::move(self), std::move(loop), std::move(future)),
                          [&](PendingCall *payload) {
                            return evcs_session_commit_async(
                                session, message ? message->c_str() : nullptr, &on_status,
                                payload);
                          });
                  },
                  py::is_method(session_class), py::arg("message"), py::arg("loop"),
                  py::arg("future")));

  using SessionStatusCall = int (*)(evcs_session *, evcs_status_callback, void *);
  const std::pair<const char *, SessionStatusCall> session_status_calls[] = {
      {"rollback_async", &evcs_session_rollback_async},
      {"close_async", &evcs_session_close_async},
  };
  for (const auto &[name, c_call] : session_status_calls) {
    SessionStatusCall call = c_call;
    py::setattr(session_class, name,
                py::cpp_function(
                    [call](py::object self, py::object loop, py::object future) {
                      evcs_session *session = self.cast<NativeSession &>().get();
                      start(pending_call(std::move(self), std::move(loop), std::move(future)),
                            [&](PendingCall *payload) { return call(session, &on_status, payload); });
                    },
                    py::is_method(session_class), py::arg("loop"), py::arg("future")));
  }

  using TransactionStatusCall = int (*)(evcs_transaction *, evcs_status_callback, void *);
  const std::pair<const char *, TransactionStatusCall> transaction_status_calls[] = {
      {"commit_async", &evcs_transaction_commit_async},
      {"rollback_async", &evcs_transaction_rollback_async},
  };
  for (const auto &[name, c_call] : transaction_status_calls) {
    TransactionStatusCall call = c_call;
    py::setattr(transaction_class, name,
                py::cpp_function(
                    [call](py::object self, py::object loop, py::object future) {
                      evcs_transaction *transaction = self.cast<NativeTransaction &>().get();
                      start(pending_call(std::move(self), std::move(loop), std::move(future)),
                            [&](PendingCall *payload) {
                              return call(transaction, &on_status, payload);
                            });
                    },
                    py::is_method(transaction_class), py::arg("loop"), py::arg("future")));
  }
}

} // namespace evcs::python
