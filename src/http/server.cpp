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
using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

struct Server::Worker {
  // Before the context: sessions still queued in it leave their deadline when it is destroyed.
  ConnectionDeadlines deadlines;
  net::io_context context{1};
  Acceptor acceptor{context.get_executor()};
  net::steady_timer sweep_timer{context};
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

Server::Server(const config::Settings& settings, api::Services& services)
    : settings_(settings), services_(services) {
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

Status Server::Listen() {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(settings_.listen_host, ec);
  if (ec) return Error{ErrorCode::kBadRequest, "setting listen: invalid address"};
  port_ = settings_.listen_port;
  for (auto& worker : workers_) {
    auto& acceptor = worker->acceptor;
    const tcp::endpoint endpoint(address, port_);
    if (!acceptor.open(endpoint.protocol(), ec) &&
        !acceptor.set_option(tcp::acceptor::reuse_address(true), ec) &&
        !acceptor.set_option(ReusePort(true), ec) && !acceptor.bind(endpoint, ec) &&
        !acceptor.listen(net::socket_base::max_listen_connections, ec)) {
      port_ = acceptor.local_endpoint().port();  // port 0: every acceptor shares the first's
      continue;
    }
    return Error{ErrorCode::kBadRequest,
                 "setting listen: cannot listen on " + settings_.listen_host + ":" +
                     std::to_string(settings_.listen_port) + ": " + ec.message()};
  }
  return Ok{};
}

void Server::Accept(Worker& worker) {
  worker.acceptor.async_accept([this, &worker](boost::system::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted || !worker.acceptor.is_open()) return;
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

void Server::Stop() {
  net::post(workers_.front()->context, [this] { BeginDrain(); });
}

void Server::BeginDrain() {
  if (draining_.exchange(true)) return;
  obs::Info("draining: no new connections, finishing in-flight requests");
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
