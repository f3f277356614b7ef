#include "pg/copy_text.hpp"

#include "evcs/error.hpp"
#include "evcs/params.hpp"

#include <cmath>

namespace evcs::detail {

namespace {

bool has_non_finite(const nlohmann::json &value) {
  if (value.is_number_float()) return !std::isfinite(value.get<double>());
  if (!value.is_structured()) return false;
  for (const auto &element : value)
    if (has_non_finite(element)) return true;
  return false;
}

nlohmann::json non_finite_as_text(const nlohmann::json &value) {
  if (value.is_number_float()) return double_text(value.get<double>());
  if (!value.is_structured()) return value;
  nlohmann::json copy = value;
  for (auto &element : copy) element = non_finite_as_text(element);
  return copy;
}

std::string scalar_text(const nlohmann::json &value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return double_text(value.get<double>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

// A PostgreSQL array literal, every element quoted, nested lists as nested arrays.
std::string array_literal(const nlohmann::json &values) {
  std::string literal = "{";
  for (const auto &value : values) {
    if (literal.size() > 1) literal += ',';
    if (value.is_null()) {
      literal += "NULL";
    } else if (value.is_array()) {
      literal += array_literal(value);
    } else {
      literal += '"';
      for (char c : scalar_text(value)) {
        if (c == '"' || c == '\\') literal += '\\';
        literal += c;
      }
      literal += '"';
    }
  }
  return literal + "}";
}

std::string wrong_shape(const ColumnDefinition &column, std::size_t row, const char *expected,
                        const nlohmann::json &value) {
  return "row " + std::to_string(row) + ": field '" + column.name + "' (" + column.type +
         ") takes " + expected + ", not " + std::string(value.type_name());
}

} // namespace

void append_json_string(std::string &out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        out += "\\u00";
        out += hex[(c >> 4) & 0xf];
        out += hex[c & 0xf];
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

std::string double_text(double number) {
  if (auto text = non_finite_text(number)) return *text;
  return nlohmann::json(number).dump();
}

std::string json_text(const nlohmann::json &value) {
  return has_non_finite(value) ? non_finite_as_text(value).dump() : value.dump();
}

ColumnShape shape_of(const ColumnDefinition &column) {
  std::string type = column.type;
  const std::string not_null = " not null";
  if (type.size() > not_null.size() &&
      type.compare(type.size() - not_null.size(), not_null.size(), not_null) == 0)
    type.erase(type.size() - not_null.size());
  if (type.compare(0, 4, "json") == 0) return ColumnShape::json;
  if (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0) return ColumnShape::array;
  return ColumnShape::scalar;
}

void append_copy_field(std::string &out, const std::string &text) {
  for (char c : text) {
    switch (c) {
    case '\\': out += "\\\\"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    default: out += c;
    }
  }
}

std::optional<std::string> value_text(const nlohmann::json &value, ColumnShape shape) {
  switch (shape) {
  case ColumnShape::json:
    return json_text(value);
  case ColumnShape::array:
    if (value.is_array()) return array_literal(value);
    if (!value.is_string()) return std::nullopt;
    break;
  case ColumnShape::scalar:
    if (value.is_array() || value.is_object()) return std::nullopt;
    break;
  }
  return scalar_text(value);
}

void append_copy_value(std::string &out, const nlohmann::json &value,
                       const ColumnDefinition &column, ColumnShape shape, std::size_t row) {
  if (value.is_null()) {
    out += "\\N";
    return;
  }
  auto text = value_text(value, shape);
  if (!text)
    throw InvalidArgument(wrong_shape(column, row,
                                      shape == ColumnShape::array ? "a list" : "a single value",
                                      value));
  append_copy_field(out, *text);
}

} // namespace evcs::detail
