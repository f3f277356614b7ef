// Server-side statement parameters ($1, $2, ...), typed on the way in so the server never parses
// user data as SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace evcs {

// A timestamp as UTC microseconds since 1970-01-01 (the unit every surface exchanges).
struct Timestamp {
  std::int64_t micros = 0;
};

class Params {
public:
  // The wire type of one parameter; part of the prepared-statement cache key, because the
  // server fixes parameter types when it prepares a statement.
  enum class Kind : char { null = 'n', int64 = 'i', float64 = 'd', boolean = 'b', text = 't',
                           bytes = 'y', timestamp = 's', json = 'j' };

  Params() = default;
  template <typename... Args> static Params of(const Args &...args) {
    Params params;
    (params.add(args), ...);
    return params;
  }

  Params &add_null();
  Params &add(std::int64_t value);
  Params &add(int value) { return add(static_cast<std::int64_t>(value)); }
  Params &add(double value);
  Params &add(bool value);
  // UTF-8 text; invalid UTF-8 throws InvalidArgument.
  Params &add(const std::string &value);
  Params &add(const char *value) { return add(std::string(value)); }
  Params &add(Timestamp value);
  Params &add_bytes(const std::string &value);
  // JSON text; must parse as JSON.
  Params &add_json(const std::string &json_text);
  template <typename T> Params &add(const std::optional<T> &value) {
    return value ? add(*value) : add_null();
  }

  std::size_t size() const noexcept { return values_.size(); }
  bool empty() const noexcept { return values_.empty(); }
  void clear() noexcept;

  // libpq's view: parallel arrays of values (NULL for SQL NULL), lengths, formats and type OIDs.
  const std::vector<std::optional<std::string>> &values() const noexcept { return values_; }
  const std::vector<Kind> &kinds() const noexcept { return kinds_; }
  // The kinds as a short string, e.g. "its" for (int64, text, timestamp).
  std::string signature() const;

private:
  Params &push(Kind kind, std::optional<std::string> value);
  std::vector<std::optional<std::string>> values_;
  std::vector<Kind> kinds_;
};

// "NaN", "Infinity" or "-Infinity" for a double that is one, nothing for a finite one: the text
// PostgreSQL reads and writes for them. JSON has no such numbers; evcs carries them in JSON as
// these strings (as to_jsonb does).
std::optional<std::string> non_finite_text(double value);
// Formats UTC microseconds as ISO 8601 text the server accepts for timestamptz; INT64_MAX and
// INT64_MIN stand for 'infinity' and '-infinity', as parse_timestamp returns them.
std::string format_timestamp(std::int64_t micros);
// Parses the server's ISO timestamp text (DateStyle ISO, any UTC offset) into UTC microseconds.
std::int64_t parse_timestamp(std::string_view text);
// Throws InvalidArgument (naming `what`) if `text` is not valid UTF-8 or contains NUL.
void require_utf8(const std::string &text, const char *what);

} // namespace evcs
