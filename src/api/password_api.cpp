// POST /password and POST /logout/all: the endpoints that revoke every token of a user.
// Decode, check, take rate-limit attempts, then one call into the account module.
#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/credentials.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::api {
namespace {

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
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
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
