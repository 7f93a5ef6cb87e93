#include "http/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>  // before Asio: Boost 1.74 under GCC 12 needs std::exchange declared

#include "http/connection_deadlines.hpp"
#include "http/session.hpp"
#include "obs/logging.hpp"

namespace gatehouse::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr auto kDrainLimit = std::chrono::seconds(10);
// Long enough that a full descriptor table costs nothing, short enough that serving resumes
// about as soon as a connection closes.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr int64_t kAcceptLogEvery = 10;  // seconds
using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

struct Server::Worker {
  // Before the context: sessions still queued in it leave their deadline when it is destroyed.
  ConnectionDeadlines deadlines;
  net::io_context context{1};
  Acceptor acceptor{context.get_executor()};
  net::steady_timer sweep_timer{context};
  net::steady_timer accept_backoff{context};
  // A request waiting on a worker pool leaves no operation pending in its io_context; without
  // this guard the context would run out of work during a drain and never deliver the answer.
  net::executor_work_guard<net::io_context::executor_type> keep_running =
      net::make_work_guard(context);
  std::thread thread;
};

// Asio lets run() be called again after an exception propagated from it, without restart();
// the other connections of this thread carry on.
void RunIoContext(net::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      obs::Error("I/O thread caught an exception; serving on", {{"error", e.what()}});
    } catch (...) {
      obs::Error("I/O thread caught an exception; serving on", {{"error", "unknown exception"}});
    }
  }
}

Server::Server(const config::Settings& settings, Handler& handler)
    : settings_(settings), handler_(handler) {
  for (int i = 0; i < settings.threads; ++i) workers_.push_back(std::make_unique<Worker>());
}

Server::~Server() {
  for (auto& worker : workers_) {
    worker->context.stop();
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Sessions still queued in a context touch the counters below when destroyed: go first.
  workers_.clear();
}

Status Server::Listen(ListenClaim claim) {
  boost::system::error_code ec;
  listen_claim_ = std::move(claim);
  const auto address = listen_claim_.address();
  port_ = listen_claim_.port();  // port 0: the port the claim found free
  for (auto& worker : workers_) {
    auto& acceptor = worker->acceptor;
    const tcp::endpoint endpoint(address, port_);
    if (!acceptor.open(endpoint.protocol(), ec) &&
        !acceptor.set_option(tcp::acceptor::reuse_address(true), ec) &&
        !acceptor.set_option(ReusePort(true), ec) && !acceptor.bind(endpoint, ec) &&
        !acceptor.listen(net::socket_base::max_listen_connections, ec)) {
      continue;
    }
    return Error{ErrorCode::kStorageFailure, "setting listen: cannot listen on " +
                                                 settings_.listen_host + ":" +
                                                 std::to_string(port_) + ": " + ec.message()};
  }
  return Ok{};
}

void Server::Accept(Worker& worker) {
  worker.acceptor.async_accept([this, &worker](boost::system::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted || !worker.acceptor.is_open()) return;
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
        ec == net::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system) {
      return BackOffAccept(worker, ec);
    }
    if (!ec) {
      // Past the cap a new connection is closed at once: the ones being served keep their share.
      if (open_connections_.fetch_add(1, std::memory_order_relaxed) >= settings_.max_connections) {
        open_connections_.fetch_sub(1, std::memory_order_relaxed);
        socket.close(ec);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        StartSession(std::move(socket), *this, worker.deadlines);
      }
    }
    Accept(worker);
  });
}

void Server::BackOffAccept(Worker& worker, const boost::system::error_code& error) {
  // One line every few seconds at most, with how many accepts failed since the last one.
  static std::atomic<int64_t> failures{0};
  static std::atomic<int64_t> last_logged{0};
  failures.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_logged.load(std::memory_order_relaxed);
  if (now - last >= kAcceptLogEvery && last_logged.compare_exchange_strong(last, now)) {
    obs::Warn("accept failed: out of file descriptors or memory; backing off",
              {{"error", error.message()},
               {"failures", std::to_string(failures.exchange(0))},
               {"open_connections", std::to_string(open_connections_.load())}});
  }
  worker.accept_backoff.expires_after(kAcceptBackoff);
  worker.accept_backoff.async_wait([this, &worker](boost::system::error_code ec) {
    if (ec || draining()) return;
    Accept(worker);
  });
}

void Server::SweepDeadlines(Worker& worker) {
  worker.sweep_timer.expires_after(ConnectionDeadlines::kTick);
  worker.sweep_timer.async_wait([this, &worker](boost::system::error_code ec) {
    if (ec) return;
    worker.deadlines.Sweep();
    SweepDeadlines(worker);
  });
}

void Server::Run() {
  net::signal_set signals(workers_.front()->context, SIGINT, SIGTERM);
  signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) BeginDrain();
  });
  net::signal_set hangups(workers_.front()->context, SIGHUP);
  WaitForHangup(hangups);
  for (auto& worker : workers_) {
    Accept(*worker);
    SweepDeadlines(*worker);
  }
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    workers_[i]->thread = std::thread([&context = workers_[i]->context] { RunIoContext(context); });
  }
  RunIoContext(workers_.front()->context);
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void Server::WaitForHangup(net::signal_set& hangups) {
  hangups.async_wait([this, &hangups](boost::system::error_code ec, int) {
    if (ec) return;
    if (on_hangup_) {
      on_hangup_();
    } else {
      obs::Info("SIGHUP: nothing to reload");
    }
    WaitForHangup(hangups);
  });
}

void Server::Stop() {
  net::post(workers_.front()->context, [this] { BeginDrain(); });
}

void Server::BeginDrain() {
  if (draining_.exchange(true)) return;
  obs::Info("draining: no new connections, finishing in-flight requests");
  if (on_drain_) on_drain_();
  for (auto& worker : workers_) {
    net::post(worker->context, [&worker] {
      boost::system::error_code ec;
      worker->acceptor.close(ec);
    });
  }
  WaitForDrain(std::chrono::steady_clock::now() + kDrainLimit);
}

void Server::WaitForDrain(std::chrono::steady_clock::time_point deadline) {
  // Polling is simple and costs nothing while serving: it only runs during shutdown.
  auto timer = std::make_shared<net::steady_timer>(workers_.front()->context);
  timer->expires_after(std::chrono::milliseconds(20));
  timer->async_wait([this, timer, deadline](boost::system::error_code) {
    if (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      return WaitForDrain(deadline);
    }
    // Idle keep-alive connections hold no request: stopping drops them.
    for (auto& worker : workers_) worker->context.stop();
  });
}

}  // namespace gatehouse::http
