// Issuing and checking the service's tokens: Flask-JWT-Extended 4 claims over HS256 JWS.
// Verification never touches storage: signature, time, type, then the in-memory revocations.
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jws.hpp"
#include "auth/keyring.hpp"
#include "auth/revocation_set.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::auth {

enum class TokenType { kAccess, kRefresh };

struct Claims {
  std::string sub;
  TokenType type = TokenType::kAccess;
  bool fresh = false;
  std::string jti;
  std::string sid;  // empty for tokens minted elsewhere (Flask) that carry none
  int64_t iat = 0;
  int64_t exp = 0;
  // UsernameKey(sub), made once by the verification (its user revocation check needs it) so
  // that the handler's store, cache and limiter calls reuse it.
  store::UsernameKey sub_key;
};

// With tokens in cookies, each token carries a `csrf` claim (a random UUIDv4) that the
// scripts of the page read from a cookie and send back as X-CSRF-TOKEN (API.md §11).
struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  std::string access_csrf;   // the access token's `csrf` claim; empty without cookies
  std::string refresh_csrf;  // the refresh token's
};

// One token and its `csrf` claim (empty without cookies).
struct IssuedToken {
  std::string token;
  std::string csrf;
};

// Where tokens travel (tokens.location): the Authorization header, cookies, or both.
struct TokenLocations {
  bool headers = true;
  bool cookies = false;
};

// The names Flask-JWT-Extended gives its cookies, so that its resource servers read ours.
inline constexpr std::string_view kAccessCookie = "access_token_cookie";
inline constexpr std::string_view kRefreshCookie = "refresh_token_cookie";
inline constexpr std::string_view kAccessCsrfCookie = "csrf_access_token";
inline constexpr std::string_view kRefreshCsrfCookie = "csrf_refresh_token";

// What a request presents for the bearer step: the raw header values, never parsed earlier.
struct BearerInput {
  std::string_view authorization;  // the Authorization header
  std::string_view cookies;        // the Cookie header
  std::string_view csrf_header;    // the X-CSRF-TOKEN header
  bool state_changing = false;     // POST, PUT, PATCH, DELETE: a cookie needs X-CSRF-TOKEN
};

// The token a request presents and where it came from.
struct LocatedToken {
  std::string_view token;
  bool from_cookie = false;
};

struct TokenLifetimes {
  int64_t access_seconds = 30 * 60;
  int64_t refresh_seconds = 30 * 24 * 3600;
  std::string issuer;        // when set: written as `iss` and required on verification
  std::string audience;      // when set: written as `aud` and required on verification
  TokenLocations locations;  // with cookies, tokens carry a `csrf` claim
};

// Leeway for `nbf`/`iat` only: it absorbs clock skew between instances and a Flask service.
// `exp` gets none, so a token is never honoured past the lifetime its issuer gave it.
inline constexpr int64_t kNotBeforeLeewaySeconds = 10;

class TokenService {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds

  // Signs with `keyring` (shared: the server reloads it when keys rotate).
  TokenService(std::shared_ptr<const Keyring> keyring, TokenLifetimes lifetimes,
               RevocationSet& revocations, Clock clock);
  // HS256 with `secret`, for tests and tools.
  TokenService(std::string_view secret, TokenLifetimes lifetimes, RevocationSet& revocations,
               Clock clock);

  // A new session of `username` starting now: a random sid, and the refresh token's expiry.
  // Record it in the store before issuing its tokens (auth/accounts does).
  // `use`: when and from where (its `at` is ignored: the session starts now). The refresh
  // token's jti is chosen here, so the store records it as the session's current one.
  store::SessionRecord NewSession(std::string_view username,
                                  const store::SessionUse& use = {}) const;
  // The first tokens of `session`: a fresh access token and a refresh token, issued at its
  // created_at, carrying its sid. Never waits: revoking a user's tokens names the sessions of
  // the current second by sid (store::Store::RevokeUserTokens), so the clock needs no tick.
  // `extra_claims`: the user's claims (a compact JSON object, checked by auth/accounts),
  // merged into the access token only, as Flask-JWT-Extended's additional_claims are.
  TokenPair IssuePair(const store::SessionRecord& session,
                      std::string_view extra_claims = {}) const;
  // A new session's tokens without recording it: for tests and tools.
  TokenPair IssuePair(std::string_view username) const { return IssuePair(NewSession(username)); }
  // An access token in an existing session; fresh=false, as /token/refresh gives.
  std::string IssueAccess(std::string_view username, std::string_view sid, bool fresh);
  // The access token /token/refresh mints from the verified `refresh` token (fresh=false, its
  // sid). Issued now, except when `refresh` belongs to a session the store has no record of
  // (made by the Flask service: no sid; or issued before SetSessionsRecordedSince): then its
  // iat is the refresh token's, so that any revocation by time that covers the refresh token
  // covers what it minted, even if that revocation was written while this one was in flight.
  std::string IssueRefreshed(const Claims& refresh, std::string_view extra_claims = {}) const {
    return IssueRefreshedToken(refresh, extra_claims).token;
  }
  // The same, with the new token's `csrf` claim (for its cookie).
  IssuedToken IssueRefreshedToken(const Claims& refresh, std::string_view extra_claims = {}) const;
  // Rotation: the answer to the verified `refresh` token, a new access token (fresh=false,
  // with the user's `extra_claims`) and a new refresh token with jti `refresh_jti`, the same
  // sid and the same exp (rotation never lengthens a session). Nothing is recorded: the caller
  // asks the store first.
  TokenPair IssueRotated(const Claims& refresh, std::string_view refresh_jti,
                         std::string_view extra_claims = {}) const;
  // Refresh tokens issued before `since` have no session record (see IssueRefreshed).
  void SetSessionsRecordedSince(int64_t since) { sessions_recorded_since_ = since; }

