// Result cells -> Python values, by column type. The mapping table is in docs/python.md.
#include "native.hpp"

#include <datetime.h>

#include <algorithm>
#include <cstring>
#include <cctype>
#include <optional>
#include <vector>

namespace evcs::python {

namespace {

constexpr std::int64_t micros_per_second = 1000000;
constexpr std::int64_t micros_per_day = 86400 * micros_per_second;

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's civil_from_days).
CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2), month, day};
}

[[noreturn]] void out_of_python_range(const char *what, const std::string &text) {
  throw abi::Error(EVCS_EINVALID, std::string("the ") + what + " '" + text +
                                      "' is outside the range of Python's datetime (years "
                                      "1-9999); cast the column to text in SQL to read it");
}

// Python callables used to build cells the C ABI hands over as text.
struct TextDecoders {
  py::object decimal;
  py::object uuid;
  py::object json_loads;
  py::object uuid_safety_unknown;  // uuid.SafeUUID.unknown, what UUID(text) records
  py::str int_name{"int"};
  py::str is_safe_name{"is_safe"};
};

const TextDecoders &text_decoders() {
  // Never destroyed on purpose: destroying Python objects after interpreter shutdown crashes.
  static const TextDecoders *decoders = [] {
    py::module_ uuid = py::module_::import("uuid");
    return new TextDecoders{py::module_::import("decimal").attr("Decimal"), uuid.attr("UUID"),
                            py::module_::import("json").attr("loads"),
                            uuid.attr("SafeUUID").attr("unknown")};
  }();
  return *decoders;
}

// A uuid.UUID of the server's text of a uuid (canonical: 8-4-4-4-12 hex digits), made the way
// UUID(text) makes it (its `int` and `is_safe` slots) without its parsing in Python, which costs
// a scan of many uuids more than the rest of the read; other text goes through UUID(text).
py::object uuid_from_text(py::handle text) {
  const TextDecoders &decoders = text_decoders();
  Py_ssize_t length = 0;
  const char *chars = PyUnicode_AsUTF8AndSize(text.ptr(), &length);
  if (chars == nullptr) throw py::error_already_set();
  char digits[33];
  std::size_t count = 0;
  bool canonical = length == 36;
  for (Py_ssize_t at = 0; canonical && at < length; ++at) {
    const char c = chars[at];
    if (at == 8 || at == 13 || at == 18 || at == 23) canonical = c == '-';
    else if (std::isxdigit(static_cast<unsigned char>(c))) digits[count++] = c;
    else canonical = false;
  }
  if (!canonical) return decoders.uuid(text);
  digits[count] = '\0';
  py::object value = py::reinterpret_steal<py::object>(PyLong_FromString(digits, nullptr, 16));
  if (!value) throw py::error_already_set();
  auto *type = reinterpret_cast<PyTypeObject *>(decoders.uuid.ptr());
  py::object no_arguments = py::reinterpret_steal<py::object>(PyTuple_New(0));
  py::object uuid = py::reinterpret_steal<py::object>(type->tp_new(type, no_arguments.ptr(), nullptr));
  if (!uuid) throw py::error_already_set();
  // UUID's own __setattr__ refuses every write (its instances are immutable): set the slots.
  if (PyObject_GenericSetAttr(uuid.ptr(), decoders.int_name.ptr(), value.ptr()) != 0 ||
      PyObject_GenericSetAttr(uuid.ptr(), decoders.is_safe_name.ptr(),
                              decoders.uuid_safety_unknown.ptr()) != 0)
    throw py::error_already_set();
  return uuid;
}

// A parse of the server's text that found something other than it expects.
[[noreturn]] void unreadable(const char *what, const std::string &text) {
  throw abi::Error(EVCS_EINVALID, std::string("cannot read the ") + what + " '" + text + "'");
}

