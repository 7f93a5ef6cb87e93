// The in-memory picture of every revocation that still matters, so that checking a token
// never touches storage: revoked token ids (jti), revoked sessions (sid), and per-user
// "revoked before" times. Thread safety: every method may be called from any thread; lookups
// take one shard lock out of many, so threads rarely meet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::auth {

class RevocationSet {
 public:
  RevocationSet();

  // Remembers `id` (a jti or sid) as revoked until `expires_at` (unix seconds).
  void Revoke(std::string_view id, int64_t expires_at);
  bool IsRevoked(std::string_view id) const;

  // Every token of the user issued before `time` (unix seconds) is revoked; keeps the later
  // of this and any earlier call.
  void RevokeUserBefore(std::string_view username_key, int64_t time);
  // 0 when the user has no such time.
  int64_t UserRevokedBefore(std::string_view username_key) const;

  // Following other writers (API.md §9: a revocation on another instance holds here within
  // 1 s). Once required, IsFollowing() is false whenever no read of the store's revocation
  // feed that began within the last `bound_ms` succeeded, and token checks then refuse to
  // vouch for any token (503) rather than accept one revoked elsewhere. Not required: always
  // following (a single process that owns its store).
  void RequireFollowing(int64_t bound_ms);
  // A read of the feed that began at `began_ms` (CoarseMillis) succeeded. One thread calls it.
  void MarkFollowed(int64_t began_ms);
  bool IsFollowing() const {
    const int64_t stale_after = stale_after_ms_.load(std::memory_order_relaxed);
    return stale_after == kAlwaysFollowing || CoarseMillis() <= stale_after;
  }
  // A monotonic clock in milliseconds that costs no system call (CLOCK_MONOTONIC_COARSE).
  static int64_t CoarseMillis();

  // Makes room for `ids` more ids without rehashing (start-up loads them all at once).
  void Reserve(std::size_t ids);

  // Forgets ids whose tokens have all expired. Returns how many went.
  std::size_t Prune(int64_t now);
  std::size_t Size() const;

 private:
  // Ids are random UUIDs; a 128-bit digest keeps entries small and fixed-size.
  using Key = std::array<uint64_t, 2>;
  // Heterogeneous lookup: finding a user by string_view builds no std::string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>()(name);
    }
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const { return key[0] ^ (key[1] * 0x9E3779B97F4A7C15); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<Key, int64_t, KeyHash> ids;
    std::unordered_map<std::string, int64_t, NameHash, std::equal_to<>> users;
  };
  static constexpr std::size_t kShards = 64;

  Key Digest(std::string_view id) const;
  const Shard& ShardFor(const Key& key) const { return shards_[key[0] % kShards]; }
  Shard& ShardFor(const Key& key) { return shards_[key[0] % kShards]; }

  static constexpr int64_t kAlwaysFollowing = INT64_MAX;
  std::atomic<int64_t> stale_after_ms_{kAlwaysFollowing};
  int64_t following_bound_ms_ = 0;
  std::array<unsigned char, 16> digest_key_;  // random per process; see Digest
  std::array<Shard, kShards> shards_;
};

}  // namespace gatehouse::auth
