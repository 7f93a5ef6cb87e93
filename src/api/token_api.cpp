// POST /logout/access, /logout/refresh and /token/refresh: the endpoints that take a token.
#include <atomic>
#include <chrono>

#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/known_user.hpp"
#include "api/routes.hpp"
#include "api/services.hpp"
#include "auth/accounts.hpp"
#include "auth/client_auth.hpp"
#include "auth/sealed_answer.hpp"
#include "http/body.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
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

// A logout's 200. With cookies on it clears the access pair, and for a whole session
// (`session_ended`) the refresh pair too.
http::Response LogoutAnswer(const Services& services, std::string_view message,
                            bool session_ended) {
  http::Response response = http::MessageResponse(200, message);
  ClearCookiePair(response, services.settings, CookiePair::kAccess);
  if (session_ended) ClearCookiePair(response, services.settings, CookiePair::kRefresh);
  return response;
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

// The answer of /token/refresh: {"access_token"} with headers on ({"message": "Token
// refreshed"} with cookies alone) and the access cookie pair. With rotation a new refresh
// token comes too (`refresh` not null): then "refresh_token" and the refresh pair, which
// replaces the browser's old one (same name, path and domain).
http::Response RefreshedResponse(const config::Settings& settings, const auth::IssuedToken& access,
                                 const auth::IssuedToken* refresh = nullptr) {
  http::Response response;
  JsonObjectWriter body;
  if (settings.tokens_in_headers) {
    body.Add("access_token", access.token);
    if (refresh != nullptr) body.Add("refresh_token", refresh->token);
  } else {
    body.Add("message", "Token refreshed");
  }
  response.body = body.Finish();
  SetCookiePair(response, settings, CookiePair::kAccess, access.token, access.csrf);
  if (refresh != nullptr) {
    SetCookiePair(response, settings, CookiePair::kRefresh, refresh->token, refresh->csrf);
  }
  response.no_store = true;
  return response;
}

store::AccountEvent RevocationEventOf(const http::Request& request, const auth::Claims& claims) {
  const bool session = claims.type == auth::TokenType::kRefresh && !claims.sid.empty();
  return TokenEvent(session ? "session.revoked" : "token.revoked", request, claims, claims.sid);
}

// Without rotation a refresh gives a new access token only; its cookie pair replaces the old.
http::Response NewAccessToken(Services& services, const auth::Claims& claims,
                              std::string_view user_claims) {
  return RefreshedResponse(services.settings,
                           services.tokens.IssueRefreshedToken(claims, user_claims));
}

// With cookies on, the new refresh cookie replaces the browser's old one (same name, path and
// domain); a replayed sealed answer carries the same csrf values.
http::Response RotatedResponse(const Services& services, const auth::TokenPair& tokens) {
  const auth::IssuedToken access{tokens.access_token, tokens.access_csrf};
  const auth::IssuedToken refresh{tokens.refresh_token, tokens.refresh_csrf};
  return RefreshedResponse(services.settings, access, &refresh);
}

// The user's claims for a new access token, on a store thread (api/known_user.hpp); a removed
// user's token gets none, a disabled user's is refused.
Result<std::string> UserClaims(Services& services, const auth::Claims& claims) {
  auto user = ReadKnownUser(services, claims.sub_key);
  if (!user) return user.error();
  if (!*user) return std::string();
  return std::move((*user)->claims);
}

// UserClaims' refusal: a revoked token's answer clears its cookie pair as every revoked answer
// does; a storage error is its 503.
http::Response UserClaimsRefusal(Services& services, const Error& error, bool from_cookie) {
  if (error.code != ErrorCode::kTokenRevoked) return http::ErrorResponse(error);
  return TokenRefusal(error, services, auth::TokenType::kRefresh, from_cookie);
}

void NoteLostUse(const Error& error) {
  obs::GlobalMetrics().RecordStoreError();
  static std::atomic<int64_t> last_logged{0};
  if (obs::LogDue(last_logged, 5)) {
    obs::Warn(
        "a refresh's session use was not recorded (its answer was given: last_used_at "
        "is approximate without rotation)",
        {{"error", error.detail}});
  }
}

// A refresh without rotation records the session's use after the answer, off the I/O thread
// and without holding the answer back: last_used_at is for listing and the idle timeout, and
// a use lost to a crash only makes a session look older. A full pool skips the record, and
// so does a use that would change nothing (the same client again within the second). The use
// is approximate (docs/api.md), but never recorded on storage known to be gone: a refresh that
// could not even record its use answers 503 instead. A record that fails (a full disk, the
// database down) is not silent: it counts in gatehouse_store_errors_total, is logged (at most
// every 5 s), and the store notes the failing write, so /readyz answers 503 as for any other
// failed write (docs/api.md, issue 16 F6).
Status RecordUse(Services& services, const std::string& sid, const http::Request& request) {
  if (Status reachable = services.store.CheckReachable(); !reachable) return reachable;
  const int64_t now = services.tokens.Now();
  if (!services.store.ClaimSessionUse(sid, now, request.client_address, request.user_agent)) {
    return Ok{};
  }
  (void)services.store_pool.TrySubmit([&services, sid, use = SessionUseOf(request, now)] {
    auto recorded = services.store.TouchSession(sid, use, IdleSince(services, use.at));
    if (!recorded) {
      services.store.ForgetSessionUse(sid);
      NoteLostUse(recorded.error());
    }
  });
  return Ok{};
}

// A new access token made off the I/O thread: the user's claims not cached, or the feed cut
// off. On a shared store the database is asked about the token there, as the user's read goes
// to it anyway.
void NewAccessTokenOnPool(Services& services, Reply reply, auth::Claims claims, bool from_cookie) {
  RunOnPool(
      services.store_pool, std::move(reply),
      [&services, shared = services.store.IsShared(), from_cookie, claims = std::move(claims)] {
        if (shared) {
          auto revoked =
              services.store.IsRevoked(claims.jti, claims.sid, claims.sub_key, claims.iat);
          if (!revoked) return http::ErrorResponse(revoked.error());
          if (*revoked) {
            return TokenRefusal(Error{ErrorCode::kTokenRevoked, {}}, services,
                                auth::TokenType::kRefresh, from_cookie);
          }
        }
        auto user_claims = UserClaims(services, claims);
        if (!user_claims) return UserClaimsRefusal(services, user_claims.error(), from_cookie);
        return NewAccessToken(services, claims, *user_claims);
      });
}

// The store's decision, as an answer; `token` is the refresh token presented, `from_cookie`
// whether it came in its cookie (a refusal then clears that cookie pair, as every revoked
// answer does).
http::Response RotationAnswer(Services& services, const store::RotationOutcome& outcome,
                              const std::string& token, const auth::Claims& claims,
                              const auth::TokenPair& minted, bool from_cookie) {
  using Kind = store::RotationOutcome::Kind;
  switch (outcome.kind) {
    case Kind::kRotated:
      return RotatedResponse(services, minted);
    case Kind::kReplay:
      if (auto earlier = auth::OpenAnswer(token, outcome.sealed_answer)) {
        return RotatedResponse(services, *earlier);
      }
      break;  // cannot happen unless the row was tampered with: refuse
    case Kind::kReused:
      AccountsOf(services).SessionEnded(
          store::Revocation{claims.sid, store::RevocationKind::kSession, outcome.expires_at});
      break;
    case Kind::kEnded:
      break;
  }
  return TokenRefusal(Error{ErrorCode::kTokenRevoked, {}}, services, auth::TokenType::kRefresh,
                      from_cookie);
}

// Rotation (API.md §10): the new pair is minted and sealed first, then one serialized
// transition of the session in the store decides whether it is the answer, an earlier answer
// is, or the session is revoked. The answer goes out only after that transition is durable,
// from the store's thread (Store::SubmitRotation): the pool's thread is free at once.
void RotateRefresh(Services& services, Reply reply, auth::Claims claims,
                   const auth::LocatedToken& presented, store::SessionUse use) {
  RunOnPoolAnsweringLater(
      services.store_pool, std::move(reply),
      [&services, claims = std::move(claims), token = std::string(presented.token),
       from_cookie = presented.from_cookie, use = std::move(use)](Reply later) mutable {
        auto user_claims = UserClaims(services, claims);
        if (!user_claims)
          return later(UserClaimsRefusal(services, user_claims.error(), from_cookie));
        const std::string new_jti = auth::NewUuid();
        auth::TokenPair minted = services.tokens.IssueRotated(claims, new_jti, *user_claims);
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
        services.store.SubmitRotation(
            request, [&services, token = std::move(token), claims = std::move(claims),
                      minted = std::move(minted), from_cookie,
                      later = std::move(later)](Result<store::RotationOutcome> outcome) {
              if (!outcome) return later(http::ErrorResponse(outcome.error()));
              later(RotationAnswer(services, *outcome, token, claims, minted, from_cookie));
            });
      });
}

// Ends the session of a refresh token that has one (auth::Accounts::EndSession): no longer
// listed, and the refresh token and every access token minted from it refused. A session the
// store has no record of (made before sessions were recorded) is revoked by its sid all the same.
void EndTokenSession(Services& services, Reply reply, store::AccountEvent event,
                     auth::Claims claims, std::string_view failure_message,
                     http::Response success) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, event = std::move(event), claims = std::move(claims),
             failure = std::string(failure_message), success = std::move(success)] {
              auto ended =
                  AccountsOf(services).EndSession(claims.sub_key, claims.sid, claims.exp, &event);
              if (!ended) return http::ErrorResponse(ended.error(), failure);
              return success;
            });
}

}  // namespace

