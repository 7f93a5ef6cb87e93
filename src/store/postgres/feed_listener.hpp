// LISTENs on the revocation feed's channel on a connection of its own, so that a revocation
// committed by any instance wakes every other at once. Reconnects when the database goes
// away; after every (re)connect it signals too, since notifications sent while it was away
// are lost (the feed itself is not: the caller polls it).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "store/store.hpp"

struct pg_conn;

namespace gatehouse::store::pg {

// The channel every write to the revocation feed NOTIFYs.
inline constexpr const char* kFeedChannel = "gatehouse_revocations";

class FeedListener final : public FeedWatch {
 public:
  // Starts the listening thread; `on_signal` runs on it.
  FeedListener(std::string url, std::function<void()> on_signal);
  ~FeedListener() override;  // stops and joins
  FeedListener(const FeedListener&) = delete;
  FeedListener& operator=(const FeedListener&) = delete;
  const char* Source() const override { return "listen/notify"; }

 private:
  void Run();
  void ListenOn(pg_conn* conn);
  void Pause();

  const std::string url_;
  const std::function<void()> on_signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gatehouse::store::pg