  // Checks everything: shape and signature (kInvalidToken), exp (kTokenExpired), nbf
  // (kTokenNotYetValid), type (kNeedAccessToken / kNeedRefreshToken), then revocation of the
  // jti, the sid and the user (kTokenRevoked).
  Result<Claims> Verify(std::string_view token, TokenType expected) const;
  // The same checks without the type check (introspection answers for either type).
  Result<Claims> VerifyAnyType(std::string_view token) const;

  // The `Authorization` header's Bearer token, or kMissingToken.
  static Result<std::string_view> BearerToken(std::string_view authorization);
  // The token `input` presents under tokens.location: the Authorization header's when headers
  // are on and it has one (it wins over a cookie), else the cookie of `expected`'s type when
  // cookies are on. Errors: kMissingToken (headers only, or both and neither came),
  // kMissingCookie (cookies only), kMissingCsrf (a cookie on a state-changing request without
  // X-CSRF-TOKEN: refused before the token is even read, as Flask-JWT-Extended does).
  Result<LocatedToken> Locate(const BearerInput& input, TokenType expected) const;
  // The one bearer step of every token-protected endpoint (as Envoy's jwt_authn: extractor,
  // then verifier): Locate, then Verify, and for a cookie on a state-changing request the
  // double-submit check (kCsrfMismatch) before revocation is looked at. Its errors go to
  // http::ErrorResponse, the one place that turns them into 401s with their challenge (or 503).
  // `unfollowed` (optional): when given, a token is not refused because this process is cut off
  // from other writers' revocations (RevocationSet::IsFollowing); *unfollowed says so instead,
  // and the caller must then ask the store itself before it vouches for the token.
  Result<Claims> VerifyBearer(const BearerInput& input, TokenType expected,
                              bool* unfollowed = nullptr) const;
  // Header only (tools and tests): as a request with just `authorization`.
  Result<Claims> VerifyBearer(std::string_view authorization, TokenType expected) const {
    return VerifyBearer(BearerInput{authorization, {}, {}, false}, expected);
  }

  int64_t Now() const { return clock_(); }
  const TokenLifetimes& lifetimes() const { return lifetimes_; }

 private:
  // `csrf`, when given, must equal the token's `csrf` claim (kCsrfMismatch).
  Result<Claims> Check(std::string_view token, std::optional<TokenType> expected,
                       const std::string_view* csrf = nullptr, bool* unfollowed = nullptr) const;
  // iat is `issued_at`; nbf is `now` and exp counts from it unless `exp` is given (non-zero);
  // jti is `jti`, or a new one when empty; the user's `extra_claims` (a compact JSON object)
  // join the payload. With cookies on, a new `csrf` claim is written and handed back.
  IssuedToken Sign(std::string_view username, TokenType type, bool fresh, std::string_view sid,
                   int64_t issued_at, int64_t now, std::string_view jti = {}, int64_t exp = 0,
                   std::string_view extra_claims = {}) const;
  static TokenPair Pair(IssuedToken access, IssuedToken refresh) {
    return {std::move(access.token), std::move(refresh.token), std::move(access.csrf),
            std::move(refresh.csrf)};
  }

  std::shared_ptr<const Keyring> keyring_;
  TokenLifetimes lifetimes_;
  RevocationSet& revocations_;
  Clock clock_;
  int64_t sessions_recorded_since_ = 0;
};

// A random UUIDv4 in its canonical 36-character form.
std::string NewUuid();

}  // namespace gatehouse::auth
