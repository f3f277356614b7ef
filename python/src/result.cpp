// Result cells -> Python values, by column type. The mapping table is in docs/python.md.
#include "native.hpp"

#include <datetime.h>

#include <algorithm>
#include <cstring>
#include <cctype>
#include <optional>
#include <unordered_map>
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

// The server's text of the instant `micros` (UTC), for messages about it.
// The UTC calendar date of an instant and the microseconds into its day.
struct UtcInstant {
  CivilDate date;
  std::int64_t within_day;
};

UtcInstant utc_instant(std::int64_t micros) {
  std::int64_t days = micros / micros_per_day;
  std::int64_t within_day = micros % micros_per_day;
  if (within_day < 0) {
    within_day += micros_per_day;
    --days;
  }
  return {civil_from_days(days), within_day};
}

std::string timestamp_text(std::int64_t micros) {
  if (micros == INT64_MAX) return "infinity";
  if (micros == INT64_MIN) return "-infinity";
  const auto [date, within_day] = utc_instant(micros);
  const std::int64_t seconds = within_day / micros_per_second;
  char text[80];
  std::snprintf(text, sizeof text, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld+00%s",
                static_cast<long long>(date.year > 0 ? date.year : 1 - date.year), date.month,
                date.day, static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60),
                static_cast<long long>(within_day % micros_per_second),
                date.year > 0 ? "" : " BC");
  return text;
}

