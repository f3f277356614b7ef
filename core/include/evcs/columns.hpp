// Typed, columnar batches of a result's rows: each column one array of values of its kind and
// one validity byte per row. This is how rows cross to a binding that builds columns of its own
// (numpy arrays, DataFrames) without a host object or a JSON value per cell on the way.
#pragma once

#include "evcs/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace evcs {

// Where a column's values are held, by its ColumnType.
enum class ColumnStorage {
  // int64; boolean as 0 / 1; timestamp as UTC microseconds since 1970-01-01 (INT64_MAX and
  // INT64_MIN for 'infinity' and '-infinity').
  integers,
  // float64, NaN and infinities included.
  reals,
  // Everything else, as bytes: text, numeric (exact decimal text), uuid (canonical text), date
  // (ISO text), json (JSON text), arrays (JSON text, as Result::get_json gives them) and bytea
  // (the raw bytes, decoded).
  variable,
};

ColumnStorage column_storage(ColumnType type) noexcept;

struct TypedColumn {
  std::string name;
  ColumnType type = ColumnType::text;
  ColumnStorage storage = ColumnStorage::variable;
  // One byte per row: 1 holds a value, 0 is NULL (its slot holds 0, 0.0 or no bytes).
  std::vector<std::uint8_t> valid;
  std::vector<std::int64_t> integers;
  std::vector<double> reals;
  // Row r's bytes are bytes[offsets[r], offsets[r + 1]): rows + 1 offsets.
  std::vector<std::int64_t> offsets;
  std::string bytes;
};

class ColumnBatch {
public:
  ColumnBatch() = default;
  // Rows [first_row, first_row + max_rows) of `result`, cut at its end; InvalidArgument for a
  // negative first row or count.
  ColumnBatch(const Result &result, std::int64_t first_row, std::int64_t max_rows);

  std::int64_t rows() const noexcept { return rows_; }
  const std::vector<TypedColumn> &columns() const noexcept { return columns_; }
  // InvalidArgument out of range.
  const TypedColumn &column(std::int64_t index) const;

private:
  std::int64_t rows_ = 0;
  std::vector<TypedColumn> columns_;
};

// A result's rows in batches of at most `rows_per_batch`, first to last.
class ColumnBatches {
public:
  ColumnBatches(Result result, std::int64_t rows_per_batch);
  // The next batch; false after the last one.
  bool next(ColumnBatch &batch);

private:
  Result result_;
  std::int64_t rows_per_batch_;
  std::int64_t next_row_ = 0;
};

} // namespace evcs
