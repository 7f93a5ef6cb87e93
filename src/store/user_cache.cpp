#include "store/user_cache.hpp"

namespace gatehouse::store {

void UserCache::Put(const UsernameKey& key, std::string_view username, int64_t created_at,
                    std::string_view claims) {
  Shard& shard = ShardFor(key.str());
  std::lock_guard lock(shard.mutex);
  PutLocked(shard, key, username, created_at, claims);
}

uint64_t UserCache::Version(const UsernameKey& key) const {
  Shard& shard = ShardFor(key.str());
  std::lock_guard lock(shard.mutex);
  return shard.erasures;
}

void UserCache::PutUnlessErased(const UsernameKey& key, uint64_t version, std::string_view username,
                                int64_t created_at, std::string_view claims) {
  Shard& shard = ShardFor(key.str());
  std::lock_guard lock(shard.mutex);
  if (shard.erasures == version) PutLocked(shard, key, username, created_at, claims);
}

void UserCache::PutLocked(Shard& shard, const UsernameKey& key, std::string_view username,
                          int64_t created_at, std::string_view claims) {
  // Crude but bounded: a cache miss only costs one indexed read on the store pool.
  if (shard.entries.size() >= kMaxEntriesPerShard) shard.entries.clear();
  shard.entries[key.str()] = Entry{std::string(username), created_at, std::string(claims)};
}

std::optional<UserCache::Entry> UserCache::Get(const UsernameKey& key) const {
  Shard& shard = ShardFor(key.str());
  std::lock_guard lock(shard.mutex);
  const auto it = shard.entries.find(key.str());
  if (it == shard.entries.end()) return std::nullopt;
  return it->second;
}

void UserCache::Erase(std::string_view username_key) {
  Shard& shard = ShardFor(username_key);
  std::lock_guard lock(shard.mutex);
  shard.entries.erase(std::string(username_key));
  ++shard.erasures;
}

}  // namespace gatehouse::store
