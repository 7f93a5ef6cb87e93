#include "auth/revocation_sync.hpp"

#include <malloc.h>

#include <algorithm>

#include "obs/logging.hpp"

namespace gatehouse::auth {
namespace {

constexpr int kEventsPerPoll = 1000;
constexpr int64_t kPruneEverySeconds = 300;
// Feed entries are kept a day (every instance has polled them by then), and at least as long as
// a token lives: GET /revocations answers a resource server starting afresh from the feed.
constexpr int64_t kMinEventRetentionSeconds = 86400;
// How late an entry may commit after the entries numbered above it and still be seen, on a
// store where that can happen. The store's connections end transactions idle for 10 s, so 30 s
// is a wide margin. Where it cannot happen (SQLite) nothing is re-read: measured on
// /logout/access at 8,000 a second, re-reading 30 s of the feed after every batch held the
// store's one connection for as long as its writer did.
constexpr int64_t kLookbackMs = 30000;
// At start-up the cursor is moved back this many entries, for transactions that took their
// number before the load and commit after it.
constexpr int64_t kStartupRewind = 1000;

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RevocationSync::RevocationSync(store::Store& store, RevocationSet& revocations, Clock clock,
                               int64_t max_token_lifetime)
    : store_(store),
      revocations_(revocations),
      clock_(std::move(clock)),
      max_token_lifetime_(max_token_lifetime),
      lookback_ms_(store.FeedVisibleInSeqOrder() ? 0 : kLookbackMs) {}

RevocationSync::~RevocationSync() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status RevocationSync::LoadAll() {
  // The cursor is read first: an event committed while loading is applied twice, never missed.
  auto cursor = store_.LatestRevocationEvent();
  if (!cursor) return cursor.error();
  auto tokens = store_.LoadRevocations(clock_());
  if (!tokens) return tokens.error();
  revocations_.Reserve(tokens->size());
  for (const auto& revocation : *tokens) revocations_.Revoke(revocation.id, revocation.expires_at);
  // The loaded rows are many small strings; give their memory back to the system now rather
  // than keep it in the allocator's free lists for the life of the process.
  tokens = std::vector<store::Revocation>();
  ::malloc_trim(0);
  auto users = store_.LoadUserRevocations();
  if (!users) return users.error();
  for (const auto& user : *users) {
    revocations_.RevokeUserBefore(user.username_key, user.revoked_before);
  }
  cursor_ = *cursor;
  history_.assign({{SteadyMillis(), std::max<int64_t>(0, *cursor - kStartupRewind)}});
  return Ok{};
}

void RevocationSync::Wake() {
  {
    std::lock_guard lock(mutex_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

int64_t RevocationSync::ReadFrom(int64_t now_ms) {
  // Keep the newest entry that is at least lookback_ms_ old, and everything after it.
  while (history_.size() > 1 && history_[1].first <= now_ms - lookback_ms_) history_.pop_front();
  return history_.empty() ? cursor_ : history_.front().second;
}

bool RevocationSync::Apply(const store::RevocationEvent& event) {
  if (!applied_.insert(event.seq).second) return false;
  if (event.kind == store::RevocationEvent::Kind::kUser) {
    // Time 0 revokes nothing: the user's claims changed (store::Store::SetClaims on a shared
    // store), and only the hook's cache entry has to go.
    if (event.value != 0) revocations_.RevokeUserBefore(event.subject, event.value);
    if (on_user_revoked_) on_user_revoked_(event.subject);
  } else {
    revocations_.Revoke(event.subject, event.value);
  }
  if (on_applied_) on_applied_(event);
  cursor_ = std::max(cursor_, event.seq);
  return true;
}

void RevocationSync::Start(std::chrono::milliseconds poll_interval, UserRevokedHook on_user_revoked,
                           std::function<void()> every_poll) {
  on_user_revoked_ = std::move(on_user_revoked);
  every_poll_ = std::move(every_poll);
  thread_ = std::thread([this, poll_interval] { Run(poll_interval); });
}

Result<int64_t> RevocationSync::PollOnce() {
  const int64_t began_ms = RevocationSet::CoarseMillis();
  const int64_t now_ms = SteadyMillis();
  int64_t after = ReadFrom(now_ms);
  applied_.erase(applied_.begin(), applied_.upper_bound(after));
  int64_t applied = 0;
  for (;;) {
    auto events = store_.RevocationsSince(after, kEventsPerPoll);
    if (!events) return events.error();
    for (const auto& event : *events) {
      applied += Apply(event) ? 1 : 0;
      after = event.seq;
    }
    if (events->size() < static_cast<std::size_t>(kEventsPerPoll)) break;
  }
  history_.emplace_back(now_ms, cursor_);
  revocations_.MarkFollowed(began_ms);
  return applied;
}

void RevocationSync::Prune() {
  const int64_t now = clock_();
  revocations_.Prune(now);
  if (auto pruned = store_.PruneRevocations(now); !pruned) {
    obs::Warn("pruning revocations failed", {{"error", pruned.error().detail}});
  }
  if (auto pruned = store_.PruneSessions(now); !pruned) {
    obs::Warn("pruning sessions failed", {{"error", pruned.error().detail}});
  }
  const int64_t retention = std::max(kMinEventRetentionSeconds, max_token_lifetime_ + 60);
  if (auto pruned = store_.PruneRevocationEvents(now - retention); !pruned) {
    obs::Warn("pruning the revocation feed failed", {{"error", pruned.error().detail}});
  }
  // A user-wide time refuses only tokens issued before it; once those have all expired the
  // row refuses nothing (it stays in memory until restart, which costs one entry per user).
  // A minute of margin, as the times may come from other instances' clocks.
  if (auto pruned = store_.PruneUserRevocations(now - max_token_lifetime_ - 60); !pruned) {
    obs::Warn("pruning user revocations failed", {{"error", pruned.error().detail}});
  }
  // Shared brute-force buckets that are full again are the same as none (PostgreSQL only).
  if (auto pruned = store_.PruneAttempts(now * 1000); !pruned) {
    obs::Warn("pruning rate-limit buckets failed", {{"error", pruned.error().detail}});
  }
}

void RevocationSync::Run(std::chrono::milliseconds poll_interval) {
  int64_t last_prune = clock_();
  bool feed_failing = false;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, poll_interval, [this] { return stopping_ || wake_requested_; });
    if (stopping_) return;
    wake_requested_ = false;
    lock.unlock();
    // Logged when following starts and stops failing, not at every poll of an outage.
    if (auto polled = PollOnce(); !polled && !feed_failing) {
      obs::Warn("following the revocation feed failed", {{"error", polled.error().detail}});
      feed_failing = true;
    } else if (polled && feed_failing) {
      obs::Info("following the revocation feed again");
      feed_failing = false;
    }
    if (every_poll_) every_poll_();
    if (clock_() - last_prune >= kPruneEverySeconds) {
      Prune();
      last_prune = clock_();
    }
    lock.lock();
  }
}

}  // namespace gatehouse::auth
