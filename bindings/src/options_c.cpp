#include "capi_internal.hpp"

using namespace evcs::capi;

namespace {
const char *const embedded_keys[] = {"data_dir", "persist"};

bool is_embedded_key(const std::string &key) {
  for (const char *name : embedded_keys)
    if (key == name) return true;
  return false;
}

void set_embedded_option(evcs::EmbeddedOptions &options, const std::string &key,
                         const std::string &value) {
  if (key == "data_dir") {
    options.data_dir = value;
  } else if (value == "true" || value == "1") {
    options.persist = true;
  } else if (value == "false" || value == "0") {
    options.persist = false;
  } else {
    throw evcs::InvalidArgument("option persist='" + value + "' is not a boolean (true/false)");
  }
}
} // namespace

extern "C" {

int evcs_options_new(evcs_options **out) {
  return guarded([&] {
    deref(out, "out");
    *out = new evcs_options();
  });
}

int evcs_options_set(evcs_options *options, const char *key, const char *value) {
  return guarded([&] {
    evcs_options &target = deref(options, "options");
    std::string name = text_argument(key, "the option key");
    std::string text = text_argument(value, "the option value");
    if (is_embedded_key(name)) set_embedded_option(target.embedded, name, text);
    else target.engine.set(name, text);
    target.given[name] = text;
  });
}

int evcs_options_get(const char **out, const evcs_options *options, const char *key) {
  return guarded([&] {
    deref(out, "out");
    const evcs_options &source = deref(options, "options");
    auto found = source.given.find(text_argument(key, "the option key"));
    *out = found == source.given.end() ? nullptr : found->second.c_str();
  });
}

int evcs_options_known_key(const char **out, size_t index) {
  return guarded([&] {
    deref(out, "out");
    const char *const *keys = evcs::EngineOptions::known_keys();
    for (size_t i = 0; keys[i] != nullptr; ++i) {
      if (i == index) {
        *out = keys[i];
        return EVCS_OK;
      }
    }
    *out = nullptr;
    return EVCS_ITEROVER;
  });
}

void evcs_options_free(evcs_options *options) { delete options; }

} // extern "C"
