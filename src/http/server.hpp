// The HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per I/O thread, so the
// kernel spreads connections and a connection never changes thread (no strands, no locks).
#pragma once

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/settings.hpp"
#include "http/handler.hpp"
#include "http/listen_claim.hpp"
#include "util/result.hpp"

namespace boost::asio {
class io_context;
}

namespace gatehouse::http {

// Runs `context` until it stops. An exception escaping one of its handlers is logged and the
// loop goes on: sessions catch what their requests throw, this is the last line of defence.
void RunIoContext(boost::asio::io_context& context);

class Server {
 public:
  // `handler` routes and answers every request; it outlives the server.
  Server(const config::Settings& settings, Handler& handler);
  ~Server();

  // Binds every acceptor on the claimed address (taken first, before the slow parts of the
  // start, see http/listen_claim.hpp), and keeps the claim while it runs.
  Status Listen(ListenClaim claim);
  // Called (on an I/O thread) when SIGHUP arrives. Call before Run().
  void OnHangup(std::function<void()> on_hangup) { on_hangup_ = std::move(on_hangup); }
  // Called once when the drain begins (on an I/O thread): ends what would otherwise stay open
  // until the process stops, such as event streams. Set before Run.
  void OnDrain(std::function<void()> on_drain) { on_drain_ = std::move(on_drain); }
  // The port actually bound (differs from the setting when it was 0).
  uint16_t port() const { return port_; }
  // Serves until SIGTERM/SIGINT or Stop(), then drains in-flight requests (at most 10 s).
  void Run();
  // Starts the drain from any thread.
  void Stop();

  // Used by sessions.
  const config::Settings& settings() const { return settings_; }
  Handler& handler() { return handler_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::atomic<int>& open_connections() { return open_connections_; }
  std::atomic<int>& in_flight() { return in_flight_; }

 private:
  struct Worker;
  void Accept(Worker& worker);
  // Out of descriptors (or kernel memory), accept fails at once for as long as it lasts:
  // waiting a little instead of retrying keeps the thread from spinning.
  void BackOffAccept(Worker& worker, const boost::system::error_code& error);
  void WaitForHangup(boost::asio::signal_set& hangups);
  void SweepDeadlines(Worker& worker);
  void BeginDrain();
  void WaitForDrain(std::chrono::steady_clock::time_point deadline);

  const config::Settings& settings_;
  Handler& handler_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ListenClaim listen_claim_;
  std::function<void()> on_hangup_;
  std::function<void()> on_drain_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<int> open_connections_{0};
  std::atomic<int> in_flight_{0};
};

}  // namespace gatehouse::http
