// Brute-force and abuse protection: token buckets keyed by a client address, a username, or a
// (username, address) pair. A limit "N/duration" lets N attempts through at once and then one
// more every duration/N. Attempts are taken before the work they guard, so parallel requests
// cannot slip past together, and given back when they turn out to be legitimate.
//
// Memory is bounded in bytes, whatever clients send: a key is kept only as a 16-byte keyed
// digest, and the table has a fixed number of entries (capacity x 32 bytes, see MemoryBytes),
// mapped at construction and never grown. Thread safety: any thread; one shard lock per call,
// no allocation (keys up to kInlineKeyBytes long).
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>

#include "util/duration.hpp"

namespace gatehouse::auth {

// A limiter key: SipHash-2-4 (128-bit) of the key's parts under a key drawn at start-up, so
// that nobody can aim two keys at one entry or one set of entries.
using LimiterKey = std::array<uint64_t, 2>;

// The key of `username` (ASCII-lower-cased first, so case never opens a new bucket) and
// `address` (either may be empty). Allocates only when the two together exceed
// kInlineKeyBytes, which no registered username and client address do.
LimiterKey LimiterKeyOf(std::string_view username, std::string_view address);
inline constexpr std::size_t kInlineKeyBytes = 256;

class RateLimiter {
 public:
  static constexpr std::size_t kDefaultCapacity = 65536;  // entries: 2 MiB
  // `capacity`: entries kept at most, rounded up to a multiple of kShards x kWays.
  explicit RateLimiter(RateLimit limit, std::size_t capacity = kDefaultCapacity);

  // Takes one attempt for `key` at `now_ms` (milliseconds). Returns 0 when allowed, else the
  // whole seconds (>= 1) until an attempt will be allowed; nothing is taken then.
  int64_t Take(const LimiterKey& key, int64_t now_ms);
  // Gives back one attempt taken earlier (e.g. the login succeeded).
  void GiveBack(const LimiterKey& key, int64_t now_ms);

  const RateLimit& limit() const { return limit_; }
  // Entries holding a bucket that is not full (a full bucket is the same as none).
  std::size_t Size(int64_t now_ms);
  std::size_t Capacity() const { return kShards * sets_per_shard_ * kWays; }
  // The table's whole size: Capacity() x sizeof(Entry), 32 bytes each.
  std::size_t MemoryBytes() const { return Capacity() * sizeof(Entry); }

  static constexpr std::size_t kShards = 64;  // locks
  static constexpr std::size_t kWays = 8;     // entries a key may occupy (one set)

 private:
  struct Entry {
    LimiterKey key;  // {0, 0}: free
    double tokens;   // as of updated_ms
    int64_t updated_ms;
  };
  static_assert(sizeof(Entry) == 32);
  struct Shard {
    std::mutex mutex;
  };
  struct FreeDeleter {
    void operator()(Entry* entries) const { std::free(entries); }
  };

  double Refilled(const Entry& entry, int64_t now_ms) const;
  // The entry of `key` in its set, claiming one when absent (see the .cpp for which).
  Entry& Claim(Entry* set, const LimiterKey& key, int64_t now_ms);
  Entry* SetOf(const LimiterKey& key, std::size_t& shard);

  const RateLimit limit_;
  const std::size_t sets_per_shard_;
  std::unique_ptr<Entry[], FreeDeleter> entries_;
  std::array<Shard, kShards> shards_;
};

// The limits of the brute-force protection (§7) and of one account's abuse (§9), as configured.
struct AbuseLimits {
  AbuseLimits(RateLimit per_user, RateLimit per_address, RateLimit registrations,
              RateLimit refreshes, RateLimit revocations)
      : login_per_user(per_user),
        login_per_address(per_address),
        registration_per_address(registrations),
        refresh_per_user(refreshes),
        revocation_per_user(revocations),
        throttle_notes_per_user(OnePer(per_user), kThrottleNotesCapacity),
        throttle_notes_per_address(OnePer(per_address), kThrottleNotesCapacity) {}
  RateLimiter login_per_user;     // keyed by (username, client address)
  RateLimiter login_per_address;  // keyed by client address
  RateLimiter registration_per_address;
  RateLimiter refresh_per_user;     // keyed by the token's username
  RateLimiter revocation_per_user;  // keyed by the token's username
  // Which keys of the two login limits had a refusal recorded as login.throttled in their
  // limit's period: one a period per key (Take answers 0 for the first), so that a client
  // hammering past a limit cannot grow the event log with every refused attempt. Keyed as the
  // limit that refused; a flood of distinct keys pushes out the oldest notes (fixed tables).
  RateLimiter throttle_notes_per_user;
  RateLimiter throttle_notes_per_address;
  static constexpr std::size_t kThrottleNotesCapacity = RateLimiter::kDefaultCapacity / 4;
  // Every limiter's table together: the limiters' share of the process's memory.
  std::size_t MemoryBytes() const {
    return login_per_user.MemoryBytes() + login_per_address.MemoryBytes() +
           registration_per_address.MemoryBytes() + refresh_per_user.MemoryBytes() +
           revocation_per_user.MemoryBytes() + throttle_notes_per_user.MemoryBytes() +
           throttle_notes_per_address.MemoryBytes();
  }

 private:
  // One attempt per `limit`'s period (at least a second; a limit that is off refuses nothing,
  // so its notes are never asked).
  static RateLimit OnePer(RateLimit limit) {
    return RateLimit{1, limit.period_seconds > 0 ? limit.period_seconds : 1};
  }
};

// Milliseconds of a monotonic clock, for the limiters.
int64_t MonotonicMillis();

}  // namespace gatehouse::auth