// An ISO date "YYYY-MM-DD" (the C ABI's form of dates and the server's with DateStyle ISO);
// anything else (BC dates, years past 9999, infinity) has no datetime.date.
py::object date_from_iso(const std::string &iso) {
  auto digits = [&](size_t from, size_t count) {
    int number = 0;
    for (size_t i = from; i < from + count; ++i) {
      if (iso[i] < '0' || iso[i] > '9') out_of_python_range("date", iso);
      number = number * 10 + (iso[i] - '0');
    }
    return number;
  };
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-') out_of_python_range("date", iso);
  PyObject *date = PyDate_FromDate(digits(0, 4), digits(5, 2), digits(8, 2));
  if (date == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(date);
}

// The server's text of a timestamp with DateStyle ISO, "2024-05-01 12:00:00.5+00" (an offset
// only for timestamptz; +00 on evcs's sessions, which run in UTC), as an aware UTC datetime.
// ISO 8601's "T" separator and "Z" (UTC) are read too: a merge's changes and resolutions echo a
// resolution's value as the caller sent it (datetime.isoformat()).
py::object timestamp_from_text(const std::string &text) {
  size_t at = 0;
  auto number = [&](size_t count) {
    int value = 0;
    for (size_t end = at + count; at < end; ++at) {
      if (at >= text.size() || text[at] < '0' || text[at] > '9')
        out_of_python_range("timestamp", text);
      value = value * 10 + (text[at] - '0');
    }
    return value;
  };
  auto expect = [&](char separator) {
    if (at >= text.size() || text[at] != separator) out_of_python_range("timestamp", text);
    ++at;
  };
  auto next_is = [&](char c) { return at < text.size() && text[at] == c; };
  int year = number(4);
  expect('-');
  int month = number(2);
  expect('-');
  int day = number(2);
  if (next_is('T')) ++at;
  else expect(' ');
  int hour = number(2);
  expect(':');
  int minute = number(2);
  expect(':');
  int second = number(2);
  int microsecond = 0;
  if (next_is('.')) {
    ++at;
    int digits = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits)
      if (digits < 6) microsecond = microsecond * 10 + (text[at] - '0');
    if (digits == 0) unreadable("timestamp", text);
    for (; digits < 6; ++digits) microsecond *= 10;
  }
  int offset_seconds = 0;
  if (next_is('Z')) {
    ++at;
  } else if (next_is('+') || next_is('-')) {
    int sign = text[at++] == '-' ? -1 : 1;
    offset_seconds = number(2) * 3600;
    if (next_is(':')) {
      ++at;
      offset_seconds += number(2) * 60;
    }
    if (next_is(':')) {
      ++at;
      offset_seconds += number(2);
    }
    offset_seconds *= sign;
  }
  if (at != text.size()) out_of_python_range("timestamp", text); // " BC"
  PyObject *zone = PyDateTime_TimeZone_UTC;
  py::object offset_zone;
  if (offset_seconds != 0) {
    PyObject *delta = PyDelta_FromDSU(0, offset_seconds, 0);
    if (delta == nullptr) throw py::error_already_set();
    PyObject *fixed = PyTimeZone_FromOffset(delta);
    Py_DECREF(delta);
    if (fixed == nullptr) throw py::error_already_set();
    offset_zone = py::reinterpret_steal<py::object>(fixed);
    zone = offset_zone.ptr();
  }
  PyObject *value = PyDateTimeAPI->DateTime_FromDateAndTime(
      year, month, day, hour, minute, second, microsecond, zone, PyDateTimeAPI->DateTimeType);
  if (value == nullptr) throw py::error_already_set();
  py::object moment = py::reinterpret_steal<py::object>(value);
  if (offset_seconds == 0) return moment;
  return moment.attr("astimezone")(py::handle(PyDateTime_TimeZone_UTC));
}

// bytea in the server's hex output format, \x0a0b.
py::bytes bytes_from_hex_text(const std::string &text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
    throw abi::Error(EVCS_EINVALID, "cannot read the bytea value '" + text.substr(0, 40) +
                                        "': only the hex output format is supported (do not "
                                        "change the server's bytea_output from hex)");
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    unreadable("bytea value", text.substr(0, 40));
  };
  std::string bytes;
  bytes.reserve(text.size() / 2 - 1);
  for (size_t at = 2; at < text.size(); at += 2)
    bytes.push_back(static_cast<char>(nibble(text[at]) * 16 + nibble(text[at + 1])));
  return py::bytes(bytes);
}

