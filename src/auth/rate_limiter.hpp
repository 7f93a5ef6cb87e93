// Brute-force protection: token buckets keyed by a string (a client address, or a username
// and address). A limit "N/duration" lets N attempts through at once and then one more every
// duration/N. Attempts are taken before the work they guard, so parallel requests cannot slip
// past together, and given back when they turn out to be legitimate (a successful login).
// Thread safety: any thread; one shard lock per call. Memory is bounded per shard.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/duration.hpp"

namespace gatehouse::auth {

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes one attempt for `key` at `now_ms` (milliseconds). Returns 0 when allowed, else the
  // whole seconds (>= 1) until an attempt will be allowed; nothing is taken then.
  int64_t Take(std::string_view key, int64_t now_ms);
  // Gives back one attempt taken earlier (e.g. the login succeeded).
  void GiveBack(std::string_view key, int64_t now_ms);

  // Entries per shard beyond which full (idle) buckets are dropped; a full bucket is the same
  // as no entry, so dropping it forgets nothing.
  static constexpr std::size_t kMaxEntriesPerShard = 8192;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 32;

  void Refill(Bucket& bucket, int64_t now_ms) const;
  void DropFullBuckets(Shard& shard, int64_t now_ms);
  Shard& ShardFor(std::string_view key) {
    return shards_[std::hash<std::string_view>()(key) % kShards];
  }

  const RateLimit limit_;
  std::array<Shard, kShards> shards_;
};

}  // namespace gatehouse::auth

namespace gatehouse::auth {

// The three limits of the brute-force protection, as configured.
struct AbuseLimits {
  AbuseLimits(RateLimit per_user, RateLimit per_address, RateLimit registrations)
      : login_per_user(per_user),
        login_per_address(per_address),
        registration_per_address(registrations) {}
  RateLimiter login_per_user;     // keyed by "<username key> <client address>"
  RateLimiter login_per_address;  // keyed by client address
  RateLimiter registration_per_address;
};

// Milliseconds of a monotonic clock, for the limiters.
int64_t MonotonicMillis();

}  // namespace gatehouse::auth
