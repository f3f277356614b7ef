#include "capi_internal.hpp"

using namespace evcs::capi;

evcs_result::evcs_result(evcs::Result taken) : result(std::move(taken)) {
  for (std::int64_t column = 0; column < result.columns(); ++column)
    column_names.push_back(result.column_name(column));
}

extern "C" {

int evcs_session_open(evcs_session **out, evcs_engine *engine, const char *branch,
                      const char *author) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_engine &owner = deref(engine, "engine");
    *out = new evcs_session(owner.engine.session(optional_text(branch, "the branch name", "main"),
                                                 optional_text(author, "the author name", "")));
  });
}

void evcs_session_free(evcs_session *session) { delete session; }

int evcs_session_commit(evcs_session *session, const char *message) {
  return guarded([&] {
    deref(session, "session").session.commit(optional_text(message, "the commit message", ""));
  });
}

int evcs_session_rollback(evcs_session *session) {
  return guarded([&] { deref(session, "session").session.rollback(); });
}

int evcs_session_close(evcs_session *session) {
  return guarded([&] { deref(session, "session").session.close(); });
}

int evcs_session_in_transaction(int *out, const evcs_session *session) {
  return guarded([&] {
    deref(out, "out") = deref(session, "session").session.in_transaction() ? 1 : 0;
  });
}

int evcs_session_set_autocommit(evcs_session *session, int on) {
  return guarded([&] { deref(session, "session").session.set_autocommit(on != 0); });
}

int evcs_session_autocommit(int *out, const evcs_session *session) {
  return guarded([&] { deref(out, "out") = deref(session, "session").session.autocommit() ? 1 : 0; });
}

int evcs_session_branch(const char **out, const evcs_session *session) {
  return guarded([&] { deref(out, "out") = deref(session, "session").session.branch().c_str(); });
}

int evcs_session_author(const char **out, const evcs_session *session) {
  return guarded([&] { deref(out, "out") = deref(session, "session").session.author().c_str(); });
}

int evcs_session_backend_pid(int64_t *out, const evcs_session *session) {
  return guarded([&] { deref(out, "out") = deref(session, "session").session.backend_pid(); });
}

int evcs_session_execute(evcs_result **out, evcs_session *session, const char *sql,
                         const evcs_params *params) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_session &target = deref(session, "session");
    evcs::Result result = target.session.execute(text_argument(sql, "the SQL text"),
                                                 params_or_empty(params));
    *out = new evcs_result(std::move(result));
  });
}

int evcs_session_begin(evcs_transaction **out, evcs_session *session) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    *out = new evcs_transaction(deref(session, "session").session.begin());
  });
}

int evcs_session_begin_nested(evcs_transaction **out, evcs_session *session) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    *out = new evcs_transaction(deref(session, "session").session.begin_nested());
  });
}

int evcs_transaction_commit(evcs_transaction *transaction) {
  return guarded([&] { deref(transaction, "transaction").transaction.commit(); });
}

int evcs_transaction_rollback(evcs_transaction *transaction) {
  return guarded([&] { deref(transaction, "transaction").transaction.rollback(); });
}

int evcs_transaction_is_active(int *out, const evcs_transaction *transaction) {
  return guarded([&] {
    deref(out, "out") = deref(transaction, "transaction").transaction.is_active() ? 1 : 0;
  });
}

void evcs_transaction_free(evcs_transaction *transaction) { delete transaction; }

int evcs_session_run_in_transaction(evcs_session *session, int attempts,
                                    evcs_transaction_body body, void *payload) {
  return guarded([&] {
    evcs_session &target = deref(session, "session");
    if (body == nullptr) throw evcs::MisuseError("the transaction body is NULL");
    target.session.run_in_transaction(
        [&](evcs::Session &) {
          int status = body(payload, session);
          if (status == EVCS_OK) return;
          // The body reports through the thread's last error (set by the call that failed, or
          // by evcs_error_set); rebuild that error so the retry policy sees its class.
          const LastError &error = last_error();
          bool described = error.code == status;
          evcs::throw_error(static_cast<evcs::ErrorCode>(status < EVCS_EMISUSE || status > 0 ? EVCS_ERROR : status),
                            described ? error.message
                                      : "the transaction body failed with status " +
                                            std::to_string(status),
                            described ? error.sqlstate : "", described && error.retryable);
        },
        attempts);
  });
}

} // extern "C"
