// Migration autogenerate through the C ABI: the core compares and writes; the result crosses as
// JSON text.
#include "capi_internal.hpp"

#include "evcs/autogenerate.hpp"

using namespace evcs::capi;
using json = nlohmann::json;

namespace {

char *result_json(const evcs::AutogenerateResult &result) {
  auto path = [](const std::string &written) { return written.empty() ? json() : json(written); };
  json out = {{"changes", result.changes},   {"warnings", result.warnings},
              {"up_sql", result.up_sql},     {"down_sql", result.down_sql},
              {"up_path", path(result.up_path)}, {"down_path", path(result.down_path)}};
  return copy_out(out.dump());
}

} // namespace

int evcs_migration_autogenerate(char **out_json, evcs_engine *engine, const char *message,
                                const char *schema_path, const char *directory) {
  return guarded([&] {
    deref(out_json, "out");
    *out_json = nullptr;
    *out_json = result_json(evcs::autogenerate(
        deref(engine, "the engine").engine, text_argument(message, "the message"),
        text_argument(schema_path, "the schema file path"),
        optional_text(directory, "the migrations directory", "migrations")));
  });
}

int evcs_migration_autogenerate_text(char **out_json, evcs_engine *engine, const char *message,
                                     const char *schema_json, const char *directory) {
  return guarded([&] {
    deref(out_json, "out");
    *out_json = nullptr;
    *out_json = result_json(evcs::autogenerate_from_text(
        deref(engine, "the engine").engine, text_argument(message, "the message"),
        text_argument(schema_json, "the schema document"),
        optional_text(directory, "the migrations directory", "migrations")));
  });
}
