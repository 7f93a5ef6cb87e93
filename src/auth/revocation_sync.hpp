// Keeps the in-memory RevocationSet in step with the store: loads what is unexpired at
// start-up, then follows the store's revocation feed (revocations made by the CLI or by other
// instances) about once a second, and prunes expired entries every few minutes.
// Runs its own thread; storage is never touched from the verify path.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "auth/revocation_set.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::auth {

class RevocationSync {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds
  // Called for each user-wide revocation learned from the feed (e.g. to drop caches).
  using UserRevokedHook = std::function<void(const std::string& username_key)>;

  RevocationSync(store::Store& store, RevocationSet& revocations, Clock clock);
  ~RevocationSync();  // stops and joins the thread

  // Loads unexpired revocations and the feed cursor. Call once, before Start().
  Status LoadAll();
  // Starts following the feed every `poll_interval`; `every_poll` (optional) runs on the same
  // thread after each poll (the server reloads rotated signing keys there).
  void Start(std::chrono::milliseconds poll_interval, UserRevokedHook on_user_revoked,
             std::function<void()> every_poll = {});
  // Applies feed entries newer than the cursor now; returns how many.
  Result<int64_t> PollOnce();

 private:
  void Run(std::chrono::milliseconds poll_interval);
  void Prune();

  store::Store& store_;
  RevocationSet& revocations_;
  Clock clock_;
  UserRevokedHook on_user_revoked_;
  std::function<void()> every_poll_;
  int64_t cursor_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gatehouse::auth
