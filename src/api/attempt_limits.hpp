// The in-memory rate limits as the handlers apply them (auth::RateLimiter, on the I/O thread,
// before any work). The brute-force limits that the account endpoints also count in a shared
// store are in api/account_api.cpp, their only user. The per-user refresh and revocation
// limits stay in memory: their paths make no store round trip for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "auth/rate_limiter.hpp"
#include "obs/metrics.hpp"
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

}  // namespace gatehouse::api
