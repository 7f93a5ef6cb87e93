// POST /password and POST /logout/all: the endpoints that revoke every token of a user.
// Decode, check, take rate-limit attempts, then one call into the account module.
#include "api/attempt_limits.hpp"
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
  return SessionResponse("Password changed", session->tokens);
}

}  // namespace

void ChangePasswordHandler(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
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
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
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
              return http::MessageResponse(200, "All tokens have been revoked");
            });
}

}  // namespace gatehouse::api