void LogoutAccess(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRevoker(request, services, auth::TokenType::kAccess, reply);
  if (!claims) return;
  Revoke(services, std::move(reply), RevocationOf(*claims), RevocationEventOf(request, *claims),
         "Logout access went wrong",
         LogoutAnswer(services, "Access token has been revoked", /*session_ended=*/false));
}

void LogoutRefresh(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRevoker(request, services, auth::TokenType::kRefresh, reply);
  if (!claims) return;
  // A Flask-minted refresh token has no session: then only that token goes.
  if (claims->sid.empty()) {
    return Revoke(services, std::move(reply), RevocationOf(*claims),
                  RevocationEventOf(request, *claims), "Logout refresh went wrong",
                  LogoutAnswer(services, "Refresh token has been revoked", true));
  }
  // The event is made before the claims are moved into the call (argument order is unspecified).
  store::AccountEvent event = RevocationEventOf(request, *claims);
  EndTokenSession(services, std::move(reply), std::move(event), std::move(*claims),
                  "Logout refresh went wrong",
                  LogoutAnswer(services, "Refresh token has been revoked", /*session_ended=*/true));
}

void TokenRefresh(const http::Request& request, Services& services, Reply reply) {
  // Cut off from the revocation feed, a refresh does not answer 503 at once: it asks the
  // database itself (below), as every refresh on a shared store did before the feed served it.
  bool unfollowed = false;
  auto claims =
      services.tokens.VerifyBearer(BearerInputOf(request), auth::TokenType::kRefresh, &unfollowed);
  if (!claims)
    return reply(TokenRefusal(request, services, auth::TokenType::kRefresh, claims.error()));
  // In memory on every store: the refresh path makes no store round trip for its limit.
  if (auto refused = TakeUserAttempt(services.limits.refresh_per_user, claims->sub,
                                     obs::RateLimitKind::kRefreshPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  // Tokens without a session (Flask-made) are never rotated.
  if (services.settings.refresh_rotation && !claims->sid.empty()) {
    // The token as presented (header or cookie): the replay key of its sealed answer.
    const auto presented =
        services.tokens.Locate(BearerInputOf(request), auth::TokenType::kRefresh);
    return RotateRefresh(services, std::move(reply), std::move(*claims), *presented,
                         SessionUseOf(request, services.tokens.Now()));
  }
  if (!claims->sid.empty()) {
    if (Status recorded = RecordUse(services, claims->sid, request); !recorded) {
      return reply(http::ErrorResponse(recorded.error()));
    }
  }
  // The user's claims (API.md §12) go into the new access token: from memory when cached. On
  // a shared store too: what another instance revokes or changes reaches this one's memory
  // through the revocation feed, and while the feed is not followed within its bound the
  // verification above has refused (503) rather than vouch for the token (API.md §9).
  if (!unfollowed) {
    if (auto cached = services.users.Get(claims->sub_key)) {
      return reply(NewAccessToken(services, *claims, cached->claims));
    }
  }
  NewAccessTokenOnPool(services, std::move(reply), std::move(*claims),
                       TokenFromCookie(request, services, auth::TokenType::kRefresh));
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
  auto verified = CallerTokenClaims(*token, services);
  if (!verified) return reply(http::ErrorResponse(verified.error()));
  if (!*verified) return reply(std::move(done));
  auth::Claims& claims = **verified;
  if (claims.type == auth::TokenType::kRefresh && !claims.sid.empty()) {
    store::AccountEvent event = RevocationEventOf(request, claims);
    return EndTokenSession(services, std::move(reply), std::move(event), std::move(claims),
                           "Revocation went wrong", std::move(done));
  }
  Revoke(services, std::move(reply), RevocationOf(claims), RevocationEventOf(request, claims),
         "Revocation went wrong", std::move(done));
}

}  // namespace gatehouse::api
