// Migration autogenerate through the C ABI: the core compares and writes; the result crosses as
// JSON text.
#include "capi_internal.hpp"

#include "evcs/autogenerate.hpp"

using namespace evcs::capi;
using json = nlohmann::json;

namespace {

// Runs `generate(engine, message, schema, directory)` and hands its result out as JSON.
template <typename Generate>
int autogenerate_json(char **out_json, evcs_engine *engine, const char *message,
                      const char *schema, const char *schema_what, const char *directory,
                      Generate generate) {
  return guarded([&] {
    deref(out_json, "out");
    *out_json = nullptr;
    auto result = generate(deref(engine, "the engine").engine,
                           text_argument(message, "the message"),
                           text_argument(schema, schema_what),
                           optional_text(directory, "the migrations directory", "migrations"));
    auto path = [](const std::string &written) { return written.empty() ? json() : json(written); };
    json out = {{"changes", result.changes},   {"warnings", result.warnings},
                {"up_sql", result.up_sql},     {"down_sql", result.down_sql},
                {"up_path", path(result.up_path)}, {"down_path", path(result.down_path)}};
    *out_json = copy_out(out.dump());
  });
}

} // namespace

int evcs_migration_autogenerate(char **out_json, evcs_engine *engine, const char *message,
                                const char *schema_path, const char *directory) {
  return autogenerate_json(out_json, engine, message, schema_path, "the schema file path",
                           directory, [](auto &&...arguments) {
                             return evcs::autogenerate(arguments...);
                           });
}

int evcs_migration_autogenerate_text(char **out_json, evcs_engine *engine, const char *message,
                                     const char *schema_json, const char *directory) {
  return autogenerate_json(out_json, engine, message, schema_json, "the schema document",
                           directory, [](auto &&...arguments) {
                             return evcs::autogenerate_from_text(arguments...);
                           });
}
