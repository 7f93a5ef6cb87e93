// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include "api/attempt_limits.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// Writes the revocation durably, then makes it visible to the verify path: the 200 goes out
// only after both, so an acknowledged logout survives a crash.
void Revoke(Services& services, Reply reply, store::Revocation revocation,
            std::string_view failure_message, std::string_view success_message) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, revocation = std::move(revocation), failure = std::string(failure_message),
             success = std::string(success_message)] {
              if (Status stored = services.store.AddRevocation(revocation); !stored) {
                return http::ErrorResponse(stored.error(), failure);
              }
              services.revocations.Revoke(revocation.id, revocation.expires_at);
              return http::MessageResponse(200, success);
            });
}

http::Response NewAccessToken(Services& services, const auth::Claims& claims,
                              std::string_view user_claims) {
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("access_token", services.tokens.IssueRefreshed(claims, user_claims))
                      .Finish();
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
  // The user's claims (API.md §12) go into the new access token: from memory when cached.
  const bool shared = services.store.IsShared();
  if (!shared) {
    if (auto cached = services.users.Get(store::UsernameKey(claims->sub))) {
      return reply(NewAccessToken(services, *claims, cached->claims));
    }
  }
  // Several instances: a logout on another one may not have reached this one's memory yet, so
  // the database itself is asked (off the I/O thread) before a refresh token mints anything;
  // the user's claims are read there too, as another instance may have changed them.
  RunOnPool(
      services.store_pool, std::move(reply), [&services, shared, claims = std::move(*claims)] {
        if (shared) {
          auto revoked = services.store.IsRevoked(claims.jti, claims.sid, claims.sub, claims.iat);
          if (!revoked) return http::ErrorResponse(revoked.error());
          if (*revoked) return http::ErrorResponse(Error{ErrorCode::kTokenRevoked, {}});
        }
        auto user = services.store.FindUser(claims.sub);
        if (!user) return http::ErrorResponse(user.error());
        if (!*user) return NewAccessToken(services, claims, {});
        if (!shared) {
          services.users.Put(store::UsernameKey(claims.sub), (*user)->username, (*user)->created_at,
                             (*user)->claims);
        }
        return NewAccessToken(services, claims, (*user)->claims);
      });
}

}  // namespace gatehouse::api
