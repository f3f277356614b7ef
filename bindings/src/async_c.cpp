#include "capi_internal.hpp"

#include <chrono>
#include <condition_variable>

using namespace evcs::capi;

namespace {


// Adapts a C callback to a core completion handler; runs on the I/O thread, where the
// thread-local last error is what the callback reads.
evcs::ResultHandler result_handler(evcs_result_callback callback, void *payload) {
  return [callback, payload](std::exception_ptr error, evcs::Result result) {
    if (error) {
      int status = record_exception(error);
      callback(payload, status, nullptr);
      return;
    }
    clear_last_error();
    evcs_result *owned = nullptr;
    int status = guarded([&] { owned = new evcs_result(std::move(result)); });
    callback(payload, status, owned);
  };
}

evcs::StatusHandler status_handler(evcs_status_callback callback, void *payload) {
  return [callback, payload](std::exception_ptr error) {
    if (error) {
      callback(payload, record_exception(error));
      return;
    }
    clear_last_error();
    callback(payload, EVCS_OK);
  };
}

template <typename Callback> void require_callback(Callback callback) {
  if (callback == nullptr) throw evcs::MisuseError("the completion callback is NULL");
}

} // namespace

// A future shared between its handle and the completion that fulfils it.
struct evcs_future {
  struct State {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    bool taken = false;
    int status = EVCS_OK;
    LastError error;
    std::unique_ptr<evcs_result> result;

    // Called once by the completion; `status` is what the last error of this thread describes.
    void fulfil(int completed_status, std::unique_ptr<evcs_result> completed_result) {
      std::lock_guard<std::mutex> lock(mutex);
      status = completed_status;
      if (status != EVCS_OK) error = last_error();
      result = std::move(completed_result);
      done = true;
      done_signal.notify_all();
    }
  };
  std::shared_ptr<State> state = std::make_shared<State>();
};

extern "C" {

int evcs_session_execute_async(evcs_session *session, const char *sql, const evcs_params *params,
                               evcs_result_callback callback, void *payload) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    require_callback(callback);
    target.session.async_execute(text_argument(sql, "the SQL text"), params_or_empty(params),
                                 result_handler(callback, payload));
  });
}

int evcs_engine_execute_async(evcs_engine *engine, const char *sql, const evcs_params *params,
                              evcs_result_callback callback, void *payload) {
  return guarded([&] {
    evcs_engine &target = deref(engine, "engine");
    require_callback(callback);
    target.engine.async_execute(text_argument(sql, "the SQL text"), params_or_empty(params),
                                result_handler(callback, payload));
  });
}

int evcs_session_commit_async(evcs_session *session, const char *message,
                              evcs_status_callback callback, void *payload) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    require_callback(callback);
    target.session.async_commit(optional_text(message, "the commit message", ""),
                                status_handler(callback, payload));
  });
}

int evcs_session_rollback_async(evcs_session *session, evcs_status_callback callback,
                                void *payload) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    require_callback(callback);
    target.session.async_rollback(status_handler(callback, payload));
  });
}

int evcs_session_close_async(evcs_session *session, evcs_status_callback callback, void *payload) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    require_callback(callback);
    target.session.async_close(status_handler(callback, payload));
  });
}

int evcs_transaction_commit_async(evcs_transaction *transaction, evcs_status_callback callback,
                                  void *payload) {
  return guarded([&] {
    evcs_transaction &target = deref(transaction, "transaction");
    require_callback(callback);
    target.transaction.async_commit(status_handler(callback, payload));
  });
}

int evcs_transaction_rollback_async(evcs_transaction *transaction, evcs_status_callback callback,
                                    void *payload) {
  return guarded([&] {
    evcs_transaction &target = deref(transaction, "transaction");
    require_callback(callback);
    target.transaction.async_rollback(status_handler(callback, payload));
  });
}

namespace {
evcs::ResultHandler fulfil_result(std::shared_ptr<evcs_future::State> state) {
  return [state](std::exception_ptr error, evcs::Result result) {
    std::unique_ptr<evcs_result> owned;
    int status = error ? record_exception(error) : guarded([&] {
      owned = std::make_unique<evcs_result>(std::move(result));
    });
    state->fulfil(status, std::move(owned));
  };
}
} // namespace

int evcs_session_execute_future(evcs_future **out, evcs_session *session, const char *sql,
                                const evcs_params *params) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_session &target = deref(session, "session");
    auto future = std::make_unique<evcs_future>();
    target.session.async_execute(text_argument(sql, "the SQL text"), params_or_empty(params),
                                 fulfil_result(future->state));
    *out = future.release();
  });
}

int evcs_engine_execute_future(evcs_future **out, evcs_engine *engine, const char *sql,
                               const evcs_params *params) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_engine &target = deref(engine, "engine");
    auto future = std::make_unique<evcs_future>();
    target.engine.async_execute(text_argument(sql, "the SQL text"), params_or_empty(params),
                                fulfil_result(future->state));
    *out = future.release();
  });
}

namespace {
evcs::StatusHandler fulfil_status(std::shared_ptr<evcs_future::State> state) {
  return [state](std::exception_ptr error) {
    state->fulfil(error ? record_exception(error) : EVCS_OK, nullptr);
  };
}
} // namespace

int evcs_session_commit_future(evcs_future **out, evcs_session *session, const char *message) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_session &target = deref(session, "session");
    auto future = std::make_unique<evcs_future>();
    target.session.async_commit(optional_text(message, "the commit message", ""),
                                fulfil_status(future->state));
    *out = future.release();
  });
}

int evcs_session_rollback_future(evcs_future **out, evcs_session *session) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_session &target = deref(session, "session");
    auto future = std::make_unique<evcs_future>();
    target.session.async_rollback(fulfil_status(future->state));
    *out = future.release();
  });
}

int evcs_future_ready(int *out, const evcs_future *future) {
  return guarded([&] {
    auto &state = *deref(future, "future").state;
    std::lock_guard<std::mutex> lock(state.mutex);
    deref(out, "out") = state.done ? 1 : 0;
  });
}

int evcs_future_wait(evcs_result **out, evcs_future *future, double timeout_seconds) {
  return guarded([&] {
    if (out != nullptr) *out = nullptr;
    auto &state = *deref(future, "future").state;
    std::unique_lock<std::mutex> lock(state.mutex);
    auto finished = [&] { return state.done; };
    if (timeout_seconds < 0) {
      state.done_signal.wait(lock, finished);
    } else if (!state.done_signal.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                                           finished)) {
      return record_error(EVCS_PENDING, "the operation is still running: wait again");
    }
    if (state.taken)
      throw evcs::MisuseError("this future's result was already taken by an earlier wait");
    state.taken = true;
    if (state.status != EVCS_OK) {
      const LastError &error = state.error;
      return record_error(error.code, error.message, error.sqlstate, error.detail,
                          error.retryable);
    }
    if (out != nullptr) *out = state.result.release();
    return EVCS_OK;
  });
}

void evcs_future_free(evcs_future *future) { delete future; }

} // extern "C"
