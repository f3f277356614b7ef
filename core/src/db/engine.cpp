#include "evcs/engine.hpp"

#include "db/completion.hpp"
#include "db/engine_state.hpp"
#include "db/io_service.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <cstdlib>

namespace evcs {

namespace detail {
void EngineState::log(const std::string &line) {
  std::lock_guard<std::mutex> lock(logger_mutex);
  if (logger) logger(line);
  else std::fprintf(stderr, "evcs: %s\n", line.c_str());
}
} // namespace detail

namespace {

bool parse_bool(const std::string &key, const std::string &value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  throw InvalidArgument("option " + key + "='" + value + "' is not a boolean (true/false)");
}

double parse_seconds(const std::string &key, const std::string &value) {
  char *end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(seconds >= 0) || seconds > 1e9)
    throw InvalidArgument("option " + key + "='" + value +
                          "' is not a number of seconds between 0 and 1e9");
  return seconds;
}

std::size_t parse_count(const std::string &key, const std::string &value, std::size_t minimum) {
  char *end = nullptr;
  long long count = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || count < static_cast<long long>(minimum) || count > 100000)
    throw InvalidArgument("option " + key + "='" + value + "' is not an integer between " +
                          std::to_string(minimum) + " and 100000");
  return static_cast<std::size_t>(count);
}

const char *const engine_option_keys[] = {
    "url",  "pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping",
    "echo", "statement_cache_size", "application_name", nullptr};

} // namespace

const char *const *EngineOptions::known_keys() noexcept { return engine_option_keys; }

void EngineOptions::set(const std::string &key, const std::string &value) {
  if (key == "url") {
    require_utf8(value, "the url option");
    url = value;
  } else if (key == "pool_size") {
    pool_size = parse_count(key, value, 1);
  } else if (key == "max_overflow") {
    max_overflow = parse_count(key, value, 0);
  } else if (key == "pool_timeout") {
    pool_timeout = parse_seconds(key, value);
  } else if (key == "pool_recycle") {
    if (value.empty() || value == "none") pool_recycle.reset();
    else pool_recycle = parse_seconds(key, value);
  } else if (key == "pool_pre_ping") {
    pool_pre_ping = parse_bool(key, value);
  } else if (key == "echo") {
    echo = parse_bool(key, value);
  } else if (key == "statement_cache_size") {
    statement_cache_size = parse_count(key, value, 0);
  } else if (key == "application_name") {
    require_utf8(value, "the application_name option");
    if (value.size() > 63)
      throw InvalidArgument("option application_name is longer than PostgreSQL's 63 bytes");
    application_name = value;
  } else {
    std::string known;
    for (const char *const *name = known_keys(); *name != nullptr; ++name)
      known += (known.empty() ? "" : ", ") + std::string(*name);
    throw InvalidArgument("unknown engine option '" + key + "' (known: " + known + ")");
  }
}

Engine::Engine(EngineOptions options) : state_(std::make_shared<detail::EngineState>()) {
  state_->options = std::move(options);
  std::string url = state_->options.url;
  if (url.empty()) {
    const char *from_environment = std::getenv("DATABASE_URL");
    if (from_environment != nullptr && *from_environment != '\0') url = from_environment;
  }
  if (url.empty()) {
    state_->embedded = EmbeddedServer::acquire();
    url = state_->embedded->url();
  }
  detail::validate_url(url);
  state_->url = url;
  detail::ConnectionSettings settings{url, state_->options.application_name,
                                      state_->options.statement_cache_size};
  detail::StatementLogger logger;
  if (state_->options.echo) {
    std::weak_ptr<detail::EngineState> weak = state_;
    logger = [weak](const std::string &line) {
      if (auto state = weak.lock()) state->log(line);
    };
  }
  state_->pool = std::make_unique<detail::Pool>(state_->options, settings, logger);
}

Engine::~Engine() {
  if (state_) state_->pool->dispose();
}
Engine::Engine(Engine &&) noexcept = default;
Engine &Engine::operator=(Engine &&) noexcept = default;

Session Engine::session(const std::string &branch, const std::string &author) {
  return Session(state_, branch, author);
}

namespace {

// Hands back a connection after an autocommit statement: one the server dropped is discarded.
void return_after(detail::Pool &pool, detail::Pool::ConnectionPtr connection,
                  const std::exception_ptr &error) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const ConnectionLost &) {
      pool.discard(std::move(connection));
      return;
    } catch (...) {
    }
  }
  pool.release(std::move(connection));
}

} // namespace

Result Engine::execute(const std::string &sql, const Params &params) {
  require_utf8(sql, "the SQL text");
  detail::Pool &pool = *state_->pool;
  detail::Pool::ConnectionPtr connection = pool.acquire();
  try {
    Result result = connection->execute({}, sql, params);
    pool.release(std::move(connection));
    return result;
  } catch (...) {
    return_after(pool, std::move(connection), std::current_exception());
    throw;
  }
}

void Engine::async_execute(const std::string &sql, const Params &params, ResultHandler handler) {
  require_utf8(sql, "the SQL text");
  auto state = state_;
  boost::asio::post(detail::io_context(), [state, sql, params, handler]() mutable {
    state->pool->async_acquire(
        detail::io_context(),
        [state, sql = std::move(sql), params = std::move(params),
         handler = std::move(handler)](std::exception_ptr error,
                                       detail::Pool::ConnectionPtr acquired) mutable {
          if (error) {
            detail::invoke_handler(handler, error, Result());
            return;
          }
          // Owned by the completion, which gives it back before reporting: the caller may
          // issue its next statement from the handler and find the connection free.
          auto connection = std::make_shared<detail::Pool::ConnectionPtr>(std::move(acquired));
          (*connection)->execute_async(
              detail::io_context(), {}, std::move(sql), std::move(params), {},
              [state, connection, handler](std::exception_ptr failure, Result result) mutable {
                return_after(*state->pool, std::move(*connection), failure);
                detail::invoke_handler(handler, failure, std::move(result));
              });
        });
  });
}

std::future<Result> Engine::execute_async(const std::string &sql, const Params &params) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  async_execute(sql, params, detail::fulfil<Result>(promise));
  return future;
}

std::string Engine::url() const { return detail::mask_password(state_->url); }

PoolStatus Engine::pool_status() const { return state_->pool->status(); }

void Engine::dispose() { state_->pool->dispose(); }

void Engine::set_logger(std::function<void(const std::string &line)> logger) {
  std::lock_guard<std::mutex> lock(state_->logger_mutex);
  state_->logger = std::move(logger);
}

} // namespace evcs
