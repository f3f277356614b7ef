#include "evcs/result.hpp"

#include "evcs/error.hpp"
#include "evcs/params.hpp"

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace evcs {

namespace {

const PGresult *pg(const std::shared_ptr<void> &result) {
  return static_cast<const PGresult *>(result.get());
}

InvalidArgument unreadable_array(const char *literal) {
  return InvalidArgument(std::string("cannot read the array '") + literal + "'");
}

// Reads one level of a PostgreSQL array literal from `p` (at its '{'): elements as strings,
// an unquoted NULL as null, nested levels (multidimensional arrays) as nested arrays.
nlohmann::json parse_array_level(const char *&p, const char *literal) {
  if (*p != '{') throw unreadable_array(literal);
  ++p;
  nlohmann::json elements = nlohmann::json::array();
  while (*p != '\0' && *p != '}') {
    if (*p == '{') {
      elements.push_back(parse_array_level(p, literal));
    } else if (*p == '"') {
      std::string element;
      for (++p; *p != '\0' && *p != '"'; ++p) {
        if (*p == '\\' && p[1] != '\0') ++p;
        element.push_back(*p);
      }
      if (*p != '"') throw unreadable_array(literal);
      ++p;
      elements.push_back(std::move(element));
    } else {
      std::string element;
      for (; *p != '\0' && *p != ',' && *p != '}'; ++p) element.push_back(*p);
      if (element == "NULL") elements.push_back(nullptr);
      else elements.push_back(std::move(element));
    }
    if (*p == ',') ++p;
  }
  if (*p != '}') throw unreadable_array(literal);
  ++p;
  return elements;
}

// A PostgreSQL array literal as a JSON array. Explicit bounds ("[0:1]={a,b}") are dropped:
// JSON arrays start at their first element.
nlohmann::json parse_array(const char *literal) {
  const char *p = literal;
  if (*p == '[') {
    p = std::strchr(p, '=');
    if (p == nullptr) throw unreadable_array(literal);
    ++p;
  }
  return parse_array_level(p, literal);
}

// The elements of a parsed integer array as JSON integers, at every nesting level.
void integers_in_place(nlohmann::json &elements) {
  for (auto &element : elements) {
    if (element.is_array()) integers_in_place(element);
    else if (element.is_string()) element = std::stoll(element.get<std::string>());
  }
}

} // namespace

namespace cell_text {

std::int64_t to_int64(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw InvalidArgument("cannot read the integer '" + std::string(text) + "'");
  return value;
}

// strtod reads the server's NaN, Infinity and -Infinity too.
double to_double(const char *terminated) { return std::strtod(terminated, nullptr); }

bool to_bool(std::string_view text) { return !text.empty() && text[0] == 't'; }

std::string to_bytes(const char *terminated) {
  std::size_t length = 0;
  unsigned char *decoded =
      PQunescapeBytea(reinterpret_cast<const unsigned char *>(terminated), &length);
  if (decoded == nullptr) throw Error(ErrorCode::error, "out of memory decoding bytea");
  std::string bytes(reinterpret_cast<char *>(decoded), length);
  PQfreemem(decoded);
  return bytes;
}

nlohmann::json array_to_json(const char *literal, bool integers) {
  nlohmann::json elements = parse_array(literal);
  if (integers) integers_in_place(elements);
  return elements;
}

} // namespace cell_text

// Type OIDs from PostgreSQL's pg_type.dat; they are fixed for built-in types.
ColumnType column_type_of_oid(std::uint32_t type_oid) {
  switch (type_oid) {
  case 20: case 21: case 23: case 26: return ColumnType::int64;
  case 700: case 701: return ColumnType::float64;
  case 16: return ColumnType::boolean;
  case 17: return ColumnType::bytes;
  case 1114: case 1184: return ColumnType::timestamp;
  case 1700: return ColumnType::numeric;
  case 114: case 3802: return ColumnType::json;
  case 2950: return ColumnType::uuid;
  case 1082: return ColumnType::date;
  case 1009: case 1015: return ColumnType::text_array;
  case 1005: case 1007: case 1016: return ColumnType::int_array;
  default: return ColumnType::text;
  }
}

Result::Result(void *pg_result)
    : result_(pg_result, [](void *r) { PQclear(static_cast<PGresult *>(r)); }) {}

std::int64_t Result::rows() const noexcept { return result_ ? PQntuples(pg(result_)) : 0; }

std::int64_t Result::columns() const noexcept { return result_ ? PQnfields(pg(result_)) : 0; }

std::int64_t Result::rows_affected() const noexcept {
  if (!result_) return 0;
  const char *tuples = PQcmdTuples(const_cast<PGresult *>(pg(result_)));
  return *tuples == '\0' ? 0 : std::strtoll(tuples, nullptr, 10);
}

std::string Result::command_tag() const {
  return result_ ? PQcmdStatus(const_cast<PGresult *>(pg(result_))) : "";
}

void Result::check_column(std::int64_t column) const {
  if (column < 0 || column >= columns())
    throw InvalidArgument("column " + std::to_string(column) + " is out of range: the result has " +
                          std::to_string(columns()) + " columns");
}

void Result::check_cell(std::int64_t row, std::int64_t column) const {
  check_column(column);
  if (row < 0 || row >= rows())
    throw InvalidArgument("row " + std::to_string(row) + " is out of range: the result has " +
                          std::to_string(rows()) + " rows");
}

std::string Result::column_name(std::int64_t column) const {
  check_column(column);
  return PQfname(pg(result_), static_cast<int>(column));
}

ColumnType Result::column_type(std::int64_t column) const {
  check_column(column);
  return column_type_of_oid(PQftype(pg(result_), static_cast<int>(column)));
}

std::int64_t Result::column_index(const std::string &name) const {
  for (std::int64_t column = 0; column < columns(); ++column)
    if (name == PQfname(pg(result_), static_cast<int>(column))) return column;
  throw InvalidArgument("the result has no column named '" + name + "'");
}

std::optional<std::string_view> Result::cell_unchecked(std::int64_t row,
                                                       std::int64_t column) const noexcept {
  const int r = static_cast<int>(row), c = static_cast<int>(column);
  if (PQgetisnull(pg(result_), r, c)) return std::nullopt;
  return std::string_view(PQgetvalue(pg(result_), r, c),
                          static_cast<std::size_t>(PQgetlength(pg(result_), r, c)));
}

bool Result::is_null(std::int64_t row, std::int64_t column) const {
  check_cell(row, column);
  return PQgetisnull(pg(result_), static_cast<int>(row), static_cast<int>(column)) != 0;
}

const char *Result::text(std::int64_t row, std::int64_t column, std::size_t *length) const {
  check_cell(row, column);
  if (length != nullptr)
    *length = static_cast<std::size_t>(
        PQgetlength(pg(result_), static_cast<int>(row), static_cast<int>(column)));
  return PQgetvalue(pg(result_), static_cast<int>(row), static_cast<int>(column));
}

void Result::require_type(std::int64_t row, std::int64_t column, ColumnType wanted,
                          const char *what) const {
  if (is_null(row, column))
    throw InvalidArgument("the cell at row " + std::to_string(row) + ", column '" +
                          column_name(column) + "' is NULL: check is_null before reading " + what);
  if (column_type(column) != wanted)
    throw InvalidArgument("column '" + column_name(column) + "' cannot be read as " + what +
                          ": read it as text or cast it in SQL");
}

std::int64_t Result::get_int64(std::int64_t row, std::int64_t column) const {
  require_type(row, column, ColumnType::int64, "int64");
  std::size_t length = 0;
  const char *value = text(row, column, &length);
  return cell_text::to_int64(std::string_view(value, length));
}

double Result::get_double(std::int64_t row, std::int64_t column) const {
  if (!is_null(row, column) && column_type(column) == ColumnType::int64)
    return static_cast<double>(get_int64(row, column));
  require_type(row, column, ColumnType::float64, "double");
  return cell_text::to_double(text(row, column));
}

bool Result::get_bool(std::int64_t row, std::int64_t column) const {
  require_type(row, column, ColumnType::boolean, "bool");
  return cell_text::to_bool(text(row, column));
}

std::string Result::get_text(std::int64_t row, std::int64_t column) const {
  std::size_t length = 0;
  const char *value = text(row, column, &length);
  return std::string(value, length);
}

std::string Result::get_bytes(std::int64_t row, std::int64_t column) const {
  require_type(row, column, ColumnType::bytes, "bytes");
  return cell_text::to_bytes(text(row, column));
}

std::int64_t Result::get_timestamp(std::int64_t row, std::int64_t column) const {
  require_type(row, column, ColumnType::timestamp, "timestamp");
  return parse_timestamp(text(row, column));
}

nlohmann::json Result::get_json(std::int64_t row, std::int64_t column) const {
  if (is_null(row, column)) return nullptr;
  switch (column_type(column)) {
  case ColumnType::int64: return get_int64(row, column);
  case ColumnType::float64: {
    // JSON has no NaN or infinities: they are the server's text, as to_jsonb writes them.
    double number = get_double(row, column);
    if (!std::isfinite(number)) return get_text(row, column);
    return number;
  }
  case ColumnType::boolean: return get_bool(row, column);
  case ColumnType::json: return nlohmann::json::parse(text(row, column));
  case ColumnType::text_array: return cell_text::array_to_json(text(row, column), false);
  case ColumnType::int_array: return cell_text::array_to_json(text(row, column), true);
  default: return get_text(row, column);
  }
}

nlohmann::json Result::to_json() const {
  nlohmann::json rows_json = nlohmann::json::array();
  for (std::int64_t row = 0; row < rows(); ++row) {
    nlohmann::json object = nlohmann::json::object();
    for (std::int64_t column = 0; column < columns(); ++column)
      object[column_name(column)] = get_json(row, column);
    rows_json.push_back(std::move(object));
  }
  return rows_json;
}

template <> std::optional<std::int64_t> Result::scalar<std::int64_t>() const {
  if (rows() == 0 || is_null(0, 0)) return std::nullopt;
  return get_int64(0, 0);
}
template <> std::optional<double> Result::scalar<double>() const {
  if (rows() == 0 || is_null(0, 0)) return std::nullopt;
  return get_double(0, 0);
}
template <> std::optional<bool> Result::scalar<bool>() const {
  if (rows() == 0 || is_null(0, 0)) return std::nullopt;
  return get_bool(0, 0);
}
template <> std::optional<std::string> Result::scalar<std::string>() const {
  if (rows() == 0 || is_null(0, 0)) return std::nullopt;
  return get_text(0, 0);
}

} // namespace evcs
