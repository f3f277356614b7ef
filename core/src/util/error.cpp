#include "evcs/error.hpp"

namespace evcs {

const char *code_name(ErrorCode code) noexcept {
  switch (code) {
  case ErrorCode::error: return "error";
  case ErrorCode::not_found: return "not_found";
  case ErrorCode::conflict: return "conflict";
  case ErrorCode::merge_conflict: return "merge_conflict";
  case ErrorCode::concurrent_modification: return "concurrent_modification";
  case ErrorCode::branch_locked: return "branch_locked";
  case ErrorCode::integrity_error: return "integrity_error";
  case ErrorCode::invalid_argument: return "invalid_argument";
  case ErrorCode::pool_timeout: return "pool_timeout";
  case ErrorCode::connection_lost: return "connection_lost";
  case ErrorCode::serialization_failure: return "serialization_failure";
  case ErrorCode::migration_error: return "migration_error";
  case ErrorCode::misuse: return "misuse";
  }
  return "error";
}

Error::Error(ErrorCode code, const std::string &message, std::string sqlstate,
             std::string detail_json)
    : std::runtime_error(message), code_(code), sqlstate_(std::move(sqlstate)),
      detail_json_(std::move(detail_json)) {}

void throw_error(ErrorCode code, const std::string &message, const std::string &sqlstate,
                 bool retryable) {
  switch (code) {
  case ErrorCode::not_found: throw NotFound(message, sqlstate);
  case ErrorCode::conflict: throw Conflict(message, sqlstate);
  case ErrorCode::merge_conflict: throw MergeConflict(message, sqlstate);
  case ErrorCode::concurrent_modification: throw ConcurrentModification(message, sqlstate);
  case ErrorCode::branch_locked: throw BranchLocked(message, sqlstate);
  case ErrorCode::integrity_error: throw IntegrityError(message, sqlstate);
  case ErrorCode::invalid_argument: throw InvalidArgument(message, sqlstate);
  case ErrorCode::pool_timeout: throw PoolTimeout(message, sqlstate);
  case ErrorCode::connection_lost: throw ConnectionLost(message, sqlstate, !retryable);
  case ErrorCode::serialization_failure:
    throw SerializationFailure(message, sqlstate.empty() ? "40001" : sqlstate);
  case ErrorCode::migration_error: throw MigrationError(message, sqlstate);
  case ErrorCode::misuse: throw MisuseError(message, sqlstate);
  case ErrorCode::error: break;
  }
  throw Error(ErrorCode::error, message, sqlstate);
}

namespace {
bool has_class(const std::string &sqlstate, const char *cls) {
  return sqlstate.size() == 5 && sqlstate.compare(0, 2, cls) == 0;
}
} // namespace

// SQLSTATE classes: https://www.postgresql.org/docs/15/errcodes-appendix.html. The "EV" class is
// raised by evcs's own triggers and functions (docs/errors.md).
void throw_server_error(const std::string &sqlstate, const std::string &message) {
  if (sqlstate == "40001" || sqlstate == "40P01")
    throw SerializationFailure(message + " (retry the transaction: run_in_transaction does)",
                               sqlstate);
  if (sqlstate == "08P01") throw InvalidArgument(message, sqlstate);
  if (has_class(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03")
    throw ConnectionLost(message, sqlstate);
  if (has_class(sqlstate, "23")) throw IntegrityError(message, sqlstate);
  if (sqlstate == "25P02")
    throw MisuseError(message + " (an earlier statement failed: roll back the transaction or "
                                "savepoint before issuing more statements)",
                      sqlstate);
  if (has_class(sqlstate, "22") || has_class(sqlstate, "42") || sqlstate == "2201B")
    throw InvalidArgument(message, sqlstate);
  if (sqlstate == "EVL01") throw BranchLocked(message, sqlstate);
  if (sqlstate == "EVN01") throw NotFound(message, sqlstate);
  if (sqlstate == "EVC01") throw ConcurrentModification(message, sqlstate);
  if (sqlstate == "EVI01") throw InvalidArgument(message, sqlstate);
  throw Error(ErrorCode::error, message, sqlstate);
}

} // namespace evcs
