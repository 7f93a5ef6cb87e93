// The endpoints that call the account module (auth/accounts): POST /registration, /login,
// /password, /password/reset and /logout/all. Each is decode -> input rules -> rate limits ->
// one Accounts call -> encode, and all of it is in this file: the bodies' decoding, the session
// answer (its Set-Cookie lines from api/browser_tokens) and the store-counted buckets of the
// brute-force limits, which only these endpoints take.
// Registration, login, /password and /password/reset cost an argon2id hash, so they do their
// work on the hash pool.
#include <chrono>

#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/routes.hpp"
#include "api/services.hpp"
#include "http/body.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// --- Bodies -------------------------------------------------------------------------------

// An absent field reads as empty, which the account rules answer as blank.
std::string Take(std::optional<std::string>& field) {
  return field ? std::move(*field) : std::string();
}

// `username` and `password`; an absent field is empty. Errors: kMalformedBody,
// kUnsupportedMedia, a FieldError for a field that is not a string.
Result<auth::Credentials> ReadCredentials(const http::Request& request) {
  auto fields = http::DecodeFields(request.content_type, request.body, {"username", "password"});
  if (!fields) return fields.error();
  return auth::Credentials(Take((*fields)[0]), Take((*fields)[1]));
}

// `old_password` and `new_password` of `username` (the token's subject); as above.
Result<auth::PasswordChange> ReadPasswordChange(const http::Request& request,
                                                std::string username) {
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"old_password", "new_password"});
  if (!fields) return fields.error();
  auth::PasswordChange change;
  change.username = std::move(username);
  change.old_password = Take((*fields)[0]);
  change.new_password = Take((*fields)[1]);
  return change;
}

// POST /password/reset's `username`, `code` and `new_password`; as above.
Result<auth::PasswordResetRequest> ReadPasswordReset(const http::Request& request) {
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"username", "code", "new_password"});
  if (!fields) return fields.error();
  auth::PasswordResetRequest reset;
  reset.username = Take((*fields)[0]);
  reset.code = Take((*fields)[1]);
  reset.new_password = Take((*fields)[2]);
  return reset;
}

// 200 {"message", "access_token", "refresh_token"} (the tokens only with headers on) and, with
// cookies on, the four cookies; not to be cached.
http::Response SessionResponse(const config::Settings& settings, std::string_view message,
                               const auth::TokenPair& tokens) {
  http::Response response;
  JsonObjectWriter body;
  body.Add("message", message);
  if (settings.tokens_in_headers) {
    body.Add("access_token", tokens.access_token).Add("refresh_token", tokens.refresh_token);
  }
  response.body = body.Finish();
  SetCookiePair(response, settings, CookiePair::kAccess, tokens.access_token, tokens.access_csrf);
  SetCookiePair(response, settings, CookiePair::kRefresh, tokens.refresh_token,
                tokens.refresh_csrf);
  response.no_store = true;
  return response;
}

// --- Limits counted in the store ---------------------------------------------------------
// On a store several instances share (PostgreSQL), the brute-force limits of login, password
// check and registration also count in the store, so that N instances allow the attempts one
// does (API.md §9); the in-memory count (auth::RateLimiter, on the I/O thread) comes first.

// One bucket of a limit counted in the store: which limit, and the bucket's key (the limit's
// name and the client address, then the username key, so no two buckets share a key).
struct SharedAttempt {
  obs::RateLimitKind kind;
  RateLimit limit;
  std::string key;
};

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

// Gives one attempt back to each bucket (the login succeeded). Failures are logged only.
void GiveBackShared(store::Store& store, const std::vector<SharedAttempt>& attempts) {
  if (!store.IsShared()) return;
  const int64_t now = UnixMillis();
  for (const SharedAttempt& attempt : attempts) {
    if (auto given = store.TakeAttempt(attempt.key, attempt.limit, now, -1); !given) {
      obs::Warn("giving back a rate-limit attempt failed", {{"error", given.error().detail}});
    }
  }
}

