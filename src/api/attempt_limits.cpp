#include "api/attempt_limits.hpp"

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

}  // namespace gatehouse::api
