// A fully received statement result, with typed access to its cells.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace evcs {

enum class ColumnType { text = 0, int64 = 1, float64 = 2, boolean = 3, bytes = 4, timestamp = 5,
                        numeric = 6, json = 7, uuid = 8, date = 9, text_array = 10,
                        int_array = 11 };

// The kind of value a column of the PostgreSQL type `type_oid` holds (text for any type
// without a closer match). Domains are reported by the server as their base type.
ColumnType column_type_of_oid(std::uint32_t type_oid);

// The server's text form of a value of each kind, read: one rule per kind, for Result's getters
// and for ColumnBatch alike.
namespace cell_text {
// `terminated`: a NUL-terminated cell, as the server's cells are.
std::int64_t to_int64(std::string_view text);
double to_double(const char *terminated);
bool to_bool(std::string_view text);
// bytea in the hex output format.
std::string to_bytes(const char *terminated);
// A PostgreSQL array literal (NUL-terminated, as the server's cells are) as a JSON array; its
// elements as integers when `integers`, else as strings; NULL elements as null.
nlohmann::json array_to_json(const char *literal, bool integers);
} // namespace cell_text

class ColumnBatch;

class Result {
public:
  Result() = default;
  // Takes ownership of a libpq result (an opaque PGresult*).
  explicit Result(void *pg_result);

  std::int64_t rows() const noexcept;
  std::int64_t columns() const noexcept;
  std::int64_t rows_affected() const noexcept;
  // The server's command tag, e.g. "INSERT 0 1" or "COMMIT".
  std::string command_tag() const;
  std::string column_name(std::int64_t column) const;
  ColumnType column_type(std::int64_t column) const;
  // The column's index by name; throws InvalidArgument when there is no such column.
  std::int64_t column_index(const std::string &name) const;

  bool is_null(std::int64_t row, std::int64_t column) const;
  // The server's text form of a cell (valid while the Result lives).
  const char *text(std::int64_t row, std::int64_t column, std::size_t *length = nullptr) const;
  std::int64_t get_int64(std::int64_t row, std::int64_t column) const;
  double get_double(std::int64_t row, std::int64_t column) const;
  bool get_bool(std::int64_t row, std::int64_t column) const;
  std::string get_text(std::int64_t row, std::int64_t column) const;
  std::string get_bytes(std::int64_t row, std::int64_t column) const;
  std::int64_t get_timestamp(std::int64_t row, std::int64_t column) const;
  // A cell as JSON, typed by its column (numbers, booleans, null, parsed json, arrays of text
  // or integers, strings).
  nlohmann::json get_json(std::int64_t row, std::int64_t column) const;
  // The whole result as a JSON array of objects.
  nlohmann::json to_json() const;

  // The first column of the first row as T, or nullopt for no row or NULL.
  template <typename T> std::optional<T> scalar() const;

private:
  friend class ColumnBatch;
  // The cell's text, nullopt for NULL, for a loop that checked its rows and columns once.
  std::optional<std::string_view> cell_unchecked(std::int64_t row,
                                                 std::int64_t column) const noexcept;
  void check_cell(std::int64_t row, std::int64_t column) const;
  void check_column(std::int64_t column) const;
  void require_type(std::int64_t row, std::int64_t column, ColumnType wanted,
                    const char *what) const;
  std::shared_ptr<void> result_;
};

// Completion of an async statement; runs on the engine's I/O thread. `result` is empty when
// `error` is set.
using ResultHandler = std::function<void(std::exception_ptr error, Result result)>;

} // namespace evcs