// On a shared store, takes one attempt from each bucket in order; when one refuses, gives back
// those taken before it and answers kRateLimited (or the storage failure), its kind in
// `refused_kind` when given. nullopt when every bucket allowed, or the store is not shared.
// Blocks: a pool only.
std::optional<Error> TakeShared(store::Store& store, const std::vector<SharedAttempt>& attempts,
                                obs::RateLimitKind* refused_kind = nullptr) {
  if (!store.IsShared()) return std::nullopt;
  const int64_t now = UnixMillis();
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    auto wait = store.TakeAttempt(attempts[i].key, attempts[i].limit, now, 1);
    if (wait && *wait == 0) continue;
    const std::vector<SharedAttempt> taken(attempts.begin(), attempts.begin() + i);
    GiveBackShared(store, taken);
    if (!wait) return wait.error();
    if (refused_kind != nullptr) *refused_kind = attempts[i].kind;
    return TooMany(*wait, attempts[i].kind);
  }
  return std::nullopt;
}

// --- Login and registration --------------------------------------------------------------

// login.throttled of a refusal whose note was taken, recorded before the 429 goes out (blocks:
// a pool only). A failed record answers its storage error instead (and gives the note back):
// no 429 goes out whose event should have been recorded and was not.
http::Response RecordThrottled(Services& services, const LoginRefusal& refused,
                               const LoginKeys& keys, std::string_view username,
                               const store::UsernameKey& key, const store::SessionUse& use) {
  const store::AccountEvent event = store::NewEvent("login.throttled", username, key, {}, use);
  if (Status recorded = services.store.RecordEvent(event); !recorded) {
    GiveBackThrottleNote(services.limits, refused, keys);
    return http::ErrorResponse(recorded.error());
  }
  return http::ErrorResponse(refused.error);
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
  obs::RateLimitKind kind = obs::RateLimitKind::kLoginPerUser;
  if (auto refused = TakeShared(services.store, attempts, &kind)) {
    const LoginRefusal refusal{*refused, kind};
    if (refused->code != ErrorCode::kRateLimited ||
        !TakeThrottleNote(services.limits, refusal, keys)) {
      return http::ErrorResponse(*refused);
    }
    return RecordThrottled(services, refusal, keys, credentials.username, key, use);
  }
  auto session = AccountsOf(services).From(use).Login(credentials, key);
  // The right password of a disabled account is no failed guess: it gives its attempt back, so
  // that enabling the account restores login at once (API.md §12).
  if (session || session.error().code == ErrorCode::kAccountDisabled) {
    GiveBackLoginAttempts(services.limits, keys);
    GiveBackShared(services.store, attempts);
  }
  if (!session) return http::ErrorResponse(session.error());
  return SessionResponse(services.settings, "Logged in as " + session->username, session->tokens);
}

// --- Password change ---------------------------------------------------------------------

// On the hash pool: the shared count first (several instances), then the change; a success
// gives the attempt back.
http::Response ChangePasswordJob(const auth::PasswordChange& change, const store::UsernameKey& key,
                                 const store::SessionUse& use, const auth::LimiterKey& limiter_key,
                                 Services& services) {
  const std::vector<SharedAttempt> attempts{
      LoginPerUserAttempt(services.settings, key, use.client_address)};
  if (auto refused = TakeShared(services.store, attempts)) return http::ErrorResponse(*refused);
  auto session = AccountsOf(services).From(use).ChangePassword(change, key);
  if (!session) return http::ErrorResponse(session.error());
  services.limits.login_per_user.GiveBack(limiter_key, auth::MonotonicMillis());
  GiveBackShared(services.store, attempts);
  return SessionResponse(services.settings, "Password changed", session->tokens);
}

