// Keeps the in-memory RevocationSet in step with the store: loads what is unexpired at
// start-up, then follows the store's revocation feed (revocations made by the CLI or by other
// instances) at every poll interval and at once when the store signals a new entry
// (PostgreSQL LISTEN/NOTIFY), and prunes expired entries (and the store's full rate-limit
// buckets) every few minutes.
// Runs its own thread; storage is never touched from the verify path.
//
// Feed entries can commit out of sequence order (PostgreSQL hands out the number before the
// commit), so a poll reads again from where the cursor stood a few seconds earlier, and skips
// the entries it has already applied: a late commit is still seen. Not on a store whose engine
// orders them (store::Store::FeedVisibleInSeqOrder): there a poll reads from its cursor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
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

  // `max_token_lifetime` (seconds): how long a user-wide revocation can still refuse a token.
  RevocationSync(store::Store& store, RevocationSet& revocations, Clock clock,
                 int64_t max_token_lifetime);
  ~RevocationSync();  // stops and joins the thread

  // Loads unexpired revocations and the feed cursor. Call once, before Start().
  Status LoadAll();
  // Starts following the feed every `poll_interval`; `every_poll` (optional) runs on the same
  // thread after each poll (the server reloads rotated signing keys there).
  void Start(std::chrono::milliseconds poll_interval, UserRevokedHook on_user_revoked,
             std::function<void()> every_poll = {});
  // Called on the sync thread with each feed entry as it is first applied (e.g. to push it to
  // event streams). Set before Start.
  void OnApplied(std::function<void(const store::RevocationEvent&)> on_applied) {
    on_applied_ = std::move(on_applied);
  }
  // Applies feed entries not applied yet; returns how many. Not concurrently with itself.
  Result<int64_t> PollOnce();
  // Makes the thread poll now rather than at the end of the interval. Any thread.
  void Wake();

 private:
  void Run(std::chrono::milliseconds poll_interval);
  void Prune();
  // False (and nothing done) when the entry was applied before.
  bool Apply(const store::RevocationEvent& event);
  // The sequence number to read after: the cursor as it stood kLookback ago.
  int64_t ReadFrom(int64_t now_ms);

  store::Store& store_;
  RevocationSet& revocations_;
  Clock clock_;
  UserRevokedHook on_user_revoked_;
  std::function<void()> every_poll_;
  std::function<void(const store::RevocationEvent&)> on_applied_;
  const int64_t max_token_lifetime_;
  const int64_t lookback_ms_;  // how far behind the cursor a poll re-reads (0: not at all)
  int64_t cursor_ = 0;         // highest sequence number applied
  std::deque<std::pair<int64_t, int64_t>> history_;  // (steady ms, cursor) per poll, oldest first
  std::set<int64_t> applied_;                        // applied numbers above ReadFrom()
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool wake_requested_ = false;
  std::thread thread_;
};

}  // namespace gatehouse::auth
