// What the hot paths need to know about a user without asking storage: when the account was
// created (for GET /me) and its claims (for /token/refresh). Filled on registration, login and a
// first /me; bounded in size. Thread safety: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/store.hpp"

namespace gatehouse::store {

class UserCache {
 public:
  // Entries beyond this are dropped (a whole shard at a time) rather than grown without bound.
  static constexpr std::size_t kMaxEntriesPerShard = 16384;

  // `claims`: the user's claims (compact JSON), which /token/refresh merges into the access
  // token it mints; a change of them on this server replaces the entry.
  void Put(const UsernameKey& key, std::string_view username, int64_t created_at,
           std::string_view claims);
  struct Entry {
    std::string username;
    int64_t created_at = 0;
    std::string claims = "{}";
  };
  std::optional<Entry> Get(const UsernameKey& key) const;
  // A stored key (a removal's, or one from the revocation feed): nothing is computed.
  void Erase(std::string_view username_key);
  // For filling the cache from a read of the store that may race with an Erase (a change made
  // by another instance, learned from the feed): take Version() before the read, then
  // PutUnlessErased with it puts nothing if an Erase of the key's shard came in between, so an
  // entry read before a change never outlives the change's Erase.
  uint64_t Version(const UsernameKey& key) const;
  void PutUnlessErased(const UsernameKey& key, uint64_t version, std::string_view username,
                       int64_t created_at, std::string_view claims);

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    uint64_t erasures = 0;  // Erase calls so far (see Version)
  };
  // With the shard's lock held.
  static void PutLocked(Shard& shard, const UsernameKey& key, std::string_view username,
                        int64_t created_at, std::string_view claims);
  static constexpr std::size_t kShards = 32;
  Shard& ShardFor(std::string_view key) const {
    return shards_[std::hash<std::string_view>()(key) % kShards];
  }
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace gatehouse::store