// An aware UTC datetime of UTC microseconds since 1970.
py::object datetime_from_micros(std::int64_t micros) {
  if (micros == INT64_MAX || micros == INT64_MIN)
    out_of_python_range("timestamp", timestamp_text(micros));
  const auto [date, within_day] = utc_instant(micros);
  if (date.year < 1 || date.year > 9999) out_of_python_range("timestamp", timestamp_text(micros));
  const std::int64_t seconds = within_day / micros_per_second;
  PyObject *value = PyDateTimeAPI->DateTime_FromDateAndTime(
      static_cast<int>(date.year), static_cast<int>(date.month), static_cast<int>(date.day),
      static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
      static_cast<int>(seconds % 60), static_cast<int>(within_day % micros_per_second),
      PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
  if (value == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(value);
}

// Whether a batch holds a column of this type as int64s (evcs.h, "typed columns"); doubles are
// doubles, the rest bytes.
bool held_as_int64s(int type) {
  return type == EVCS_TYPE_INT64 || type == EVCS_TYPE_BOOL || type == EVCS_TYPE_TIMESTAMP;
}

// The cells of one typed batch (evcs_result_batches) as Python values: the one place where a
// value the server sent becomes a Python value (docs/python.md's type mapping).
class BatchCells {
public:
  explicit BatchCells(const evcs_batch *batch) {
    if (PyDateTimeAPI == nullptr) PyDateTime_IMPORT;
    abi::check(evcs_batch_row_count(&rows_, batch));
    std::int64_t count = 0;
    abi::check(evcs_batch_column_count(&count, batch));
    columns_.resize(static_cast<std::size_t>(count));
    for (std::int64_t index = 0; index < count; ++index) {
      Column &column = columns_[static_cast<std::size_t>(index)];
      abi::check(evcs_batch_column_type(&column.type, batch, index));
      abi::check(evcs_batch_column_validity(&column.valid, batch, index));
      if (held_as_int64s(column.type))
        abi::check(evcs_batch_column_int64s(&column.integers, batch, index));
      else if (column.type == EVCS_TYPE_DOUBLE)
        abi::check(evcs_batch_column_doubles(&column.reals, batch, index));
      else
        abi::check(evcs_batch_column_bytes(&column.offsets, &column.data, batch, index));
    }
  }

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t columns() const noexcept { return static_cast<std::int64_t>(columns_.size()); }
  int type(std::int64_t column) const { return at(column).type; }
  bool is_null(std::int64_t column, std::int64_t row) const { return at(column).valid[row] == 0; }
  const std::int64_t *integers(std::int64_t column) const { return at(column).integers; }
  const double *reals(std::int64_t column) const { return at(column).reals; }

  // The cell's Python value (None for NULL); `as_text`: a variable-width value as its str. A
  // value equal to the one before it in the column is that one's object when values of its
  // type are immutable (all but parsed JSON): columns such as branch and author repeat a few.
  py::object value(std::int64_t column, std::int64_t row, bool as_text = false) {
    Column &source = at(column);
    if (source.valid[row] == 0) return py::none();
    switch (source.type) {
    case EVCS_TYPE_INT64: return py::int_(source.integers[row]);
    case EVCS_TYPE_BOOL: return py::bool_(source.integers[row] != 0);
    case EVCS_TYPE_TIMESTAMP: return datetime_from_micros(source.integers[row]);
    case EVCS_TYPE_DOUBLE: return py::float_(source.reals[row]);
    default: break;
    }
    std::string_view bytes(source.data + source.offsets[row],
                           static_cast<std::size_t>(source.offsets[row + 1] - source.offsets[row]));
    const bool shareable = as_text || (source.type != EVCS_TYPE_JSON &&
                                       source.type != EVCS_TYPE_TEXT_ARRAY &&
                                       source.type != EVCS_TYPE_INT_ARRAY);
    if (shareable && source.previous && bytes == source.previous_bytes &&
        as_text == source.previous_as_text)
      return source.previous;
    // A uuid column refers to a few entities many times (a task's project): each id of the
    // batch becomes one UUID, which costs more to make than a lookup.
    const bool referring = !as_text && source.type == EVCS_TYPE_UUID;
    if (referring) {
      auto known = source.uuids.find(bytes);
      if (known != source.uuids.end()) return known->second;
    }
    py::object made = as_text ? py::str(bytes.data(), bytes.size())
                              : variable_value(source.type, bytes);
    if (referring) source.uuids.emplace(bytes, made);
    if (shareable) {
      source.previous = made;
      source.previous_bytes = bytes;
      source.previous_as_text = as_text;
    }
    return made;
  }

private:
  struct Column {
    int type = EVCS_TYPE_TEXT;
    const std::uint8_t *valid = nullptr;
    const std::int64_t *integers = nullptr;
    const double *reals = nullptr;
    const std::int64_t *offsets = nullptr;
    const char *data = nullptr;
    py::object previous;
    std::string_view previous_bytes;
    bool previous_as_text = false;
    std::unordered_map<std::string_view, py::object> uuids;
  };

  static py::object variable_value(int type, std::string_view bytes) {
    if (type == EVCS_TYPE_BYTES) return py::bytes(bytes.data(), bytes.size());
    py::str text(bytes.data(), bytes.size());
    switch (type) {
    case EVCS_TYPE_NUMERIC: return text_decoders().decimal(text);
    case EVCS_TYPE_UUID: return uuid_from_text(text);
    case EVCS_TYPE_DATE: return date_from_iso(std::string(bytes));
    case EVCS_TYPE_JSON:
    case EVCS_TYPE_TEXT_ARRAY:
    case EVCS_TYPE_INT_ARRAY: return text_decoders().json_loads(text);
    default: return std::move(text);
    }
  }

  Column &at(std::int64_t column) { return columns_.at(static_cast<std::size_t>(column)); }
  const Column &at(std::int64_t column) const {
    return columns_.at(static_cast<std::size_t>(column));
  }

  std::int64_t rows_ = 0;
  std::vector<Column> columns_;
};

// Calls `each(cells, taken)` for each typed batch of `result` up to its first `count` rows (all:
// count < 0), `taken` the batch's rows among them; the batches are made without the GIL.
template <typename Each>
void for_each_batch(const evcs_result *result, std::int64_t count, Each &&each) {
  evcs_batches *raw = nullptr;
  abi::check(evcs_result_batches(&raw, result, 65536));
  abi::Batches batches(raw);
  for (std::int64_t done = 0; count < 0 || done < count;) {
    const evcs_batch *batch = nullptr;
    int status = EVCS_OK;
    {
      py::gil_scoped_release released;
      status = evcs_batches_next(&batch, batches.get());
    }
    if (status == EVCS_ITEROVER) return;
    abi::check(status);
    BatchCells cells(batch);
    const std::int64_t taken = count < 0 ? cells.rows() : std::min(cells.rows(), count - done);
    each(cells, taken);
    done += taken;
  }
}

// Calls `each(cells, row)` for the first `count` rows of `result` (all: count < 0).
template <typename Each>
void for_each_row(const evcs_result *result, std::int64_t count, Each &&each) {
  for_each_batch(result, count, [&](BatchCells &cells, std::int64_t taken) {
    for (std::int64_t row = 0; row < taken; ++row) each(cells, row);
  });
}

std::string column_name(const evcs_result *result, std::int64_t column) {
  const char *name = nullptr;
  abi::check(evcs_result_column_name(&name, result, column));
  return name;
}

std::int64_t column_count(const evcs_result *result) {
  std::int64_t count = 0;
  abi::check(evcs_result_column_count(&count, result));
  return count;
}

void set_item(PyObject *dict, const py::str &key, py::object value) {
  if (PyDict_SetItem(dict, key.ptr(), value.ptr()) != 0) throw py::error_already_set();
}

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

py::list version_records(const evcs_result *rows, std::int64_t first, std::int64_t count,
                         std::size_t field_count) {
  // The version's own columns come first (EVCS_FOUND_FIELDS_AFTER of them), then the fields (and
  // after them any columns the read added for its order). A record keys the former by their
  // column names, as JSON records do, with timestamps as UTC microseconds, integers and booleans
  // typed and the rest (ids, names) as text; it lists the fields by name.
  constexpr std::int64_t first_field = EVCS_FOUND_FIELDS_AFTER;
  std::vector<std::pair<std::string, std::int64_t>> fields;
  for (std::size_t index = 0; index < field_count; ++index) {
    const std::int64_t column = first_field + static_cast<std::int64_t>(index);
    fields.emplace_back(column_name(rows, column), column);
  }
  std::sort(fields.begin(), fields.end());
  std::vector<py::str> field_names;
  for (const auto &field : fields) field_names.emplace_back(field.first);
  std::vector<py::str> system_keys;
  for (std::int64_t column = 0; column < first_field; ++column)
    system_keys.emplace_back(column_name(rows, column));
  py::str fields_key("fields");
  CollectorPause pause;
  py::list records(static_cast<size_t>(count));
  std::int64_t seen = 0, made = 0;
  for_each_row(rows, first + count, [&](BatchCells &cells, std::int64_t row) {
    if (seen++ < first) return;
    py::dict record;
    for (std::int64_t column = 0; column < first_field; ++column) {
      py::object value;
      switch (cells.type(column)) {
      case EVCS_TYPE_TIMESTAMP:
        value = cells.is_null(column, row) ? py::none()
                                           : py::object(py::int_(cells.integers(column)[row]));
        break;
      case EVCS_TYPE_INT64:
      case EVCS_TYPE_BOOL: value = cells.value(column, row); break;
      default: value = cells.value(column, row, true); break;
      }
      set_item(record.ptr(), system_keys[static_cast<size_t>(column)], std::move(value));
    }
    py::dict values;
    for (std::size_t index = 0; index < fields.size(); ++index)
      set_item(values.ptr(), field_names[index], cells.value(fields[index].second, row));
    set_item(record.ptr(), fields_key, std::move(values));
    PyList_SET_ITEM(records.ptr(), static_cast<Py_ssize_t>(made++), record.release().ptr());
  });
  if (made != count)
    throw abi::Error(EVCS_EINVALID, "the rows hold " + std::to_string(made) + " versions, not " +
                                        std::to_string(count));
  return records;
}

py::tuple convert_result(const evcs_result *result) {
  const std::int64_t columns_count = column_count(result);
  py::list columns;
  for (std::int64_t column = 0; column < columns_count; ++column)
    columns.append(py::str(column_name(result, column)));
  py::list rows;
  for_each_row(result, -1, [&](BatchCells &cells, std::int64_t row) {
    py::tuple values(static_cast<size_t>(columns_count));
    for (std::int64_t column = 0; column < columns_count; ++column)
      values[static_cast<size_t>(column)] = cells.value(column, row);
    rows.append(std::move(values));
  });
  std::int64_t rows_affected = 0;
  abi::check(evcs_result_rows_affected(&rows_affected, result));
  return py::make_tuple(std::move(columns), std::move(rows), rows_affected);
}

py::object convert_scalar(const evcs_result *result) {
  if (column_count(result) == 0) return py::none();
  py::object first = py::none();
  for_each_row(result, 1, [&](BatchCells &cells, std::int64_t row) { first = cells.value(0, row); });
  return first;
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

void *writable(const py::object &array) { return py::buffer(array).request(true).ptr; }

} // namespace

py::list typed_columns(const evcs_result *rows, std::int64_t count,
                       const std::vector<std::pair<std::string, bool>> &wanted) {
  py::module_ numpy = py::module_::import("numpy");
  const std::int64_t columns_count = column_count(rows);
  // Each wanted column's index and whether it keeps its text; nothing wanted: every column.
  std::vector<std::pair<std::int64_t, bool>> chosen;
  for (const auto &[name, as_text] : wanted) {
    std::int64_t index = 0;
    while (index < columns_count && name != column_name(rows, index)) ++index;
    if (index == columns_count)
      throw abi::Error(EVCS_EINVALID, "the rows have no column named '" + name + "'");
    chosen.emplace_back(index, as_text);
  }
  if (wanted.empty())
    for (std::int64_t index = 0; index < columns_count; ++index) chosen.emplace_back(index, false);
  std::vector<FilledColumn> filled;
  for (const auto &[index, as_text] : chosen) {
    int type = 0;
    abi::check(evcs_result_column_type(&type, rows, index));
    const char *dtype = type == EVCS_TYPE_DOUBLE ? "float64"
                        : held_as_int64s(type)     ? "int64"
                                                   : "object";
    filled.push_back({index, type, as_text, numpy.attr("empty")(count, py::arg("dtype") = dtype),
                      numpy.attr("empty")(count, py::arg("dtype") = "bool")});
  }
  CollectorPause pause;
  // Fixed-width values are copied a column at a time; the others become objects cell by cell,
  // replacing the None an object array is made with.
  std::int64_t at = 0;
  for_each_batch(rows, count, [&](BatchCells &cells, std::int64_t taken) {
    for (FilledColumn &column : filled) {
      auto *valid = static_cast<bool *>(writable(column.valid)) + at;
      for (std::int64_t row = 0; row < taken; ++row) valid[row] = !cells.is_null(column.index, row);
      if (const double *reals = cells.reals(column.index)) {
        std::memcpy(static_cast<double *>(writable(column.values)) + at, reals,
                    static_cast<std::size_t>(taken) * sizeof(double));
      } else if (const std::int64_t *integers = cells.integers(column.index)) {
        std::memcpy(static_cast<std::int64_t *>(writable(column.values)) + at, integers,
                    static_cast<std::size_t>(taken) * sizeof(std::int64_t));
      } else {
        auto **slots = static_cast<PyObject **>(writable(column.values)) + at;
        for (std::int64_t row = 0; row < taken; ++row) {
          py::object value = cells.value(column.index, row, column.as_text);
          Py_XDECREF(slots[row]);
          slots[row] = value.release().ptr();
        }
      }
    }
    at += taken;
  });
  py::list columns;
  for (FilledColumn &column : filled) {
    const char *kind = column.type == EVCS_TYPE_INT64       ? "int64"
                       : column.type == EVCS_TYPE_BOOL      ? "bool"
                       : column.type == EVCS_TYPE_TIMESTAMP ? "timestamp"
                       : column.type == EVCS_TYPE_DOUBLE    ? "float64"
                                                            : "object";
    columns.append(py::make_tuple(py::str(column_name(rows, column.index)), py::str(kind),
                                  column.values, column.valid));
  }
  return columns;
}

} // namespace evcs::python
