#include "auth/rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace gatehouse::auth {

void RateLimiter::Refill(Bucket& bucket, int64_t now_ms) const {
  const double per_ms = static_cast<double>(limit_.count) / (limit_.period_seconds * 1000.0);
  const int64_t elapsed = std::max<int64_t>(0, now_ms - bucket.updated_ms);
  bucket.tokens = std::min<double>(limit_.count, bucket.tokens + elapsed * per_ms);
  bucket.updated_ms = now_ms;
}

void RateLimiter::DropFullBuckets(Shard& shard, int64_t now_ms) {
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    Refill(it->second, now_ms);
    it = it->second.tokens >= limit_.count ? shard.buckets.erase(it) : std::next(it);
  }
  // Still full of active attackers' keys: forget the lot rather than grow without bound.
  if (shard.buckets.size() >= kMaxEntriesPerShard) shard.buckets.clear();
}

int64_t RateLimiter::Take(std::string_view key, int64_t now_ms) {
  if (!limit_.enabled()) return 0;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxEntriesPerShard) DropFullBuckets(shard, now_ms);
    it = shard.buckets.emplace(std::string(key), Bucket{double(limit_.count), now_ms}).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now_ms);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  const double ms_per_token = limit_.period_seconds * 1000.0 / limit_.count;
  const double wait_ms = (1.0 - bucket.tokens) * ms_per_token;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000.0)));
}

void RateLimiter::GiveBack(std::string_view key, int64_t now_ms) {
  if (!limit_.enabled()) return;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) return;
  Refill(it->second, now_ms);
  it->second.tokens = std::min<double>(limit_.count, it->second.tokens + 1.0);
}

}  // namespace gatehouse::auth

namespace gatehouse::auth {

int64_t MonotonicMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace gatehouse::auth
