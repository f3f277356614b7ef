#include "evcs/columns.hpp"

#include "evcs/error.hpp"
#include "evcs/params.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace evcs {

ColumnStorage column_storage(ColumnType type) noexcept {
  switch (type) {
  case ColumnType::int64:
  case ColumnType::boolean:
  case ColumnType::timestamp: return ColumnStorage::integers;
  case ColumnType::float64: return ColumnStorage::reals;
  default: return ColumnStorage::variable;
  }
}

namespace {

// Appends a value's text (NUL-terminated, as the server's cells are) to `into`, read by the
// rules Result's getters read it by (cell_text).
void append_value(TypedColumn &into, std::string_view text) {
  switch (into.type) {
  case ColumnType::int64: into.integers.push_back(cell_text::to_int64(text)); return;
  case ColumnType::boolean: into.integers.push_back(cell_text::to_bool(text) ? 1 : 0); return;
  case ColumnType::timestamp: into.integers.push_back(parse_timestamp(text)); return;
  case ColumnType::float64: into.reals.push_back(cell_text::to_double(text.data())); return;
  case ColumnType::bytes: into.bytes += cell_text::to_bytes(text.data()); break;
  case ColumnType::text_array: into.bytes += cell_text::array_to_json(text.data(), false).dump(); break;
  case ColumnType::int_array: into.bytes += cell_text::array_to_json(text.data(), true).dump(); break;
  default: into.bytes.append(text); break;
  }
  into.offsets.push_back(static_cast<std::int64_t>(into.bytes.size()));
}

void append_null(TypedColumn &into) {
  switch (into.storage) {
  case ColumnStorage::integers: into.integers.push_back(0); return;
  case ColumnStorage::reals: into.reals.push_back(0.0); return;
  case ColumnStorage::variable:
    into.offsets.push_back(static_cast<std::int64_t>(into.bytes.size()));
    return;
  }
}

} // namespace

ColumnBatch::ColumnBatch(const Result &result, std::int64_t first_row, std::int64_t max_rows) {
  if (first_row < 0 || max_rows < 0)
    throw InvalidArgument("a batch starts at a row >= 0 and holds >= 0 rows (got row " +
                          std::to_string(first_row) + ", " + std::to_string(max_rows) + " rows)");
  const std::int64_t end = first_row + std::min(max_rows, std::max<std::int64_t>(
                                                              result.rows() - first_row, 0));
  rows_ = end - first_row;
  columns_.resize(static_cast<std::size_t>(result.columns()));
  for (std::int64_t column = 0; column < result.columns(); ++column) {
    TypedColumn &into = columns_[static_cast<std::size_t>(column)];
    into.name = result.column_name(column);
    into.type = result.column_type(column);
    into.storage = column_storage(into.type);
    into.valid.reserve(static_cast<std::size_t>(rows_));
    if (into.storage == ColumnStorage::variable) {
      into.offsets.reserve(static_cast<std::size_t>(rows_ + 1));
      into.offsets.push_back(0);
    }
  }
  // Row by row: the server's rows lie row by row in memory, and a pass per column would walk
  // all of them once for each column.
  for (std::int64_t row = first_row; row < end; ++row) {
    for (std::int64_t column = 0; column < result.columns(); ++column) {
      TypedColumn &into = columns_[static_cast<std::size_t>(column)];
      const std::optional<std::string_view> text = result.cell_unchecked(row, column);
      into.valid.push_back(text ? 1 : 0);
      if (text) append_value(into, *text);
      else append_null(into);
    }
  }
}

const TypedColumn &ColumnBatch::column(std::int64_t index) const {
  if (index < 0 || index >= static_cast<std::int64_t>(columns_.size()))
    throw InvalidArgument("column " + std::to_string(index) + " is out of range: the batch has " +
                          std::to_string(columns_.size()) + " columns");
  return columns_[static_cast<std::size_t>(index)];
}

ColumnBatches::ColumnBatches(Result result, std::int64_t rows_per_batch)
    : result_(std::move(result)), rows_per_batch_(rows_per_batch) {
  if (rows_per_batch <= 0)
    throw InvalidArgument("rows per batch must be > 0 (got " + std::to_string(rows_per_batch) +
                          ")");
}

bool ColumnBatches::next(ColumnBatch &batch) {
  if (next_row_ >= result_.rows()) return false;
  batch = ColumnBatch(result_, next_row_, rows_per_batch_);
  next_row_ += batch.rows();
  return true;
}

} // namespace evcs
