#include "http/connection_deadlines.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <thread>

namespace gatehouse::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A connected loopback pair: `server` is the socket whose deadline is tested.
struct Pair {
  net::io_context context{1};
  Socket server{context.get_executor()};
  Socket client{context.get_executor()};
  Pair() {
    Acceptor acceptor(context.get_executor(), tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
};

// Sweeps until `done` or `limit` passes, as the server's timer does every tick.
template <typename Done>
void SweepUntil(ConnectionDeadlines& deadlines, Done done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    deadlines.Sweep();
    std::this_thread::sleep_for(10ms);
  }
}

TEST(ConnectionDeadlines, ASocketIsClosedOnceItsTimeoutHasPassedAndNotBefore) {
  Pair pair;
  ConnectionDeadlines deadlines;
  deadlines.Sweep();
  ConnectionDeadlines::Deadline deadline(deadlines, pair.server);
  // Armed most of a tick after the last sweep: the deadline counts from now, not from then.
  std::this_thread::sleep_for(ConnectionDeadlines::kTick - 10ms);
  const auto start = std::chrono::steady_clock::now();
  deadline.ExpiresAfter(300ms);
  SweepUntil(
      deadlines, [&] { return !pair.server.is_open(); }, 3000ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(pair.server.is_open());
  EXPECT_GE(elapsed, 300ms);  // never early
  EXPECT_LE(elapsed, 300ms + 2 * ConnectionDeadlines::kTick + 200ms);
}

TEST(ConnectionDeadlines, ExpiresNeverKeepsTheSocketOpen) {
  Pair pair;
  ConnectionDeadlines deadlines;
  ConnectionDeadlines::Deadline deadline(deadlines, pair.server);
  deadline.ExpiresAfter(0ms);
  deadline.ExpiresNever();
  SweepUntil(
      deadlines, [] { return false; }, 600ms);
  EXPECT_TRUE(pair.server.is_open());
}

TEST(ConnectionDeadlines, APendingReadFailsWhenItsDeadlinePasses) {
  Pair pair;
  ConnectionDeadlines deadlines;
  ConnectionDeadlines::Deadline deadline(deadlines, pair.server);
  char byte = 0;
  boost::system::error_code result;
  bool completed = false;
  pair.server.async_read_some(net::buffer(&byte, 1),
                              [&](boost::system::error_code ec, std::size_t) {
                                result = ec;
                                completed = true;
                              });
  deadline.ExpiresAfter(0ms);
  SweepUntil(
      deadlines,
      [&] {
        pair.context.poll();
        return completed;
      },
      3000ms);
  ASSERT_TRUE(completed);
  EXPECT_EQ(result, net::error::operation_aborted);
}

TEST(ConnectionDeadlines, OnlyTheExpiredOfSeveralConnectionsIsClosed) {
  Pair first, second, third, fourth;
  ConnectionDeadlines deadlines;
  auto a = std::make_unique<ConnectionDeadlines::Deadline>(deadlines, first.server);
  auto b = std::make_unique<ConnectionDeadlines::Deadline>(deadlines, second.server);
  auto c = std::make_unique<ConnectionDeadlines::Deadline>(deadlines, third.server);
  auto d = std::make_unique<ConnectionDeadlines::Deadline>(deadlines, fourth.server);
  b->ExpiresAfter(0ms);
  b.reset();  // expired, but gone from the middle of the list: its socket is no longer watched
  a->ExpiresAfter(0ms);  // both ends of the list are swept
  d->ExpiresAfter(0ms);
  c->ExpiresAfter(1h);
  SweepUntil(
      deadlines, [&] { return !first.server.is_open() && !fourth.server.is_open(); }, 3000ms);
  EXPECT_FALSE(first.server.is_open());
  EXPECT_FALSE(fourth.server.is_open());
  EXPECT_TRUE(second.server.is_open());
  EXPECT_TRUE(third.server.is_open());
}

TEST(ConnectionDeadlines, DeadlinesMayEndOnOtherThreadsWhileSweeping) {
  // A connection can end on a worker-pool thread; the list must stay whole meanwhile. Half the
  // deadlines are armed as expired, so the sweeps close sockets while entries come and go.
  ConnectionDeadlines deadlines;
  net::io_context context{1};
  constexpr int kSockets = 64;
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < kSockets; ++i) {
    sockets.push_back(std::make_unique<Socket>(context.get_executor()));
    sockets.back()->open(tcp::v4());
  }
  std::atomic<bool> stop{false};
  std::thread sweeper([&] {
    while (!stop) deadlines.Sweep();
  });
  for (int round = 0; round < 200; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kSockets; i += 4) {
          auto deadline = std::make_unique<ConnectionDeadlines::Deadline>(
              deadlines, *sockets[static_cast<std::size_t>(i)]);
          if (i % 2 == 0) deadline->ExpiresAfter(0ms);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  stop = true;
  sweeper.join();
  // The list survived: a deadline armed now is still found by a sweep.
  Pair pair;
  ConnectionDeadlines::Deadline last(deadlines, pair.server);
  last.ExpiresAfter(0ms);
  SweepUntil(
      deadlines, [&] { return !pair.server.is_open(); }, 1000ms);
  EXPECT_FALSE(pair.server.is_open());
}

}  // namespace
}  // namespace gatehouse::http
