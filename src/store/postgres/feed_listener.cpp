#include "store/postgres/feed_listener.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>

#include "obs/logging.hpp"
#include "store/postgres/pg_pool.hpp"

namespace gatehouse::store::pg {
namespace {

// How often the thread looks up from the socket to see whether it should stop.
constexpr int kWakeEveryMs = 200;
constexpr auto kReconnectPause = std::chrono::seconds(1);

}  // namespace

FeedListener::FeedListener(std::string url, std::function<void()> on_signal)
    : url_(std::move(url)), on_signal_(std::move(on_signal)), thread_([this] { Run(); }) {}

FeedListener::~FeedListener() {
  stopping_ = true;
  thread_.join();
}

void FeedListener::Pause() {
  const auto until = std::chrono::steady_clock::now() + kReconnectPause;
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kWakeEveryMs));
  }
}

void FeedListener::Run() {
  bool warned = false;
  while (!stopping_) {
    auto conn = Pool::Connect(url_);
    if (!conn) {
      if (!warned)
        obs::Warn("revocation listener cannot connect", {{"error", conn.error().detail}});
      warned = true;
      Pause();
      continue;
    }
    const std::string listen = std::string("LISTEN ") + kFeedChannel;
    PGresult* result = PQexec(*conn, listen.c_str());
    const bool listening = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (listening) {
      if (warned) obs::Info("revocation listener connected");
      warned = false;
      on_signal_();  // whatever was notified while not listening
      ListenOn(*conn);
    }
    PQfinish(*conn);
    if (!stopping_) Pause();
  }
}

void FeedListener::ListenOn(PGconn* conn) {
  while (!stopping_) {
    pollfd socket{PQsocket(conn), POLLIN, 0};
    const int ready = ::poll(&socket, 1, kWakeEveryMs);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    if (PQconsumeInput(conn) == 0) {
      obs::Warn("revocation listener lost its connection", {});
      return;
    }
    bool signalled = false;
    while (PGnotify* notification = PQnotifies(conn)) {
      signalled = true;
      PQfreemem(notification);
    }
    if (signalled) on_signal_();
  }
}

}  // namespace gatehouse::store::pg
