// The one rule by which a handler acting for a verified token learns its user: GET /me, a
// refresh (the claims it mints) and introspection. A user in this server's cache is enabled:
// a disable, a removal and a claims change each drop the entry (here at once; on the other
// instances of a shared store through the revocation feed). Any other is read from the store
// and cached, unless disabled.
#pragma once

#include <optional>

#include "api/services.hpp"
#include "store/user_cache.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// From this server's cache only (any thread, no storage call); nullopt: not cached, so the
// caller asks ReadKnownUser on a store thread.
std::optional<store::UserCache::Entry> CachedUser(const Services& services,
                                                  const store::UsernameKey& key);

// On a store thread: the cache, else the store. nullopt: no such user (any more). A disabled
// user is kTokenRevoked: its disable revoked every token it had, so a token dated after that
// can only be a forgery (a leaked key, inside the iat leeway), and it is not cached, so the
// next request reads again. A storage failure is its error.
Result<std::optional<store::UserCache::Entry>> ReadKnownUser(Services& services,
                                                             const store::UsernameKey& key);

}  // namespace gatehouse::api
