#include "capi_internal.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>

using namespace evcs::capi;

extern "C" {

int evcs_result_row_count(int64_t *out, const evcs_result *result) {
  return guarded([&] { deref(out, "out") = deref(result, "result").result.rows(); });
}

int evcs_result_column_count(int64_t *out, const evcs_result *result) {
  return guarded([&] { deref(out, "out") = deref(result, "result").result.columns(); });
}

int evcs_result_rows_affected(int64_t *out, const evcs_result *result) {
  return guarded([&] { deref(out, "out") = deref(result, "result").result.rows_affected(); });
}

int evcs_result_column_name(const char **out, const evcs_result *result, int64_t column) {
  return guarded([&] {
    deref(out, "out");
    const evcs_result &source = deref(result, "result");
    source.result.column_type(column);
    *out = source.column_names[static_cast<std::size_t>(column)].c_str();
  });
}

int evcs_result_column_type(int *out, const evcs_result *result, int64_t column) {
  return guarded([&] {
    deref(out, "out") = static_cast<int>(deref(result, "result").result.column_type(column));
  });
}

int evcs_result_is_null(int *out, const evcs_result *result, int64_t row, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(result, "result").result.is_null(row, column) ? 1 : 0;
  });
}

int evcs_result_get_int64(int64_t *out, const evcs_result *result, int64_t row, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(result, "result").result.get_int64(row, column);
  });
}

int evcs_result_get_double(double *out, const evcs_result *result, int64_t row, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(result, "result").result.get_double(row, column);
  });
}

int evcs_result_get_bool(int *out, const evcs_result *result, int64_t row, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(result, "result").result.get_bool(row, column) ? 1 : 0;
  });
}

int evcs_result_get_text(const char **out, size_t *length, const evcs_result *result, int64_t row,
                         int64_t column) {
  return guarded([&] {
    deref(out, "out");
    std::size_t size = 0;
    *out = deref(result, "result").result.text(row, column, &size);
    if (length != nullptr) *length = size;
  });
}

int evcs_result_get_bytes(void **out, size_t *length, const evcs_result *result, int64_t row,
                          int64_t column) {
  return guarded([&] {
    deref(out, "out");
    deref(length, "length");
    std::string bytes = deref(result, "result").result.get_bytes(row, column);
    void *copy = std::malloc(bytes.size() + 1);
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, bytes.data(), bytes.size());
    *out = copy;
    *length = bytes.size();
  });
}

int evcs_result_get_timestamp(int64_t *out, const evcs_result *result, int64_t row,
                              int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(result, "result").result.get_timestamp(row, column);
  });
}

int evcs_result_get_json(char **out, const evcs_result *result, int64_t row, int64_t column) {
  return guarded([&] {
    deref(out, "out");
    *out = copy_out(deref(result, "result").result.get_json(row, column).dump());
  });
}

int evcs_result_to_json(char **out, const evcs_result *result) {
  return guarded([&] {
    deref(out, "out");
    *out = copy_out(deref(result, "result").result.to_json().dump());
  });
}

void evcs_result_free(evcs_result *result) { delete result; }

} // extern "C"
