#include "evcs/engine.hpp"

#include "engine_state.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

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

std::string Engine::url() const { return detail::mask_password(state_->url); }

PoolStatus Engine::pool_status() const { return state_->pool->status(); }

void Engine::dispose() { state_->pool->dispose(); }

void Engine::set_logger(std::function<void(const std::string &line)> logger) {
  std::lock_guard<std::mutex> lock(state_->logger_mutex);
  state_->logger = std::move(logger);
}

} // namespace evcs