// On the hash pool, as ChangePasswordJob: a wrong code keeps the attempt it took.
http::Response PasswordResetJob(const auth::PasswordResetRequest& reset,
                                const store::UsernameKey& key, const store::SessionUse& use,
                                const auth::LimiterKey& limiter_key, Services& services) {
  const std::vector<SharedAttempt> attempts{
      LoginPerUserAttempt(services.settings, key, use.client_address)};
  if (auto refused = TakeShared(services.store, attempts)) return http::ErrorResponse(*refused);
  auto session = AccountsOf(services).From(use).ResetPassword(reset, key);
  // A valid code of a disabled account is no failed guess either (as LoginJob).
  if (session || session.error().code == ErrorCode::kAccountDisabled) {
    services.limits.login_per_user.GiveBack(limiter_key, auth::MonotonicMillis());
    GiveBackShared(services.store, attempts);
  }
  if (!session) return http::ErrorResponse(session.error());
  return SessionResponse(services.settings, "Password changed", session->tokens);
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
    // Within its period, a key's later refusals answer at once: their event was recorded.
    if (!TakeThrottleNote(services.limits, *refused, keys)) {
      return reply(http::ErrorResponse(refused->error));
    }
    // The first waits for its event on the store pool (a full pool answers 503 at once).
    const bool queued =
        RunOnPool(services.store_pool, std::move(reply),
                  [shared, &services, keys, refused = *refused, use = SessionUseOf(request, 0)] {
                    return RecordThrottled(services, refused, keys, shared->username,
                                           store::UsernameKey(shared->username), use);
                  });
    if (!queued) GiveBackThrottleNote(services.limits, *refused, keys);
    return;
  }
  const bool queued = RunOnPool(services.hash_pool, std::move(reply),
                                [shared, &services, keys, use = SessionUseOf(request, 0)] {
                                  return LoginJob(*shared, use, keys, services);
                                });
  if (!queued) GiveBackLoginAttempts(services.limits, keys);
}

void PasswordReset(const http::Request& request, Services& services, Reply reply) {
  auto reset = ReadPasswordReset(request);
  if (!reset) return reply(http::ErrorResponse(reset.error()));
  if (Status valid = auth::CheckPasswordReset(*reset, PasswordRulesOf(services)); !valid) {
    return reply(http::ErrorResponse(valid.error()));
  }
  // A wrong code counts as a failed login of this user from this address (API.md §12).
  const auth::LimiterKey limiter_key = auth::LimiterKeyOf(reset->username, request.client_address);
  if (const int64_t wait =
          services.limits.login_per_user.Take(limiter_key, auth::MonotonicMillis());
      wait > 0) {
    return reply(http::ErrorResponse(TooMany(wait, obs::RateLimitKind::kLoginPerUser)));
  }
  auto shared = std::make_shared<auth::PasswordResetRequest>(std::move(*reset));
  const bool queued =
      RunOnPool(services.hash_pool, std::move(reply),
                [shared, &services, limiter_key, key = store::UsernameKey(shared->username),
                 use = SessionUseOf(request, services.tokens.Now())] {
                  return PasswordResetJob(*shared, key, use, limiter_key, services);
                });
  if (!queued) services.limits.login_per_user.GiveBack(limiter_key, auth::MonotonicMillis());
}

void ChangePasswordHandler(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  if (!claims->fresh) return reply(http::ErrorResponse(Error{ErrorCode::kNeedFreshToken, {}}));
  auto change = ReadPasswordChange(request, claims->sub);
  if (!change) return reply(http::ErrorResponse(change.error()));
  if (Status valid = auth::CheckPasswordChange(*change, PasswordRulesOf(services)); !valid) {
    return reply(http::ErrorResponse(valid.error()));
  }
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }

  // A wrong old password counts as a failed login for this user and address, on every
  // instance: the same bucket as /login's.
  const auth::LimiterKey limiter_key = auth::LimiterKeyOf(claims->sub, request.client_address);
  const int64_t now = auth::MonotonicMillis();
  if (const int64_t wait = services.limits.login_per_user.Take(limiter_key, now); wait > 0) {
    return reply(http::ErrorResponse(TooMany(wait, obs::RateLimitKind::kLoginPerUser)));
  }
  auto shared = std::make_shared<auth::PasswordChange>(std::move(*change));
  RunOnPool(
      services.hash_pool, std::move(reply),
      [shared, &services, limiter_key, key = claims->sub_key, use = SessionUseOf(request, 0)] {
        return ChangePasswordJob(*shared, key, use, limiter_key, services);
      });
}

void LogoutAll(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRevoker(request, services, auth::TokenType::kAccess, reply);
  if (!claims) return;
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = claims->sub_key, sub = claims->sub, use = SessionUseOf(request, 0)] {
              if (Status revoked = AccountsOf(services).From(use).RevokeEveryToken(key, sub);
                  !revoked) {
                return http::ErrorResponse(revoked.error(), "Logout all went wrong");
              }
              http::Response response = http::MessageResponse(200, "All tokens have been revoked");
              ClearCookiePair(response, services.settings, CookiePair::kAccess);
              ClearCookiePair(response, services.settings, CookiePair::kRefresh);
              return response;
            });
}

}  // namespace gatehouse::api
