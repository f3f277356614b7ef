// The process's I/O thread: one Boost.Asio io_context that completes every async operation of
// every engine. It is never destroyed, so a completion handler may drop the last reference to an
// engine without the engine having to join the thread it runs on.
#pragma once

namespace boost::asio {
class io_context;
}

namespace evcs::detail {

boost::asio::io_context &io_context();

} // namespace evcs::detail
