#include "auth/revocation_sync.hpp"

#include "obs/logging.hpp"

namespace gatehouse::auth {
namespace {

constexpr int kEventsPerPoll = 1000;
constexpr int64_t kPruneEverySeconds = 300;
// Feed entries are only needed until every instance has polled them; a day is generous.
constexpr int64_t kEventRetentionSeconds = 86400;

}  // namespace

RevocationSync::RevocationSync(store::Store& store, RevocationSet& revocations, Clock clock)
    : store_(store), revocations_(revocations), clock_(std::move(clock)) {}

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
  for (const auto& revocation : *tokens) revocations_.Revoke(revocation.id, revocation.expires_at);
  auto users = store_.LoadUserRevocations();
  if (!users) return users.error();
  for (const auto& user : *users) {
    revocations_.RevokeUserBefore(user.username_key, user.revoked_before);
  }
  cursor_ = *cursor;
  return Ok{};
}

void RevocationSync::Start(std::chrono::milliseconds poll_interval, UserRevokedHook on_user_revoked,
                           std::function<void()> every_poll) {
  on_user_revoked_ = std::move(on_user_revoked);
  every_poll_ = std::move(every_poll);
  thread_ = std::thread([this, poll_interval] { Run(poll_interval); });
}

Result<int64_t> RevocationSync::PollOnce() {
  int64_t applied = 0;
  for (;;) {
    auto events = store_.RevocationsSince(cursor_, kEventsPerPoll);
    if (!events) return events.error();
    for (const auto& event : *events) {
      if (event.kind == store::RevocationEvent::Kind::kUser) {
        revocations_.RevokeUserBefore(event.subject, event.value);
        if (on_user_revoked_) on_user_revoked_(event.subject);
      } else {
        revocations_.Revoke(event.subject, event.value);
      }
      cursor_ = event.seq;
    }
    applied += static_cast<int64_t>(events->size());
    if (events->size() < static_cast<std::size_t>(kEventsPerPoll)) return applied;
  }
}

void RevocationSync::Prune() {
  const int64_t now = clock_();
  revocations_.Prune(now);
  if (auto pruned = store_.PruneRevocations(now); !pruned) {
    obs::Warn("pruning revocations failed", {{"error", pruned.error().detail}});
  }
  if (auto pruned = store_.PruneRevocationEvents(now - kEventRetentionSeconds); !pruned) {
    obs::Warn("pruning the revocation feed failed", {{"error", pruned.error().detail}});
  }
}

void RevocationSync::Run(std::chrono::milliseconds poll_interval) {
  int64_t last_prune = clock_();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, poll_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (auto polled = PollOnce(); !polled) {
      obs::Warn("following the revocation feed failed", {{"error", polled.error().detail}});
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
