// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include "api/attempt_limits.hpp"
#include "api/services.hpp"
#include "auth/accounts.hpp"
#include "auth/client_auth.hpp"
#include "http/body.hpp"
#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// Writes the revocation durably, then makes it visible to the verify path: the 200 goes out
// only after both, so an acknowledged logout survives a crash.
void Revoke(Services& services, Reply reply, store::Revocation revocation,
            std::string_view failure_message, http::Response success) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, revocation = std::move(revocation), failure = std::string(failure_message),
             success = std::move(success)] {
              if (Status stored = services.store.AddRevocation(revocation); !stored) {
                return http::ErrorResponse(stored.error(), failure);
              }
              services.revocations.Revoke(revocation.id, revocation.expires_at);
              return success;
            });
}

// An access token goes alone (its jti). A refresh token ends its session: the refresh token and
// every access token minted from it, none of which outlives it. A Flask-minted refresh token
// has no session: then only that token goes.
store::Revocation RevocationOf(const auth::Claims& claims) {
  if (claims.type == auth::TokenType::kRefresh && !claims.sid.empty()) {
    return store::Revocation{claims.sid, store::RevocationKind::kSession, claims.exp};
  }
  return store::Revocation{claims.jti, store::RevocationKind::kToken, claims.exp};
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
  Revoke(services, std::move(reply), RevocationOf(*claims), "Logout access went wrong",
         http::MessageResponse(200, "Access token has been revoked"));
}

void LogoutRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kRefresh);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  Revoke(services, std::move(reply), RevocationOf(*claims), "Logout refresh went wrong",
         http::MessageResponse(200, "Refresh token has been revoked"));
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
    auto revoked = services.store.IsRevoked(claims.jti, claims.sid, claims.sub, claims.iat);
    if (!revoked) return http::ErrorResponse(revoked.error());
    if (*revoked) return http::ErrorResponse(Error{ErrorCode::kTokenRevoked, {}});
    return NewAccessToken(services, claims);
  });
}

}  // namespace gatehouse::api

namespace gatehouse::api {

// RFC 7009: the caller (a resource server or client holding the caller secret) revokes a token
// it was given. Any token that is not (or no longer) valid answers 200 too (§2.2): there is
// nothing left to revoke, and the caller could not act on an error.
void TokenRevoke(const http::Request& request, Services& services, Reply reply) {
  auto token = CallerToken(request, services);
  if (!token) return reply(http::ErrorResponse(token.error()));
  http::Response done;
  done.body = "{}";
  done.no_store = true;
  auto claims = services.tokens.VerifyAnyType(*token);
  if (!claims) return reply(std::move(done));
  Revoke(services, std::move(reply), RevocationOf(*claims), "Revocation went wrong",
         std::move(done));
}

}  // namespace gatehouse::api
