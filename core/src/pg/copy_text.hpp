// Rows in COPY's text format, for the operations that write many versions at once through COPY
// (a bulk create, a merge).
#pragma once

#include "evcs/versioning.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace evcs::detail {

// Appends `text` (UTF-8) as a JSON string, as nlohmann::json writes it.
void append_json_string(std::string &out, std::string_view text);

// `number` as JSON writes it, or as non_finite_text names it.
std::string double_text(double number);
// `value` as JSON text, any NaN or infinity inside it as its string (nlohmann writes null).
std::string json_text(const nlohmann::json &value);

// How a column's values are written.
enum class ColumnShape { scalar, array, json };

ColumnShape shape_of(const ColumnDefinition &column);

// The text PostgreSQL reads as `value` (not null) in a column of `shape`: a list as an array
// literal, any JSON as its text in a json column; nothing for a list or an object in a scalar
// column, or anything but a list or a literal in an array column.
std::optional<std::string> value_text(const nlohmann::json &value, ColumnShape shape);

// Appends `text` as one field: backslash and the delimiters are escaped.
void append_copy_field(std::string &out, const std::string &text);

// Appends `value` (NULL for a JSON null) as the field of `column`; a list for a scalar column
// or a single value for an array column is an InvalidArgument naming `row`.
void append_copy_value(std::string &out, const nlohmann::json &value,
                       const ColumnDefinition &column, ColumnShape shape, std::size_t row);

} // namespace evcs::detail
