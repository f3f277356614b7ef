// Async calls: the C layer completes them on the engine's I/O thread. The completion does not
// take the GIL there: it queues the outcome on its event loop's completion queue and wakes the
// loop through an eventfd the loop watches (add_reader). The loop thread then converts the
// outcomes and settles the futures in batches, so the event loop never waits for the database
// and the I/O thread never waits for the GIL.
#include "native.hpp"

#include <pybind11/stl.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <vector>

namespace evcs::python {

namespace {

// Set once by evcs/aio.py: resolve(future, exception_or_None, value, owner) settles a future
// unless it was cancelled. Never destroyed, like the error factory.
py::object *future_resolver = nullptr;

class CompletionQueue;

enum class Delivery;

// The payload of one pending C call; owns the Python objects until the completion ran.
struct PendingCall {
  py::object owner; // the NativeSession, NativeTransaction or NativeEngine of the call
  py::object future;
  std::shared_ptr<CompletionQueue> queue;
  Delivery delivery;
};

// What the awaiting coroutine receives from a successful statement.
enum class Delivery { nothing, rows, first_cell };

struct Completion {
  PendingCall *pending;
  int status;
  evcs_result *result;
  Delivery delivery;
  std::optional<abi::Error> failure;
};

// Outcomes waiting for one event loop's thread.
class CompletionQueue {
public:
  CompletionQueue() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("evcs: cannot create an eventfd for async completions");
  }
  ~CompletionQueue() { ::close(fd_); }
  CompletionQueue(const CompletionQueue &) = delete;
  CompletionQueue &operator=(const CompletionQueue &) = delete;

  int fd() const { return fd_; }

  // Any thread, without the GIL.
  void push(Completion completion) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      was_empty = ready_.empty();
      ready_.push_back(std::move(completion));
    }
    if (was_empty) {
      std::uint64_t one = 1;
      ssize_t written = ::write(fd_, &one, sizeof one);
      (void)written; // a full counter still wakes the loop
    }
  }

  // The loop's thread, with the GIL: settles every queued future.
  void drain() {
    std::uint64_t count;
    ssize_t consumed = ::read(fd_, &count, sizeof count);
    (void)consumed; // nothing to read just means another drain got there first
    std::vector<Completion> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(ready_);
    }
    for (auto &completion : batch) settle(completion);
  }

private:
  static void settle(Completion &completion) {
    std::unique_ptr<PendingCall> owned(completion.pending);
    abi::Result result(completion.result);
    try {
      py::object exception = py::none();
      py::object value = py::none();
      if (completion.failure) {
        exception = make_exception(*completion.failure);
      } else if (completion.delivery != Delivery::nothing) {
        try {
          value = completion.delivery == Delivery::rows ? py::object(convert_result(result.get()))
                                                        : convert_scalar(result.get());
        } catch (const abi::Error &conversion_failure) {
          exception = make_exception(conversion_failure);
        } catch (py::error_already_set &conversion_failure) {
          exception = conversion_failure.value();
        }
      }
      (*future_resolver)(owned->future, exception, value, owned->owner);
    } catch (py::error_already_set &delivery_failure) {
      delivery_failure.discard_as_unraisable("evcs async completion");
    }
  }

  int fd_;
  std::mutex mutex_;
  std::vector<Completion> ready_;
};

// The completion queue of `loop`, created and watched on first use.
std::shared_ptr<CompletionQueue> queue_for(const py::object &loop) {
  static const char *const attribute = "_evcs_completions";
  if (py::hasattr(loop, attribute))
    return loop.attr(attribute).cast<std::shared_ptr<CompletionQueue>>();
  auto queue = std::make_shared<CompletionQueue>();
  py::object handle = py::cast(queue);
  loop.attr("add_reader")(queue->fd(), handle.attr("drain"));
  py::setattr(loop, attribute, handle);
  return queue;
}

void complete(void *payload, int status, evcs_result *result) {
  auto *pending = static_cast<PendingCall *>(payload);
  std::optional<abi::Error> failure;
  if (status != EVCS_OK) failure.emplace(abi::Error::last(status));
  pending->queue->push(Completion{pending, status, result, pending->delivery, std::move(failure)});
}

void on_result(void *payload, int status, evcs_result *result) { complete(payload, status, result); }

void on_status(void *payload, int status) { complete(payload, status, nullptr); }

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

std::unique_ptr<PendingCall> pending_call(py::object owner, py::object loop, py::object future,
                                          Delivery delivery = Delivery::nothing) {
  return std::make_unique<PendingCall>(
      PendingCall{std::move(owner), std::move(future), queue_for(loop), delivery});
}

// Registers `name` on `owner_class`: name(sql, params, loop, future) starts `c_call` with the
// statement and settles the future with what `delivery` asks for.
template <typename Handle>
void define_statement_async(py::object owner_class, const char *name, Delivery delivery,
                            Handle *(*handle_of)(py::handle),
                            int (*c_call)(Handle *, const char *, const evcs_params *,
                                          evcs_result_callback, void *)) {
  py::setattr(owner_class, name,
              py::cpp_function(
                  [delivery, handle_of, c_call](py::object self, const py::str &sql,
                                                py::handle values, py::object loop,
                                                py::object future) {
                    Handle *handle = handle_of(self);
                    std::string statement = utf8(sql, "the SQL text");
                    abi::Params params = to_params(values);
                    start(pending_call(std::move(self), std::move(loop), std::move(future),
                                       delivery),
                          [&](PendingCall *payload) {
                            return c_call(handle, statement.c_str(), params.get(), &on_result,
                                          payload);
                          });
                  },
                  py::is_method(owner_class), py::arg("sql"), py::arg("params"), py::arg("loop"),
                  py::arg("future")));
}

} // namespace

void register_async(py::module_ &module) {
  py::class_<CompletionQueue, std::shared_ptr<CompletionQueue>>(
      module, "CompletionQueue", "Async outcomes waiting for one event loop (internal).")
      .def("drain", &CompletionQueue::drain, "Settles every queued future (loop thread).");

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
  auto engine_class = py::reinterpret_borrow<py::object>(module.attr("Engine"));

  auto session_of = +[](py::handle self) { return self.cast<NativeSession &>().get(); };
  define_statement_async(session_class, "execute_async", Delivery::rows, session_of,
                         &evcs_session_execute_async);
  define_statement_async(session_class, "scalar_async", Delivery::first_cell, session_of,
                         &evcs_session_execute_async);
  define_statement_async(engine_class, "execute_async", Delivery::rows, &engine_handle,
                         &evcs_engine_execute_async);
  define_statement_async(engine_class, "scalar_async", Delivery::first_cell, &engine_handle,
                         &evcs_engine_execute_async);

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
