// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include <chrono>

#include "api/attempt_limits.hpp"
#include "api/services.hpp"
#include "auth/accounts.hpp"
#include "auth/client_auth.hpp"
#include "auth/sealed_answer.hpp"
#include "http/body.hpp"
#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// Writes the revocation durably, then makes it visible to the verify path: the 200 goes out
// only after both, so an acknowledged logout survives a crash. The write joins the store's group
// commit (store/group_commit.hpp): the pool's thread is free at once, and the answer goes out
// from the store's writer thread once the batch holding the write is on disk.
// The event is recorded in the same transaction: token.revoked for a jti, session.revoked for
// a sid.
void Revoke(Services& services, Reply reply, store::Revocation revocation,
            store::AccountEvent event, std::string_view failure_message, http::Response success) {
  RunOnPoolAnsweringLater(
      services.store_pool, std::move(reply),
      [&services, revocation = std::move(revocation), event = std::move(event),
       failure = std::string(failure_message), success = std::move(success)](Reply later) {
        services.store.SubmitRevocation(
            revocation,
            [&services, id = revocation.id, expires_at = revocation.expires_at, failure, success,
             later = std::move(later)](Status stored) {
              if (!stored) return later(http::ErrorResponse(stored.error(), failure));
              services.revocations.Revoke(id, expires_at);
              later(success);
            },
            &event);
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

store::AccountEvent RevocationEventOf(const http::Request& request, const auth::Claims& claims) {
  const bool session = claims.type == auth::TokenType::kRefresh && !claims.sid.empty();
  return TokenEvent(session ? "session.revoked" : "token.revoked", request, claims, claims.sid);
}

http::Response NewAccessToken(Services& services, const auth::Claims& claims) {
  http::Response response;
  response.body =
      JsonObjectWriter().Add("access_token", services.tokens.IssueRefreshed(claims)).Finish();
  response.no_store = true;
  return response;
}

http::Response RotatedResponse(const auth::TokenPair& tokens) {
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("access_token", tokens.access_token)
                      .Add("refresh_token", tokens.refresh_token)
                      .Finish();
  response.no_store = true;
  return response;
}

// A refresh without rotation records the session's use after the answer, off the I/O thread
// and without holding the answer back: last_used_at is for listing and the idle timeout, and
// a use lost to a crash only makes a session look older. A full pool skips the record.
void RecordUse(Services& services, const std::string& sid, store::SessionUse use) {
  (void)services.store_pool.TrySubmit([&services, sid, use = std::move(use)] {
    (void)services.store.TouchSession(sid, use, IdleSince(services, use.at));
  });
}

// The store's decision, as an answer; `token` is the refresh token presented.
http::Response RotationAnswer(Services& services, const store::RotationOutcome& outcome,
                              const std::string& token, const auth::Claims& claims,
                              const auth::TokenPair& minted) {
  using Kind = store::RotationOutcome::Kind;
  switch (outcome.kind) {
    case Kind::kRotated:
      return RotatedResponse(minted);
    case Kind::kReplay:
      if (auto earlier = auth::OpenAnswer(token, outcome.sealed_answer)) {
        return RotatedResponse(*earlier);
      }
      break;  // cannot happen unless the row was tampered with: refuse
    case Kind::kReused:
      EndSessionAndApply(services, store::Revocation{claims.sid, store::RevocationKind::kSession,
                                                     outcome.expires_at});
      break;
    case Kind::kEnded:
      break;
  }
  return http::ErrorResponse(Error{ErrorCode::kTokenRevoked, {}});
}

// Rotation (API.md §10): the new pair is minted and sealed first, then one serialized
// transition of the session in the store decides whether it is the answer, an earlier answer
// is, or the session is revoked. The answer goes out only after that transition is durable.
void RotateRefresh(Services& services, Reply reply, auth::Claims claims, std::string token,
                   store::SessionUse use) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, claims = std::move(claims), token = std::move(token),
             use = std::move(use)]() mutable {
              const std::string new_jti = auth::NewUuid();
              const auth::TokenPair minted = services.tokens.IssueRotated(claims, new_jti);
              const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
              store::RotationRequest request{claims.sid,
                                             claims.sub,
                                             claims.jti,
                                             new_jti,
                                             auth::SealAnswer(token, minted),
                                             services.settings.refresh_reuse_interval,
                                             IdleSince(services, use.at),
                                             now_ms,
                                             std::move(use),
                                             claims.sub_key.str()};
              auto outcome = services.store.RotateRefresh(request);
              if (!outcome) return http::ErrorResponse(outcome.error());
              return RotationAnswer(services, *outcome, token, claims, minted);
            });
}

}  // namespace

void LogoutAccess(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  Revoke(services, std::move(reply), RevocationOf(*claims), RevocationEventOf(request, *claims),
         "Logout access went wrong", http::MessageResponse(200, "Access token has been revoked"));
}

void LogoutRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kRefresh);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  // A Flask-minted refresh token has no session: then only that token goes.
  if (claims->sid.empty()) {
    return Revoke(services, std::move(reply), RevocationOf(*claims),
                  RevocationEventOf(request, *claims), "Logout refresh went wrong",
                  http::MessageResponse(200, "Refresh token has been revoked"));
  }
  // Ending the session covers the refresh token and every access token minted from it, and
  // no access token outlives the refresh token of its session. A session the store has no
  // record of (made before sessions were recorded) is revoked by its sid all the same.
  RunOnPool(services.store_pool, std::move(reply),
            [&services, event = RevocationEventOf(request, *claims), claims = std::move(*claims)] {
              auto ended = services.store.EndSession(claims.sub_key, claims.sid, &event);
              if (!ended) return http::ErrorResponse(ended.error(), "Logout refresh went wrong");
              store::Revocation revocation =
                  *ended
                      ? **ended
                      : store::Revocation{claims.sid, store::RevocationKind::kSession, claims.exp};
              if (!*ended) {
                if (Status stored = services.store.AddRevocation(revocation, &event); !stored) {
                  return http::ErrorResponse(stored.error(), "Logout refresh went wrong");
                }
              }
              EndSessionAndApply(services, revocation);
              return http::MessageResponse(200, "Refresh token has been revoked");
            });
}

void TokenRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kRefresh);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  // In memory on every store: the refresh path makes no store round trip for its limit.
  if (auto refused = TakeUserAttempt(services.limits.refresh_per_user, claims->sub,
                                     obs::RateLimitKind::kRefreshPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  // Tokens without a session (Flask-made) are never rotated.
  if (services.settings.refresh_rotation && !claims->sid.empty()) {
    const std::string_view token = *auth::TokenService::BearerToken(request.authorization);
    return RotateRefresh(services, std::move(reply), std::move(*claims), std::string(token),
                         SessionUseOf(request, services.tokens.Now()));
  }
  if (!claims->sid.empty())
    RecordUse(services, claims->sid, SessionUseOf(request, services.tokens.Now()));
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
  Revoke(services, std::move(reply), RevocationOf(*claims), RevocationEventOf(request, *claims),
         "Revocation went wrong", std::move(done));
}

}  // namespace gatehouse::api
