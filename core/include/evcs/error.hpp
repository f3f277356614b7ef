// The error hierarchy (docs/errors.md). Every failure the engine reports is an evcs::Error carrying
// a stable code, the SQLSTATE where the server gave one, and a message that says what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace evcs {

enum class ErrorCode {
  error = -1,
  not_found = -2,
  conflict = -3,
  merge_conflict = -4,
  concurrent_modification = -5,
  branch_locked = -6,
  integrity_error = -7,
  invalid_argument = -8,
  pool_timeout = -9,
  connection_lost = -10,
  serialization_failure = -11,
  migration_error = -12,
  misuse = -13,
};

// The stable short name of a code ("not_found", "pool_timeout", ...).
const char *code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string &message, std::string sqlstate = {},
        std::string detail_json = {});
  ErrorCode code() const noexcept { return code_; }
  const std::string &sqlstate() const noexcept { return sqlstate_; }
  // Extra machine-readable detail as JSON text, or empty.
  const std::string &detail_json() const noexcept { return detail_json_; }
  // Whether re-running the whole transaction may succeed.
  virtual bool retryable() const noexcept { return false; }
  // Where the server located the error in the statement text: a 1-based character offset
  // (libpq's PG_DIAG_STATEMENT_POSITION), 0 when it named none. Set where server errors are
  // raised; tools that run SQL from files map it to a line.
  int statement_position() const noexcept { return statement_position_; }
  void set_statement_position(int position) noexcept { statement_position_ = position; }

private:
  ErrorCode code_;
  std::string sqlstate_;
  std::string detail_json_;
  int statement_position_ = 0;
};

#define EVCS_DECLARE_ERROR(Name, Base, Code)                                                      \
  class Name : public Base {                                                                     \
  public:                                                                                        \
    explicit Name(const std::string &message, std::string sqlstate = {},                         \
                  std::string detail_json = {})                                                  \
        : Base(Code, message, std::move(sqlstate), std::move(detail_json)) {}                    \
                                                                                                 \
  protected:                                                                                     \
    Name(ErrorCode code, const std::string &message, std::string sqlstate,                       \
         std::string detail_json)                                                                \
        : Base(code, message, std::move(sqlstate), std::move(detail_json)) {}                    \
  };

EVCS_DECLARE_ERROR(NotFound, Error, ErrorCode::not_found)
EVCS_DECLARE_ERROR(Conflict, Error, ErrorCode::conflict)
EVCS_DECLARE_ERROR(MergeConflict, Conflict, ErrorCode::merge_conflict)
EVCS_DECLARE_ERROR(ConcurrentModification, Conflict, ErrorCode::concurrent_modification)
EVCS_DECLARE_ERROR(BranchLocked, Error, ErrorCode::branch_locked)
EVCS_DECLARE_ERROR(IntegrityError, Error, ErrorCode::integrity_error)
EVCS_DECLARE_ERROR(InvalidArgument, Error, ErrorCode::invalid_argument)
EVCS_DECLARE_ERROR(PoolTimeout, Error, ErrorCode::pool_timeout)
EVCS_DECLARE_ERROR(MigrationError, Error, ErrorCode::migration_error)
EVCS_DECLARE_ERROR(MisuseError, Error, ErrorCode::misuse)

#undef EVCS_DECLARE_ERROR

class SerializationFailure : public Error {
public:
  explicit SerializationFailure(const std::string &message, std::string sqlstate = "40001")
      : Error(ErrorCode::serialization_failure, message, std::move(sqlstate)) {}
  bool retryable() const noexcept override { return true; }
};

// The connection died. `in_doubt` is set when it died while COMMIT was in flight: the
// transaction may or may not have committed, so it must never be retried blindly.
class ConnectionLost : public Error {
public:
  ConnectionLost(const std::string &message, std::string sqlstate = {}, bool in_doubt = false)
      : Error(ErrorCode::connection_lost, message, std::move(sqlstate)), in_doubt_(in_doubt) {}
  bool in_doubt() const noexcept { return in_doubt_; }
  bool retryable() const noexcept override { return !in_doubt_; }

private:
  bool in_doubt_;
};

// Builds the right error class from a code (used where an error crosses a boundary, e.g. a
// C callback reporting a failure back into the engine) and throws it.
[[noreturn]] void throw_error(ErrorCode code, const std::string &message,
                              const std::string &sqlstate = {}, bool retryable = false);

// Maps a server error, once, from its SQLSTATE to the hierarchy, and throws it.
[[noreturn]] void throw_server_error(const std::string &sqlstate, const std::string &message);

} // namespace evcs
