// POST /registration and POST /login: the two endpoints that cost an argon2id hash, so both
// do all their work on the hash pool. Decode, check the input rules, take rate-limit
// attempts, then one call into the account module (auth/accounts) and encode its answer.
#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/credentials.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::api {
namespace {

// The in-memory limiter keys of one login attempt: per (username, client address) and per
// address. Digests, so a 16 KB username costs the limiters no more than a short one.
struct LoginKeys {
  auth::LimiterKey user_and_address;
  auth::LimiterKey address;
};

void GiveBack(auth::AbuseLimits& limits, const LoginKeys& keys) {
  const int64_t now = auth::MonotonicMillis();
  limits.login_per_user.GiveBack(keys.user_and_address, now);
  limits.login_per_address.GiveBack(keys.address, now);
}

// login.throttled, recorded before the 429 goes out (blocks: a pool only). A failed record
// answers its storage error instead: every 429 of /login is in the event log.
http::Response Throttled(Services& services, const Error& refused, std::string_view username,
                         const store::UsernameKey& key, const store::SessionUse& use) {
  const store::AccountEvent event = store::NewEvent("login.throttled", username, key, {}, use);
  if (Status recorded = services.store.RecordEvent(event); !recorded) {
    return http::ErrorResponse(recorded.error());
  }
  return http::ErrorResponse(refused);
}

// On the hash pool: the shared count first (several instances), then the login; a success
// gives every attempt back.
http::Response LoginJob(const auth::Credentials& credentials, const store::SessionUse& use,
                        const LoginKeys& keys, Services& services) {
  const std::string& address = use.client_address;
  // The request's one username key: the shared bucket, the store calls and the user cache.
  const store::UsernameKey key(credentials.username);
  const std::vector<SharedAttempt> attempts{LoginPerUserAttempt(services.settings, key, address),
                                            LoginPerAddressAttempt(services.settings, address)};
  if (auto refused = TakeShared(services.store, attempts)) {
    if (refused->code != ErrorCode::kRateLimited) return http::ErrorResponse(*refused);
    return Throttled(services, *refused, credentials.username, key, use);
  }
  auto session = AccountsOf(services).From(use).Login(credentials, key);
  // The right password of a disabled account is no failed guess: it gives its attempt back, so
  // that enabling the account restores login at once (API.md §12).
  if (session || session.error().code == ErrorCode::kAccountDisabled) {
    GiveBack(services.limits, keys);
    GiveBackShared(services.store, attempts);
  }
  if (!session) return http::ErrorResponse(session.error());
  return SessionResponse(services.settings, "Logged in as " + session->username, session->tokens);
}

// Attempts are taken before the argon2id work, so a burst of parallel guesses cannot all pass
// the check before the first failure is counted; nullopt when both limits allow.
std::optional<Error> TakeLoginAttempts(auth::AbuseLimits& limits, const LoginKeys& keys) {
  const int64_t now = auth::MonotonicMillis();
  if (const int64_t wait = limits.login_per_user.Take(keys.user_and_address, now); wait > 0) {
    return TooMany(wait, obs::RateLimitKind::kLoginPerUser);
  }
  if (const int64_t wait = limits.login_per_address.Take(keys.address, now); wait > 0) {
    limits.login_per_user.GiveBack(keys.user_and_address, now);
    return TooMany(wait, obs::RateLimitKind::kLoginPerAddress);
  }
  return std::nullopt;
}

}  // namespace

void Registration(const http::Request& request, Services& services, Reply reply) {
  if (!services.settings.registration_enabled) {
    return reply(http::ErrorResponse(Error{ErrorCode::kRegistrationClosed, {}}));
  }
  auto credentials = ReadCredentials(request);
  if (!credentials) return reply(http::ErrorResponse(credentials.error()));
  if (Status valid = auth::CheckRegistration(*credentials, PasswordRulesOf(services)); !valid) {
    return reply(http::ErrorResponse(valid.error()));
  }
  const int64_t wait = services.limits.registration_per_address.Take(
      auth::LimiterKeyOf({}, request.client_address), auth::MonotonicMillis());
  if (wait > 0) {
    return reply(http::ErrorResponse(TooMany(wait, obs::RateLimitKind::kRegistrationPerAddress)));
  }
  auto shared = std::make_shared<auth::Credentials>(std::move(*credentials));
  RunOnPool(
      services.hash_pool, std::move(reply), [shared, &services, use = SessionUseOf(request, 0)] {
        if (auto refused = TakeShared(
                services.store, {RegistrationAttempt(services.settings, use.client_address)})) {
          return http::ErrorResponse(*refused);
        }
        auto session =
            AccountsOf(services).From(use).Register(*shared, store::UsernameKey(shared->username));
        if (!session) return http::ErrorResponse(session.error());
        return SessionResponse(services.settings, "User " + session->username + " was created",
                               session->tokens);
      });
}

void Login(const http::Request& request, Services& services, Reply reply) {
  auto credentials = ReadCredentials(request);
  if (!credentials) return reply(http::ErrorResponse(credentials.error()));
  if (Status valid = auth::CheckLoginInput(*credentials); !valid) {
    return reply(http::ErrorResponse(valid.error()));
  }
  const LoginKeys keys{auth::LimiterKeyOf(credentials->username, request.client_address),
                       auth::LimiterKeyOf({}, request.client_address)};
  auto shared = std::make_shared<auth::Credentials>(std::move(*credentials));
  if (auto refused = TakeLoginAttempts(services.limits, keys)) {
    // The 429 waits for its event on the store pool (a full pool answers 503 at once).
    RunOnPool(services.store_pool, std::move(reply),
              [shared, &services, refused = *refused, use = SessionUseOf(request, 0)] {
                return Throttled(services, refused, shared->username,
                                 store::UsernameKey(shared->username), use);
              });
    return;
  }
  const bool queued = RunOnPool(services.hash_pool, std::move(reply),
                                [shared, &services, keys, use = SessionUseOf(request, 0)] {
                                  return LoginJob(*shared, use, keys, services);
                                });
  if (!queued) GiveBack(services.limits, keys);
}

}  // namespace gatehouse::api
