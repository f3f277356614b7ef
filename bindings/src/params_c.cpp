#include "capi_internal.hpp"

using namespace evcs::capi;

extern "C" {

int evcs_params_new(evcs_params **out) {
  return guarded([&] {
    deref(out, "out");
    *out = new evcs_params();
  });
}

int evcs_params_add_null(evcs_params *params) {
  return guarded([&] { deref(params, "params").params.add_null(); });
}

int evcs_params_add_int64(evcs_params *params, int64_t value) {
  return guarded([&] { deref(params, "params").params.add(static_cast<std::int64_t>(value)); });
}

int evcs_params_add_double(evcs_params *params, double value) {
  return guarded([&] { deref(params, "params").params.add(value); });
}

int evcs_params_add_bool(evcs_params *params, int value) {
  return guarded([&] { deref(params, "params").params.add(value != 0); });
}

int evcs_params_add_text(evcs_params *params, const char *value, int64_t length) {
  return guarded([&] {
    evcs_params &target = deref(params, "params");
    if (value == nullptr) throw evcs::MisuseError("the text value is NULL: use evcs_params_add_null");
    target.params.add(length < 0 ? std::string(value)
                                 : std::string(value, static_cast<std::size_t>(length)));
  });
}

int evcs_params_add_bytes(evcs_params *params, const void *value, size_t length) {
  return guarded([&] {
    evcs_params &target = deref(params, "params");
    if (value == nullptr && length != 0) throw evcs::MisuseError("the bytes value is NULL");
    target.params.add_bytes(length == 0 ? std::string()
                                        : std::string(static_cast<const char *>(value), length));
  });
}

int evcs_params_add_timestamp(evcs_params *params, int64_t micros) {
  return guarded([&] { deref(params, "params").params.add(evcs::Timestamp{micros}); });
}

int evcs_params_add_json(evcs_params *params, const char *json) {
  return guarded([&] {
    deref(params, "params").params.add_json(text_argument(json, "the JSON value"));
  });
}

int evcs_params_count(size_t *out, const evcs_params *params) {
  return guarded([&] { deref(out, "out") = deref(params, "params").params.size(); });
}

int evcs_params_clear(evcs_params *params) {
  return guarded([&] { deref(params, "params").params.clear(); });
}

void evcs_params_free(evcs_params *params) { delete params; }

} // extern "C"
