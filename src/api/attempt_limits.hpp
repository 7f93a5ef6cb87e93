// The rate limits as the handlers apply them. Every limit counts in memory
// (auth::RateLimiter, on the I/O thread, before any work); on a store several instances share
// (PostgreSQL), the brute-force limits of login, password check and registration also count
// in the store, so that N instances allow the attempts one does (API.md §9). The per-user
// refresh and revocation limits stay in memory: their paths make no store round trip for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/rate_limiter.hpp"
#include "config/settings.hpp"
#include "obs/metrics.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// kRateLimited with the seconds to wait, counted in the metrics.
Error TooMany(int64_t wait_seconds, obs::RateLimitKind kind);

// Takes one attempt of a token's user (ASCII case ignored) from `limiter`: nullopt when
// allowed, else kRateLimited. One shard lock and no allocation unless refused; any thread.
std::optional<Error> TakeUserAttempt(auth::RateLimiter& limiter, std::string_view username,
                                     obs::RateLimitKind kind);
// Gives back what TakeUserAttempt took, for a call that turned out to change nothing.
void GiveBackUserAttempt(auth::RateLimiter& limiter, std::string_view username);

// One bucket of a limit counted in the store: which limit, and the bucket's key (the limit's
// name and the client address, then the username key, so no two buckets share a key).
struct SharedAttempt {
  obs::RateLimitKind kind;
  RateLimit limit;
  std::string key;
};
SharedAttempt LoginPerUserAttempt(const config::Settings& settings, const store::UsernameKey& key,
                                  std::string_view address);
SharedAttempt LoginPerAddressAttempt(const config::Settings& settings, std::string_view address);
SharedAttempt RegistrationAttempt(const config::Settings& settings, std::string_view address);

// On a shared store, takes one attempt from each bucket in order; when one refuses, gives back
// those taken before it and answers kRateLimited (or the storage failure). nullopt when every
// bucket allowed, or the store is not shared. Blocks: a pool only.
std::optional<Error> TakeShared(store::Store& store, const std::vector<SharedAttempt>& attempts);
// Gives one attempt back to each bucket (the login succeeded). Failures are logged only.
void GiveBackShared(store::Store& store, const std::vector<SharedAttempt>& attempts);

}  // namespace gatehouse::api
