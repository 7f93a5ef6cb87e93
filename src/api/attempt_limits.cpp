#include "api/attempt_limits.hpp"

#include <chrono>

#include "obs/logging.hpp"

namespace gatehouse::api {
namespace {

// The shared buckets live in the database, which every instance reads with its own clock:
// wall-clock time, as token times are (instances keep their clocks in step for those too).
int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SharedAttempt Attempt(obs::RateLimitKind kind, RateLimit limit, std::string_view name,
                      std::string_view address, std::string_view username_key) {
  // A client address holds no space, so "<name> <address> <username key>" names one bucket.
  std::string key;
  key.reserve(name.size() + address.size() + username_key.size() + 2);
  key.append(name).append(" ").append(address);
  if (!username_key.empty()) key.append(" ").append(username_key);
  return SharedAttempt{kind, limit, std::move(key)};
}

}  // namespace

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

SharedAttempt LoginPerUserAttempt(const config::Settings& settings, const store::UsernameKey& key,
                                  std::string_view address) {
  return Attempt(obs::RateLimitKind::kLoginPerUser, settings.login_per_user, "login_per_user",
                 address, key.str());
}

SharedAttempt LoginPerAddressAttempt(const config::Settings& settings, std::string_view address) {
  return Attempt(obs::RateLimitKind::kLoginPerAddress, settings.login_per_address,
                 "login_per_address", address, {});
}

SharedAttempt RegistrationAttempt(const config::Settings& settings, std::string_view address) {
  return Attempt(obs::RateLimitKind::kRegistrationPerAddress, settings.registration_per_address,
                 "registration_per_address", address, {});
}

std::optional<Error> TakeShared(store::Store& store, const std::vector<SharedAttempt>& attempts) {
  if (!store.IsShared()) return std::nullopt;
  const int64_t now = UnixMillis();
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    auto wait = store.TakeAttempt(attempts[i].key, attempts[i].limit, now, 1);
    if (wait && *wait == 0) continue;
    const std::vector<SharedAttempt> taken(attempts.begin(), attempts.begin() + i);
    GiveBackShared(store, taken);
    if (!wait) return wait.error();
    return TooMany(*wait, attempts[i].kind);
  }
  return std::nullopt;
}

void GiveBackShared(store::Store& store, const std::vector<SharedAttempt>& attempts) {
  if (!store.IsShared()) return;
  const int64_t now = UnixMillis();
  for (const SharedAttempt& attempt : attempts) {
    if (auto given = store.TakeAttempt(attempt.key, attempt.limit, now, -1); !given) {
      obs::Warn("giving back a rate-limit attempt failed", {{"error", given.error().detail}});
    }
  }
}

}  // namespace gatehouse::api
