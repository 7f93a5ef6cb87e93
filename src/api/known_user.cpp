#include "api/known_user.hpp"

#include <utility>

namespace gatehouse::api {

std::optional<store::UserCache::Entry> CachedUser(const Services& services,
                                                  const store::UsernameKey& key) {
  return services.users.Get(key);
}

Result<std::optional<store::UserCache::Entry>> ReadKnownUser(Services& services,
                                                             const store::UsernameKey& key) {
  if (auto cached = services.users.Get(key)) return cached;
  // Taken before the read: a drop of the entry (a change learned from the feed) racing the read
  // keeps what was read out of the cache (PutUnlessErased).
  const uint64_t version = services.users.Version(key);
  auto user = services.store.FindUser(key);
  if (!user) return user.error();
  if (!*user) return std::optional<store::UserCache::Entry>();
  if ((*user)->disabled) return Error{ErrorCode::kTokenRevoked, {}};
  services.users.PutUnlessErased(key, version, (*user)->username, (*user)->created_at,
                                 (*user)->claims);
  return std::optional<store::UserCache::Entry>(store::UserCache::Entry{
      std::move((*user)->username), (*user)->created_at, std::move((*user)->claims)});
}

}  // namespace gatehouse::api
