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

// --- /login's two in-memory limits ------------------------------------------------------

// The limiter keys of one login attempt: per (username, client address) and per address.
// Digests, so a 16 KB username costs the limiters no more than a short one.
struct LoginKeys {
  auth::LimiterKey user_and_address;
  auth::LimiterKey address;
};

// A /login refused by a limit: its 429, and which limit refused it (in memory or shared).
struct LoginRefusal {
  Error error;
  obs::RateLimitKind kind;
};

// Takes one attempt from both limits, before the argon2id work, so a burst of parallel guesses
// cannot all pass the check before the first failure is counted; nullopt when both allow.
std::optional<LoginRefusal> TakeLoginAttempts(auth::AbuseLimits& limits, const LoginKeys& keys);
// Gives both attempts back (the login succeeded, or never ran).
void GiveBackLoginAttempts(auth::AbuseLimits& limits, const LoginKeys& keys);

// Whether `refusal` is the first of its key (the key of the limit that refused) in that limit's
// period: the one refusal login.throttled records (docs/api.md "Account events"). The period's
// later refusals answer 429 without an event, so hammering past a limit cannot grow the event
// log with each attempt. Any thread.
bool TakeThrottleNote(auth::AbuseLimits& limits, const LoginRefusal& refusal,
                      const LoginKeys& keys);
// The event was not recorded after all: the next refusal of the period records it.
void GiveBackThrottleNote(auth::AbuseLimits& limits, const LoginRefusal& refusal,
                          const LoginKeys& keys);

}  // namespace gatehouse::api
