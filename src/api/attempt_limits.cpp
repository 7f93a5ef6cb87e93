#include "api/attempt_limits.hpp"

#include <utility>

namespace gatehouse::api {

Error TooMany(int64_t wait_seconds, obs::RateLimitKind kind) {
  obs::GlobalMetrics().RecordRateLimited(kind);
  return RateLimitedError(wait_seconds);
}

std::optional<Error> TakeUserAttempt(auth::RateLimiter& limiter, std::string_view username,
                                     obs::RateLimitKind kind) {
  if (!limiter.limit().enabled()) return std::nullopt;
  const int64_t wait = limiter.Take(auth::LimiterKeyOf(username, {}), auth::MonotonicMillis());
  if (wait == 0) return std::nullopt;
  return TooMany(wait, kind);
}

void GiveBackUserAttempt(auth::RateLimiter& limiter, std::string_view username) {
  if (limiter.limit().enabled()) {
    limiter.GiveBack(auth::LimiterKeyOf(username, {}), auth::MonotonicMillis());
  }
}

std::optional<LoginRefusal> TakeLoginAttempts(auth::AbuseLimits& limits, const LoginKeys& keys) {
  const int64_t now = auth::MonotonicMillis();
  if (const int64_t wait = limits.login_per_user.Take(keys.user_and_address, now); wait > 0) {
    return LoginRefusal{TooMany(wait, obs::RateLimitKind::kLoginPerUser),
                        obs::RateLimitKind::kLoginPerUser};
  }
  if (const int64_t wait = limits.login_per_address.Take(keys.address, now); wait > 0) {
    limits.login_per_user.GiveBack(keys.user_and_address, now);
    return LoginRefusal{TooMany(wait, obs::RateLimitKind::kLoginPerAddress),
                        obs::RateLimitKind::kLoginPerAddress};
  }
  return std::nullopt;
}

void GiveBackLoginAttempts(auth::AbuseLimits& limits, const LoginKeys& keys) {
  const int64_t now = auth::MonotonicMillis();
  limits.login_per_user.GiveBack(keys.user_and_address, now);
  limits.login_per_address.GiveBack(keys.address, now);
}

namespace {

// The notes of the limit that refused, and the key it refused (auth::AbuseLimits).
std::pair<auth::RateLimiter*, const auth::LimiterKey*> ThrottleNote(auth::AbuseLimits& limits,
                                                                    const LoginRefusal& refusal,
                                                                    const LoginKeys& keys) {
  if (refusal.kind == obs::RateLimitKind::kLoginPerAddress) {
    return {&limits.throttle_notes_per_address, &keys.address};
  }
  return {&limits.throttle_notes_per_user, &keys.user_and_address};
}

}  // namespace

bool TakeThrottleNote(auth::AbuseLimits& limits, const LoginRefusal& refusal,
                      const LoginKeys& keys) {
  const auto [notes, key] = ThrottleNote(limits, refusal, keys);
  return notes->Take(*key, auth::MonotonicMillis()) == 0;
}

void GiveBackThrottleNote(auth::AbuseLimits& limits, const LoginRefusal& refusal,
                          const LoginKeys& keys) {
  const auto [notes, key] = ThrottleNote(limits, refusal, keys);
  notes->GiveBack(*key, auth::MonotonicMillis());
}

}  // namespace gatehouse::api
