#include "db/io_service.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace evcs::detail {

namespace {
struct IoService {
  IoService() : guard(boost::asio::make_work_guard(io)), thread([this] { io.run(); }) {
    thread.detach();
  }
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::thread thread;
};
} // namespace

boost::asio::io_context &io_context() {
  static IoService *service = new IoService();
  return service->io;
}

} // namespace evcs::detail
