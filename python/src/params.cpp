// Python values -> server-side parameters. The mapping table is in docs/python.md.
#include "native.hpp"

#include <datetime.h>

namespace evcs::python {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

constexpr std::int64_t micros_per_second = 1000000;
constexpr std::int64_t micros_per_day = 86400 * micros_per_second;

std::int64_t timedelta_micros(PyObject *delta) {
  return PyDateTime_DELTA_GET_DAYS(delta) * micros_per_day +
         PyDateTime_DELTA_GET_SECONDS(delta) * micros_per_second +
         PyDateTime_DELTA_GET_MICROSECONDS(delta);
}

// Aware datetime -> UTC microseconds since 1970-01-01. Naive datetimes are refused: guessing a
// zone silently shifts stored instants.
std::int64_t utc_micros(py::handle value, const std::string &position) {
  py::object offset = value.attr("utcoffset")();
  if (offset.is_none())
    throw abi::Error(EVCS_EINVALID,
                     position + ": a naive datetime has no time zone; attach one, e.g. "
                                "value.replace(tzinfo=datetime.timezone.utc)");
  PyObject *moment = value.ptr();
  std::int64_t days = days_from_civil(PyDateTime_GET_YEAR(moment), PyDateTime_GET_MONTH(moment),
                                      PyDateTime_GET_DAY(moment));
  std::int64_t seconds = PyDateTime_DATE_GET_HOUR(moment) * 3600 +
                         PyDateTime_DATE_GET_MINUTE(moment) * 60 +
                         PyDateTime_DATE_GET_SECOND(moment);
  return days * micros_per_day + seconds * micros_per_second +
         PyDateTime_DATE_GET_MICROSECOND(moment) - timedelta_micros(offset.ptr());
}

// The Python types sent as their text form (the server casts from text).
struct TextualTypes {
  py::object decimal;
  py::object uuid;
  py::object json_dumps;
};

const TextualTypes &textual_types() {
  // Never destroyed on purpose: destroying Python objects after interpreter shutdown crashes.
  static const TextualTypes *types = new TextualTypes{
      py::module_::import("decimal").attr("Decimal"), py::module_::import("uuid").attr("UUID"),
      py::module_::import("json").attr("dumps")};
  return *types;
}

void add_text(evcs_params *params, const std::string &position, py::handle value) {
  std::string text = utf8(py::reinterpret_borrow<py::str>(value), position.c_str());
  abi::check(evcs_params_add_text(params, text.data(), static_cast<std::int64_t>(text.size())));
}

void add_value(evcs_params *params, const std::string &position, py::handle value) {
  PyObject *object = value.ptr();
  if (value.is_none()) {
    abi::check(evcs_params_add_null(params));
  } else if (PyBool_Check(object)) { // before int: bool is an int subclass
    abi::check(evcs_params_add_bool(params, object == Py_True ? 1 : 0));
  } else if (PyLong_Check(object)) {
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(object, &overflow);
    if (overflow != 0)
      throw abi::Error(EVCS_EINVALID, position + ": the integer " + py::str(value).cast<std::string>() +
                                          " is outside the 64-bit range of PostgreSQL bigint; "
                                          "pass it as decimal.Decimal for a numeric column");
    abi::check(evcs_params_add_int64(params, number));
  } else if (PyFloat_Check(object)) {
    abi::check(evcs_params_add_double(params, PyFloat_AS_DOUBLE(object)));
  } else if (PyUnicode_Check(object)) {
    add_text(params, position, value);
  } else if (PyBytes_Check(object) || PyByteArray_Check(object) || PyMemoryView_Check(object)) {
    Py_buffer view;
    if (PyObject_GetBuffer(object, &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
    std::unique_ptr<Py_buffer, decltype(&PyBuffer_Release)> held(&view, &PyBuffer_Release);
    abi::check(evcs_params_add_bytes(params, view.buf, static_cast<size_t>(view.len)));
  } else if (PyDateTime_Check(object)) { // before date: datetime is a date subclass
    abi::check(evcs_params_add_timestamp(params, utc_micros(value, position)));
  } else if (PyDate_Check(object)) {
    add_text(params, position, value.attr("isoformat")());
  } else if (PyDict_Check(object) || PyList_Check(object)) {
    std::string json = textual_types().json_dumps(value).cast<std::string>();
    abi::check(evcs_params_add_json(params, json.c_str()));
  } else if (py::isinstance(value, textual_types().decimal) ||
             py::isinstance(value, textual_types().uuid)) {
    add_text(params, position, py::str(value));
  } else {
    throw py::type_error(position + ": cannot send a value of type " +
                         py::str(py::type::handle_of(value).attr("__qualname__"))
                             .cast<std::string>() +
                         "; supported: None, bool, int, float, str, bytes, bytearray, memoryview, "
                         "datetime (aware), date, Decimal, UUID, dict, list");
  }
}

} // namespace

std::string utf8(const py::str &text, const char *what) {
  Py_ssize_t size = 0;
  const char *data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw abi::Error(EVCS_EINVALID, std::string(what) +
                                        " is not valid Unicode text (it contains a lone "
                                        "surrogate) and cannot be sent as UTF-8");
  }
  return std::string(data, static_cast<size_t>(size));
}

abi::Params to_params(py::handle values) {
  if (values.is_none()) return abi::Params();
  if (PyUnicode_Check(values.ptr()) || PyBytes_Check(values.ptr()) ||
      PyDict_Check(values.ptr()) || !PySequence_Check(values.ptr()))
    throw py::type_error("params must be a sequence (tuple or list) of values for $1, $2, ..., "
                         "not " +
                         py::str(py::type::handle_of(values).attr("__qualname__"))
                             .cast<std::string>());
  if (PyDateTimeAPI == nullptr) PyDateTime_IMPORT;
  abi::Params params = abi::make_params();
  py::sequence sequence = py::reinterpret_borrow<py::sequence>(values);
  size_t count = sequence.size();
  for (size_t index = 0; index < count; ++index) {
    std::string position = "parameter $" + std::to_string(index + 1);
    try {
      add_value(params.get(), position, sequence[index]);
    } catch (const abi::Error &error) {
      if (std::string(error.what()).rfind(position, 0) == 0) throw;
      throw abi::Error(error.code(), position + ": " + error.what(), error.sqlstate(),
                       error.detail_json(), error.retryable());
    }
  }
  return params;
}

} // namespace evcs::python
