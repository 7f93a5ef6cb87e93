// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"

namespace gatehouse::api {
namespace {

// Writes the revocation durably, then makes it visible to the verify path: the 200 goes out
// only after both, so an acknowledged logout survives a crash. With cookies on, the 200 clears
// the access pair, and for a whole session (`session_ended`) the refresh pair too.
void Revoke(Services& services, Reply reply, store::Revocation revocation,
            std::string_view failure_message, std::string_view success_message,
            bool session_ended) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, revocation = std::move(revocation), failure = std::string(failure_message),
             success = std::string(success_message), session_ended] {
              if (Status stored = services.store.AddRevocation(revocation); !stored) {
                return http::ErrorResponse(stored.error(), failure);
              }
              services.revocations.Revoke(revocation.id, revocation.expires_at);
              http::Response response = http::MessageResponse(200, success);
              ClearCookiePair(response, services.settings, CookiePair::kAccess);
              if (session_ended) ClearCookiePair(response, services.settings, CookiePair::kRefresh);
              return response;
            });
}

// Without rotation a refresh gives a new access token only; its cookie pair replaces the old.
http::Response NewAccessToken(Services& services, const auth::Claims& claims) {
  return RefreshedResponse(services.settings, services.tokens.IssueRefreshedToken(claims));
}

}  // namespace

void LogoutAccess(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  Revoke(services, std::move(reply),
         store::Revocation{claims->jti, store::RevocationKind::kToken, claims->exp},
         "Logout access went wrong", "Access token has been revoked", /*session_ended=*/false);
}

void LogoutRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kRefresh);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kRefresh, claims.error()));
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
         "Refresh token has been revoked", /*session_ended=*/true);
}

void TokenRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kRefresh);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kRefresh, claims.error()));
  // In memory on every store: the refresh path makes no store round trip for its limit.
  if (auto refused = TakeUserAttempt(services.limits.refresh_per_user, claims->sub,
                                     obs::RateLimitKind::kRefreshPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  if (!services.store.IsShared()) return reply(NewAccessToken(services, *claims));
  // Several instances: a logout on another one may not have reached this one's memory yet, so
  // the database itself is asked (off the I/O thread) before a refresh token mints anything.
  const bool from_cookie = TokenFromCookie(request, services, auth::TokenType::kRefresh);
  RunOnPool(
      services.store_pool, std::move(reply), [&services, claims = std::move(*claims), from_cookie] {
        auto revoked = services.store.IsRevoked(claims.jti, claims.sid, claims.sub, claims.iat);
        if (!revoked) return http::ErrorResponse(revoked.error());
        if (*revoked) {
          return TokenRefusal(Error{ErrorCode::kTokenRevoked, {}}, services,
                              auth::TokenType::kRefresh, from_cookie);
        }
        return NewAccessToken(services, claims);
      });
}

}  // namespace gatehouse::api
