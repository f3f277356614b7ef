// Delivering async completions: to user handlers on the I/O thread, or to std::promise.
#pragma once

#include "evcs/result.hpp"

#include <cstdio>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <utility>

namespace evcs::detail {

// A completion handler that throws would end the I/O thread; report and carry on instead.
template <typename Handler, typename... Args> void invoke_handler(Handler &handler, Args &&...args) {
  try {
    handler(std::forward<Args>(args)...);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "evcs: an async completion handler threw (ignored): %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "evcs: an async completion handler threw (ignored)\n");
  }
}

template <typename T>
std::function<void(std::exception_ptr, T)> fulfil(std::shared_ptr<std::promise<T>> promise) {
  return [promise](std::exception_ptr error, T value) {
    if (error) promise->set_exception(error);
    else promise->set_value(std::move(value));
  };
}

inline std::function<void(std::exception_ptr)> fulfil_void(std::shared_ptr<std::promise<void>> promise) {
  return [promise](std::exception_ptr error) {
    if (error) promise->set_exception(error);
    else promise->set_value();
  };
}

} // namespace evcs::detail