class Converter {
public:
  explicit Converter(const evcs_result *result) : result_(result) {
    if (PyDateTimeAPI == nullptr) PyDateTime_IMPORT;
    abi::check(evcs_result_row_count(&rows_, result));
    abi::check(evcs_result_column_count(&columns_, result));
    types_.resize(static_cast<size_t>(columns_));
    for (std::int64_t column = 0; column < columns_; ++column)
      abi::check(evcs_result_column_type(&types_[static_cast<size_t>(column)], result, column));
  }

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t columns() const noexcept { return columns_; }

  std::string column_name(std::int64_t column) const {
    const char *name = nullptr;
    abi::check(evcs_result_column_name(&name, result_, column));
    return name;
  }

  py::object cell(std::int64_t row, std::int64_t column) {
    int is_null = 0;
    abi::check(evcs_result_is_null(&is_null, result_, row, column));
    if (is_null) return py::none();
    switch (types_[static_cast<size_t>(column)]) {
    case EVCS_TYPE_INT64: {
      std::int64_t value = 0;
      abi::check(evcs_result_get_int64(&value, result_, row, column));
      return py::int_(value);
    }
    case EVCS_TYPE_DOUBLE: {
      double value = 0;
      abi::check(evcs_result_get_double(&value, result_, row, column));
      return py::float_(value);
    }
    case EVCS_TYPE_BOOL: {
      int value = 0;
      abi::check(evcs_result_get_bool(&value, result_, row, column));
      return py::bool_(value != 0);
    }
    case EVCS_TYPE_BYTES: {
      void *data = nullptr;
      size_t length = 0;
      abi::check(evcs_result_get_bytes(&data, &length, result_, row, column));
      abi::Allocated owned(data);
      return py::bytes(static_cast<const char *>(data), length);
    }
    case EVCS_TYPE_TIMESTAMP: return timestamp(row, column);
    case EVCS_TYPE_NUMERIC: return text_decoders().decimal(text(row, column));
    case EVCS_TYPE_JSON: return text_decoders().json_loads(text(row, column));
    case EVCS_TYPE_UUID: return uuid_from_text(text(row, column));
    case EVCS_TYPE_DATE: return date(row, column);
    case EVCS_TYPE_TEXT_ARRAY:
    case EVCS_TYPE_INT_ARRAY: return json_array(row, column);
    default: return text(row, column);
    }
  }

private:
  py::str text(std::int64_t row, std::int64_t column) const {
    const char *value = nullptr;
    size_t length = 0;
    abi::check(evcs_result_get_text(&value, &length, result_, row, column));
    return py::str(value, length);
  }

