// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include "api/attempt_limits.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// Writes the revocation durably, then makes it visible to the verify path: the 200 goes out
// only after both, so an acknowledged logout survives a crash. The write joins the store's group
// commit (store/group_commit.hpp): the pool's thread is free at once, and the answer goes out
// from the store's writer thread once the batch holding the write is on disk.
void Revoke(Services& services, Reply reply, store::Revocation revocation,
            std::string_view failure_message, std::string_view success_message) {
  RunOnPoolAnsweringLater(
      services.store_pool, std::move(reply),
      [&services, revocation = std::move(revocation), failure = std::string(failure_message),
       success = std::string(success_message)](Reply later) {
        services.store.SubmitRevocation(
            revocation, [&services, id = revocation.id, expires_at = revocation.expires_at, failure,
                         success, later = std::move(later)](Status stored) {
              if (!stored) return later(http::ErrorResponse(stored.error(), failure));
              services.revocations.Revoke(id, expires_at);
              later(http::MessageResponse(200, success));
            });
      });
}

http::Response NewAccessToken(Services& services, const auth::Claims& claims) {
  http::Response response;
  response.body =
      JsonObjectWriter().Add("access_token", services.tokens.IssueRefreshed(claims)).Finish();
  response.no_store = true;
  return response;
}

}  // namespace

void LogoutAccess(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  Revoke(services, std::move(reply),
         store::Revocation{claims->jti, store::RevocationKind::kToken, claims->exp},
         "Logout access went wrong", "Access token has been revoked");
}

void LogoutRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kRefresh);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  // Revoking the session covers the refresh token and every access token minted from it, and
  // no access token outlives the refresh token of its session. A Flask-minted refresh token
  // has no session: then only that token goes.
  store::Revocation revocation =
      claims->sid.empty()
          ? store::Revocation{claims->jti, store::RevocationKind::kToken, claims->exp}
          : store::Revocation{claims->sid, store::RevocationKind::kSession, claims->exp};
  Revoke(services, std::move(reply), std::move(revocation), "Logout refresh went wrong",
         "Refresh token has been revoked");
}

void TokenRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kRefresh);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  // In memory on every store: the refresh path makes no store round trip for its limit.
  if (auto refused = TakeUserAttempt(services.limits.refresh_per_user, claims->sub,
                                     obs::RateLimitKind::kRefreshPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  if (!services.store.IsShared()) return reply(NewAccessToken(services, *claims));
  // Several instances: a logout on another one may not have reached this one's memory yet, so
  // the database itself is asked (off the I/O thread) before a refresh token mints anything.
  RunOnPool(services.store_pool, std::move(reply), [&services, claims = std::move(*claims)] {
    auto revoked = services.store.IsRevoked(claims.jti, claims.sid, claims.sub_key, claims.iat);
    if (!revoked) return http::ErrorResponse(revoked.error());
    if (*revoked) return http::ErrorResponse(Error{ErrorCode::kTokenRevoked, {}});
    return NewAccessToken(services, claims);
  });
}

}  // namespace gatehouse::api
