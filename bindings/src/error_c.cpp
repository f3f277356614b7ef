#include "capi_internal.hpp"

#include <cstdlib>
#include <cstring>

namespace evcs::capi {

LastError &last_error() {
  thread_local LastError error;
  return error;
}

void clear_last_error() noexcept {
  LastError &error = last_error();
  error.code = EVCS_OK;
  error.message.clear();
  error.sqlstate.clear();
  error.detail = "null";
  error.retryable = false;
}

int record_error(int code, std::string message, std::string sqlstate, std::string detail,
                 bool retryable) noexcept {
  try {
    LastError &error = last_error();
    error.code = code;
    error.message = std::move(message);
    error.sqlstate = std::move(sqlstate);
    error.detail = detail.empty() ? "null" : std::move(detail);
    error.retryable = retryable;
  } catch (...) {
    last_error().code = code;
  }
  return code;
}

int record_exception(std::exception_ptr failure) noexcept {
  try {
    std::rethrow_exception(failure);
  } catch (const Error &error) {
    return record_error(static_cast<int>(error.code()), error.what(), error.sqlstate(),
                        error.detail_json(), error.retryable());
  } catch (const std::bad_alloc &) {
    return record_error(EVCS_ERROR, "out of memory");
  } catch (const std::exception &error) {
    return record_error(EVCS_ERROR, std::string("internal error: ") + error.what());
  } catch (...) {
    return record_error(EVCS_ERROR, "internal error: unknown exception");
  }
}

char *copy_out(const std::string &text) {
  char *copy = static_cast<char *>(std::malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

} // namespace evcs::capi

using namespace evcs::capi;

extern "C" {

const char *evcs_version(void) { return EVCS_VERSION_STRING; }

void evcs_free(void *ptr) { std::free(ptr); }

int evcs_error_last_code(void) { return last_error().code; }
const char *evcs_error_last_message(void) { return last_error().message.c_str(); }
const char *evcs_error_last_sqlstate(void) { return last_error().sqlstate.c_str(); }
int evcs_error_last_retryable(void) { return last_error().retryable ? 1 : 0; }
const char *evcs_error_last_detail(void) { return last_error().detail.c_str(); }
void evcs_error_clear(void) { clear_last_error(); }

const char *evcs_error_code_name(int code) {
  if (code == EVCS_OK) return "ok";
  if (code == EVCS_ITEROVER) return "iteration_over";
  if (code == EVCS_PENDING) return "pending";
  if (code > EVCS_OK || code < EVCS_EMISUSE) return "unknown";
  return evcs::code_name(static_cast<evcs::ErrorCode>(code));
}

int evcs_error_set(int code, const char *sqlstate, const char *message) {
  if (code >= EVCS_OK || code < EVCS_EMISUSE) code = EVCS_ERROR;
  // SQLSTATE 08007 (transaction resolution unknown) marks a connection lost during COMMIT.
  bool in_doubt = sqlstate != nullptr && std::strcmp(sqlstate, "08007") == 0;
  bool retryable = code == EVCS_ESERIALIZATION || (code == EVCS_ECONNLOST && !in_doubt);
  return record_error(code, message == nullptr ? "" : message, sqlstate == nullptr ? "" : sqlstate,
                      "null", retryable);
}

} // extern "C"