  py::object timestamp(std::int64_t row, std::int64_t column) const {
    std::int64_t micros = 0;
    abi::check(evcs_result_get_timestamp(&micros, result_, row, column));
    std::int64_t days = micros / micros_per_day;
    std::int64_t within_day = micros % micros_per_day;
    if (within_day < 0) {
      within_day += micros_per_day;
      --days;
    }
    CivilDate date = civil_from_days(days);
    if (date.year < 1 || date.year > 9999) out_of_python_range("timestamp", text(row, column));
    std::int64_t seconds = within_day / micros_per_second;
    PyObject *value = PyDateTimeAPI->DateTime_FromDateAndTime(
        static_cast<int>(date.year), static_cast<int>(date.month), static_cast<int>(date.day),
        static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
        static_cast<int>(seconds % 60), static_cast<int>(within_day % micros_per_second),
        PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
    if (value == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(value);
  }

  py::object date(std::int64_t row, std::int64_t column) const {
    const char *value = nullptr;
    size_t length = 0;
    abi::check(evcs_result_get_text(&value, &length, result_, row, column));
    return date_from_iso(std::string(value, length));
  }

  py::object json_array(std::int64_t row, std::int64_t column) {
    char *json = nullptr;
    abi::check(evcs_result_get_json(&json, result_, row, column));
    abi::Allocated owned(json);
    return text_decoders().json_loads(py::str(json));
  }

  const evcs_result *result_;
  std::int64_t rows_ = 0;
  std::int64_t columns_ = 0;
  std::vector<int> types_;
};

} // namespace

py::object parse_json(const py::str &text) { return text_decoders().json_loads(text); }

py::object decode_field(int value_type, py::handle value) {
  if (!PyUnicode_Check(value.ptr())) return py::reinterpret_borrow<py::object>(value);
  if (PyDateTimeAPI == nullptr) PyDateTime_IMPORT;
  switch (value_type) {
  case EVCS_TYPE_DOUBLE: {
    PyObject *number = PyFloat_FromString(value.ptr());
    if (number == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(number);
  }
  case EVCS_TYPE_NUMERIC: return text_decoders().decimal(value);
  case EVCS_TYPE_UUID: return uuid_from_text(value);
  case EVCS_TYPE_DATE: return date_from_iso(value.cast<std::string>());
  case EVCS_TYPE_TIMESTAMP: return timestamp_from_text(value.cast<std::string>());
  case EVCS_TYPE_BYTES: return bytes_from_hex_text(value.cast<std::string>());
  default: return py::reinterpret_borrow<py::object>(value);
  }
}

py::list version_records(const evcs_result *rows, std::int64_t count, std::size_t field_count) {
  Converter converter(rows);
  // The version's own columns come first (EVCS_FOUND_FIELDS_AFTER of them), then the fields (and
  // after them any columns the read added for its order). A record keys the former by their
  // column names, as JSON records do, with timestamps as UTC microseconds, integers and booleans
  // typed and the rest (ids, names) as text; it lists the fields by name.
  constexpr std::int64_t first_field = EVCS_FOUND_FIELDS_AFTER;
  std::vector<std::pair<std::string, std::int64_t>> fields;
  for (std::size_t index = 0; index < field_count; ++index) {
    const std::int64_t column = first_field + static_cast<std::int64_t>(index);
    fields.emplace_back(converter.column_name(column), column);
  }
  std::sort(fields.begin(), fields.end());
  std::vector<py::str> field_names;
  for (const auto &field : fields) field_names.emplace_back(field.first);
  enum class Form { text, micros, cell };
  std::vector<py::str> system_keys;
  std::vector<Form> system_forms;
  for (std::int64_t column = 0; column < first_field; ++column) {
    system_keys.emplace_back(converter.column_name(column));
    int type = 0;
    abi::check(evcs_result_column_type(&type, rows, column));
    system_forms.push_back(type == EVCS_TYPE_TIMESTAMP                       ? Form::micros
                           : type == EVCS_TYPE_INT64 || type == EVCS_TYPE_BOOL ? Form::cell
                                                                               : Form::text);
  }
  py::str fields_key("fields");
  auto set = [](PyObject *dict, const py::str &key, py::object value) {
    if (PyDict_SetItem(dict, key.ptr(), value.ptr()) != 0) throw py::error_already_set();
  };
  py::list records(static_cast<size_t>(count));
  for (std::int64_t row = 0; row < count; ++row) {
    py::dict record;
    for (std::int64_t column = 0; column < first_field; ++column) {
      int is_null = 0;
      abi::check(evcs_result_is_null(&is_null, rows, row, column));
      const Form form = system_forms[static_cast<size_t>(column)];
      py::object value;
      if (is_null) {
        value = py::none();
      } else if (form == Form::text) {
        const char *text = nullptr;
        size_t length = 0;
        abi::check(evcs_result_get_text(&text, &length, rows, row, column));
        value = py::str(text, length);
      } else if (form == Form::micros) {
        std::int64_t micros = 0;
        abi::check(evcs_result_get_timestamp(&micros, rows, row, column));
        value = py::int_(micros);
      } else {
        value = converter.cell(row, column);
      }
      set(record.ptr(), system_keys[static_cast<size_t>(column)], std::move(value));
    }
    py::dict values;
    for (std::size_t index = 0; index < fields.size(); ++index)
      set(values.ptr(), field_names[index], converter.cell(row, fields[index].second));
    set(record.ptr(), fields_key, std::move(values));
    PyList_SET_ITEM(records.ptr(), static_cast<Py_ssize_t>(row), record.release().ptr());
  }
  return records;
}

py::tuple convert_result(const evcs_result *result) {
  Converter converter(result);
  py::list columns;
  for (std::int64_t column = 0; column < converter.columns(); ++column)
    columns.append(py::str(converter.column_name(column)));
  py::list rows;
  for (std::int64_t row = 0; row < converter.rows(); ++row) {
    py::tuple cells(static_cast<size_t>(converter.columns()));
    for (std::int64_t column = 0; column < converter.columns(); ++column)
      cells[static_cast<size_t>(column)] = converter.cell(row, column);
    rows.append(std::move(cells));
  }
  std::int64_t rows_affected = 0;
  abi::check(evcs_result_rows_affected(&rows_affected, result));
  return py::make_tuple(std::move(columns), std::move(rows), rows_affected);
}

py::object convert_scalar(const evcs_result *result) {
  Converter converter(result);
  if (converter.rows() == 0 || converter.columns() == 0) return py::none();
  return converter.cell(0, 0);
}


namespace {

// One wanted column of typed_columns: where it is, and the arrays being filled.
struct FilledColumn {
  std::int64_t index;
  int type;
  bool as_text;
  py::object values;
  py::object valid;
};

// The object a variable-width value of a column becomes, as convert_result makes it (text: the
// value's str, as version records keep the version's own columns).
py::object variable_value(int type, bool as_text, const char *data, std::size_t length) {
  if (type == EVCS_TYPE_BYTES) return py::bytes(data, length);
  py::str text(data, length);
  if (as_text) return std::move(text);
  switch (type) {
  case EVCS_TYPE_NUMERIC: return text_decoders().decimal(text);
  case EVCS_TYPE_UUID: return uuid_from_text(text);
  case EVCS_TYPE_DATE: return date_from_iso(std::string(data, length));
  case EVCS_TYPE_JSON:
  case EVCS_TYPE_TEXT_ARRAY:
  case EVCS_TYPE_INT_ARRAY: return text_decoders().json_loads(text);
  default: return std::move(text);
  }
}

void *writable(const py::object &array) { return py::buffer(array).request(true).ptr; }

} // namespace

py::list typed_columns(const evcs_result *rows, std::int64_t count,
                       const std::vector<std::pair<std::string, bool>> &wanted) {
  if (PyDateTimeAPI == nullptr) PyDateTime_IMPORT;
  py::module_ numpy = py::module_::import("numpy");
  std::int64_t column_count = 0;
  abi::check(evcs_result_column_count(&column_count, rows));
  // Each wanted column's index and whether it keeps its text; nothing wanted: every column.
  std::vector<std::pair<std::int64_t, bool>> chosen;
  for (const auto &[name, as_text] : wanted) {
    std::int64_t index = 0;
    for (; index < column_count; ++index) {
      const char *column_name = nullptr;
      abi::check(evcs_result_column_name(&column_name, rows, index));
      if (name == column_name) break;
    }
    if (index == column_count)
      throw abi::Error(EVCS_EINVALID, "the rows have no column named '" + name + "'");
    chosen.emplace_back(index, as_text);
  }
  if (wanted.empty())
    for (std::int64_t index = 0; index < column_count; ++index) chosen.emplace_back(index, false);
  std::vector<FilledColumn> filled;
  for (const auto &[index, as_text] : chosen) {
    int type = 0;
    abi::check(evcs_result_column_type(&type, rows, index));
    const char *dtype = type == EVCS_TYPE_DOUBLE ? "float64"
                        : type == EVCS_TYPE_INT64 || type == EVCS_TYPE_BOOL ||
                                type == EVCS_TYPE_TIMESTAMP
                            ? "int64"
                            : "object";
    filled.push_back({index, type, as_text, numpy.attr("empty")(count, py::arg("dtype") = dtype),
                      numpy.attr("empty")(count, py::arg("dtype") = "bool")});
  }
  evcs_batches *raw = nullptr;
  abi::check(evcs_result_batches(&raw, rows, 65536));
  abi::Batches batches(raw);
  CollectorPause pause;
  for (std::int64_t at = 0; at < count;) {
    const evcs_batch *batch = nullptr;
    int status = EVCS_OK;
    {
      py::gil_scoped_release released;
      status = evcs_batches_next(&batch, batches.get());
    }
    if (status == EVCS_ITEROVER) break;
    abi::check(status);
    std::int64_t batch_rows = 0;
    abi::check(evcs_batch_row_count(&batch_rows, batch));
    const std::int64_t taken = std::min(batch_rows, count - at);
    for (FilledColumn &column : filled) {
      const std::uint8_t *validity = nullptr;
      abi::check(evcs_batch_column_validity(&validity, batch, column.index));
      std::memcpy(static_cast<std::uint8_t *>(writable(column.valid)) + at, validity,
                  static_cast<std::size_t>(taken));
      if (column.type == EVCS_TYPE_DOUBLE) {
        const double *values = nullptr;
        abi::check(evcs_batch_column_doubles(&values, batch, column.index));
        std::memcpy(static_cast<double *>(writable(column.values)) + at, values,
                    static_cast<std::size_t>(taken) * sizeof(double));
      } else if (column.type == EVCS_TYPE_INT64 || column.type == EVCS_TYPE_BOOL ||
                 column.type == EVCS_TYPE_TIMESTAMP) {
        const std::int64_t *values = nullptr;
        abi::check(evcs_batch_column_int64s(&values, batch, column.index));
        std::memcpy(static_cast<std::int64_t *>(writable(column.values)) + at, values,
                    static_cast<std::size_t>(taken) * sizeof(std::int64_t));
      } else {
        const std::int64_t *offsets = nullptr;
        const char *data = nullptr;
        abi::check(evcs_batch_column_bytes(&offsets, &data, batch, column.index));
        // An object array holds a reference per slot (None when made): each is replaced. A
        // value equal to the row before's is that row's object when values of the type are
        // immutable (not parsed JSON): columns such as branch and author repeat a few values.
        auto **slots = static_cast<PyObject **>(writable(column.values)) + at;
        const bool shareable = column.type != EVCS_TYPE_JSON &&
                               column.type != EVCS_TYPE_TEXT_ARRAY &&
                               column.type != EVCS_TYPE_INT_ARRAY;
        std::string_view previous;
        py::object previous_value;
        for (std::int64_t row = 0; row < taken; ++row) {
          py::object value = py::none();
          if (validity[row]) {
            std::string_view bytes(data + offsets[row],
                                   static_cast<std::size_t>(offsets[row + 1] - offsets[row]));
            if (shareable && previous_value && bytes == previous) {
              value = previous_value;
            } else {
              value = variable_value(column.type, column.as_text, bytes.data(), bytes.size());
              previous = bytes;
              previous_value = value;
            }
          }
          Py_XDECREF(slots[row]);
          slots[row] = value.release().ptr();
        }
      }
    }
    at += taken;
  }
  py::list columns;
  for (FilledColumn &column : filled) {
    const char *name = nullptr;
    abi::check(evcs_result_column_name(&name, rows, column.index));
    const char *kind = column.type == EVCS_TYPE_INT64       ? "int64"
                       : column.type == EVCS_TYPE_BOOL      ? "bool"
                       : column.type == EVCS_TYPE_TIMESTAMP ? "timestamp"
                       : column.type == EVCS_TYPE_DOUBLE    ? "float64"
                                                            : "object";
    columns.append(py::make_tuple(py::str(name), py::str(kind), column.values, column.valid));
  }
  return columns;
}

} // namespace evcs::python
