#include "auth/revocation_set.hpp"

#include <sodium.h>

#include <cstring>

#include "util/clock.hpp"

namespace gatehouse::auth {

RevocationSet::RevocationSet() {
  static_assert(sizeof digest_key_ == crypto_shorthash_siphashx24_KEYBYTES);
  randombytes_buf(digest_key_.data(), digest_key_.size());
}

RevocationSet::Key RevocationSet::Digest(std::string_view id) const {
  // SipHash-2-4 with 128-bit output under a key drawn at start-up: ids are chosen by whoever
  // signed the token (us, or the Flask service with the same key), and without the key nobody
  // can aim two ids at one entry. The set lives only in memory (start-up re-reads the ids), so
  // the key never needs to outlive the process. It replaced an unkeyed BLAKE2b digest, which
  // cost four times as much on the verify path, where two ids are looked up per request.
  static_assert(sizeof(Key) == crypto_shorthash_siphashx24_BYTES);
  unsigned char digest[crypto_shorthash_siphashx24_BYTES];
  crypto_shorthash_siphashx24(digest, reinterpret_cast<const unsigned char*>(id.data()), id.size(),
                              digest_key_.data());
  Key key;
  std::memcpy(key.data(), digest, sizeof digest);
  return key;
}

void RevocationSet::Revoke(std::string_view id, int64_t expires_at) {
  const Key key = Digest(id);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  int64_t& stored = shard.ids[key];
  stored = std::max(stored, expires_at);
}

bool RevocationSet::IsRevoked(std::string_view id) const {
  const Key key = Digest(id);
  const Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  return shard.ids.find(key) != shard.ids.end();
}

void RevocationSet::RevokeUserBefore(std::string_view username_key, int64_t time) {
  Shard& shard = shards_[std::hash<std::string_view>()(username_key) % kShards];
  std::lock_guard lock(shard.mutex);
  int64_t& stored = shard.users[std::string(username_key)];
  stored = std::max(stored, time);
}

int64_t RevocationSet::UserRevokedBefore(std::string_view username_key) const {
  const Shard& shard = shards_[std::hash<std::string_view>()(username_key) % kShards];
  std::lock_guard lock(shard.mutex);
  if (shard.users.empty()) return 0;
  const auto it = shard.users.find(username_key);
  return it == shard.users.end() ? 0 : it->second;
}

void RevocationSet::Reserve(std::size_t ids) {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.ids.reserve(shard.ids.size() + ids / kShards + 1);
  }
}

std::size_t RevocationSet::Prune(int64_t now) {
  std::size_t removed = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    removed += std::erase_if(shard.ids, [now](const auto& entry) { return entry.second <= now; });
  }
  return removed;
}

std::size_t RevocationSet::Size() const {
  std::size_t size = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    size += shard.ids.size();
  }
  return size;
}

void RevocationSet::RequireFollowing(int64_t bound_ms) {
  following_bound_ms_ = bound_ms;
  stale_after_ms_.store(CoarseMillis() + bound_ms, std::memory_order_relaxed);
}

void RevocationSet::MarkFollowed(int64_t began_ms) {
  if (stale_after_ms_.load(std::memory_order_relaxed) == kAlwaysFollowing) return;
  stale_after_ms_.store(began_ms + following_bound_ms_, std::memory_order_relaxed);
}

int64_t RevocationSet::CoarseMillis() { return CoarseMonotonicNs() / 1'000'000; }

}  // namespace gatehouse::auth
