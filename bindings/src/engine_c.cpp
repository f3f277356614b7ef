#include "capi_internal.hpp"

using namespace evcs::capi;

extern "C" {

int evcs_engine_open(evcs_engine **out, const evcs_options *options) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    auto engine = std::make_unique<evcs_engine>(options ? options->engine : evcs::EngineOptions{});
    engine->masked_url = engine->engine.url();
    *out = engine.release();
  });
}

void evcs_engine_free(evcs_engine *engine) { release_engine(engine); }

int evcs_engine_url(const char **out, const evcs_engine *engine) {
  return guarded([&] {
    deref(out, "out");
    *out = deref(engine, "engine").masked_url.c_str();
  });
}

int evcs_engine_pool_status(int64_t *size, int64_t *checked_out, int64_t *overflow,
                            const evcs_engine *engine) {
  return guarded([&] {
    evcs::PoolStatus status = deref(engine, "engine").engine.pool_status();
    deref(size, "size") = static_cast<int64_t>(status.size);
    deref(checked_out, "checked_out") = static_cast<int64_t>(status.checked_out);
    deref(overflow, "overflow") = static_cast<int64_t>(status.overflow);
  });
}

int evcs_engine_dispose(evcs_engine *engine) {
  return guarded([&] { deref(engine, "engine").engine.dispose(); });
}

int evcs_engine_execute(evcs_result **out, evcs_engine *engine, const char *sql,
                        const evcs_params *params) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    evcs_engine &target = deref(engine, "engine");
    evcs::Result result = target.engine.execute(text_argument(sql, "the SQL text"),
                                                params_or_empty(params));
    *out = new evcs_result(std::move(result));
  });
}

int evcs_engine_set_log_callback(evcs_engine *engine, evcs_log_callback callback, void *payload) {
  return guarded([&] {
    evcs_engine &target = deref(engine, "engine");
    if (callback == nullptr) {
      target.engine.set_logger(nullptr);
      return;
    }
    target.engine.set_logger([callback, payload](const std::string &line) {
      callback(payload, line.c_str());
    });
  });
}

int evcs_embedded_start(evcs_embedded **out, const evcs_options *options) {
  return guarded([&] {
    deref(out, "out");
    *out = nullptr;
    auto embedded = std::make_unique<evcs_embedded>();
    embedded->server =
        evcs::EmbeddedServer::acquire(options ? options->embedded : evcs::EmbeddedOptions{});
    *out = embedded.release();
  });
}

int evcs_embedded_url(const char **out, const evcs_embedded *embedded) {
  return guarded([&] {
    deref(out, "out");
    *out = deref(embedded, "embedded").server->url().c_str();
  });
}

int evcs_embedded_data_dir(const char **out, const evcs_embedded *embedded) {
  return guarded([&] {
    deref(out, "out");
    *out = deref(embedded, "embedded").server->data_dir().c_str();
  });
}

int evcs_embedded_persist(int *out, const evcs_embedded *embedded) {
  return guarded([&] { deref(out, "out") = deref(embedded, "embedded").server->persist() ? 1 : 0; });
}

void evcs_embedded_free(evcs_embedded *embedded) { delete embedded; }

} // extern "C"
