// The cursor a paged read hands out (VersionPage::cursor): what the next page needs to continue
// the same walk, as URL-safe base64 of compact JSON. The JSON is not a public format; only its
// version number ("v") is a promise: a cursor of another version is refused, never misread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace evcs::detail {

// SQLSTATE of every cursor refusal (InvalidArgument): malformed, cut, changed, or of another query.
constexpr const char *invalid_cursor_sqlstate = "EVK01";

struct PageCursor {
  // Which read made it: "find", "history" or "versions"; a cursor continues only its own kind.
  std::string read;
  std::string branch;
  // The pinned instant every page reads as of (UTC microseconds).
  std::int64_t at = 0;
  // The order as the first page gave it (find: order_by; empty for the fixed orders).
  std::vector<std::string> order;
  // A fingerprint of what else selects the rows (find: the filter; history: the entity;
  // versions: the range), so that a cursor of another query is refused.
  std::string selection;
  // The last row's sort keys, in the order's order, ending with the tiebreaker(s): text in the
  // server's form for SQL keysets (null for SQL NULL), typed values for history's.
  nlohmann::json last = nlohmann::json::array();

  std::string encode() const;
  // InvalidArgument (EVK01) for anything encode() did not make, including a cursor of
  // another kind of read than `read`.
  static PageCursor decode(const std::string &text, const std::string &read);
};

// A short stable fingerprint of a JSON value (FNV-1a 64 of its compact text, keys sorted), as
// 16 hex digits. Not a secret: a cursor only says where a walk is, and its values are always
// bound as parameters.
std::string fingerprint(const nlohmann::json &value);

// The refusal of text that is not a cursor evcs made as it is (cut, edited, another format);
// `why` says what is wrong with it.
[[noreturn]] void throw_malformed_cursor(const std::string &why);
// The refusal of a well-formed cursor that belongs to another query: `what` names the
// difference, e.g. "order_by [\"-budget\"]".
[[noreturn]] void throw_cursor_of_another_query(const std::string &what);

} // namespace evcs::detail
