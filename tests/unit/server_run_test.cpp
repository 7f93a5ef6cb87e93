// The I/O threads' last line of defence (API.md §8: no input ends the process): an exception
// escaping a handler is logged and the loop serves on.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <utility>  // before Asio: Boost 1.74 under GCC 12 needs std::exchange declared

#include "http/server.hpp"

namespace gatehouse::http {
namespace {

TEST(RunIoContext, HandlersAfterOneThatThrowsStillRun) {
  boost::asio::io_context context;
  int ran = 0;
  boost::asio::post(context, [] { throw std::runtime_error("a handler failed"); });
  boost::asio::post(context, [&] { ++ran; });
  boost::asio::post(context, [] { throw 42; });  // not even a std::exception
  boost::asio::post(context, [&] { ++ran; });
  RunIoContext(context);  // returns once out of work
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace gatehouse::http
