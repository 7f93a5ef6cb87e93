#include "auth/token_service.hpp"

#include <sodium.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>

#include "auth/json_object.hpp"
#include "store/store.hpp"
#include "util/cookie_header.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::auth {
namespace {

// Bounds on claim strings: ours are 36-character UUIDs and usernames of at most 64 characters;
// the limits leave room for other issuers while keeping the revocation set's input small.
constexpr std::size_t kMaxClaimBytes = 256;

// The claims read here. A payload naming one of them twice is refused: which copy counts
// differs between JSON parsers, so a token could mean one thing here and another elsewhere.
enum ClaimBit : unsigned {
  kSub = 1u << 0,
  kType = 1u << 1,
  kJti = 1u << 2,
  kSid = 1u << 3,
  kExp = 1u << 4,
  kIat = 1u << 5,
  kNbf = 1u << 6,
  kFresh = 1u << 7,
  kIss = 1u << 8,
  kAud = 1u << 9,
  kCsrf = 1u << 10,
};

unsigned ClaimBitOf(std::string_view name) {
  if (name.size() == 3) {
    if (name == "sub") return kSub;
    if (name == "jti") return kJti;
    if (name == "sid") return kSid;
    if (name == "exp") return kExp;
    if (name == "iat") return kIat;
    if (name == "nbf") return kNbf;
    if (name == "iss") return kIss;
    if (name == "aud") return kAud;
  } else if (name == "type") {
    return kType;
  } else if (name == "fresh") {
    return kFresh;
  } else if (name == "csrf") {
    return kCsrf;
  }
  return 0;
}

bool ReadString(simdjson::dom::element value, std::string_view& out) {
  return !value.get(out) && !out.empty() && out.size() <= kMaxClaimBytes;
}

// A `sub` that could never name an account, or a `jti` or `sid` that no issuer makes (a control
// character, NUL among them), is refused here, so that no endpoint passes it on to the store, the
// logs or the revocation set (PostgreSQL cannot hold a NUL in text: a signed `sid` with one was
// a 500, attacker round 17). Other names outside the registration rules stay: accounts imported
// from Flask may have them.
bool ReadIdentifier(simdjson::dom::element value, std::string_view& out) {
  return ReadString(value, out) && std::none_of(out.begin(), out.end(), [](char c) {
           const auto byte = static_cast<unsigned char>(c);
           return byte < 0x20 || byte == 0x7F;
         });
}

// NumericDate (RFC 7519 §2) may be fractional; anything else, or absurd values, is refused.
bool ReadTime(simdjson::dom::element value, int64_t& out) {
  double number = 0;
  if (!value.is_number() || value.get_double().get(number)) return false;
  if (!std::isfinite(number) || number < 0 || number > 1e13) return false;
  out = static_cast<int64_t>(number);
  return true;
}

// RFC 7519 §4.1.3: `aud` is a string or an array of strings, one of which must be ours.
bool HasAudience(simdjson::dom::element aud, std::string_view audience) {
  std::string_view one;
  if (!aud.get(one)) return one == audience;
  simdjson::dom::array many;
  if (aud.get(many)) return false;
  return std::any_of(many.begin(), many.end(), [&](simdjson::dom::element item) {
    return !item.get(one) && one == audience;
  });
}

// Strings are views into this thread's parse until ParseClaims copies them out.
struct ClaimStrings {
  std::string_view sub, type, jti, sid, csrf;
};

bool ReadClaim(unsigned bit, simdjson::dom::element value, const TokenLifetimes& policy,
               ClaimStrings& strings, Claims& out, int64_t& nbf) {
  std::string_view iss;
  switch (bit) {
    case kSub:
      return ReadIdentifier(value, strings.sub);
    case kType:
      return ReadString(value, strings.type);
    case kJti:
      return ReadIdentifier(value, strings.jti);
    case kSid:
      return ReadIdentifier(value, strings.sid);
    case kCsrf:
      return ReadString(value, strings.csrf);
    case kExp:
      return ReadTime(value, out.exp);
    case kIat:
      return ReadTime(value, out.iat);
    case kNbf:
      return ReadTime(value, nbf);
    case kFresh:  // Flask-JWT-Extended may write a time until which the token is fresh
      return !value.get(out.fresh) || value.is_number();
    case kIss:
      return policy.issuer.empty() || (!value.get(iss) && iss == policy.issuer);
    case kAud:
      return policy.audience.empty() || HasAudience(value, policy.audience);
    default:
      return true;
  }
}

// One pass over the payload's members. The verifier has just parsed the same payload on this
// thread, so ParseJsonObject hands back that parse instead of parsing again. `csrf` is a view
// into that parse (empty when the claim is absent), valid until this thread parses again.
Result<Claims> ParseClaims(std::string_view payload, int64_t& nbf, const TokenLifetimes& policy,
                           std::string_view& csrf) {
  simdjson::dom::object claims;
  if (!ParseJsonObject(payload, claims)) return ErrorCode::kInvalidToken;
  Claims out;
  ClaimStrings strings;
  unsigned seen = 0;
  for (const simdjson::dom::key_value_pair claim : claims) {
    const unsigned bit = ClaimBitOf(claim.key);
    if (bit == 0) continue;
    if ((seen & bit) != 0 || !ReadClaim(bit, claim.value, policy, strings, out, nbf)) {
      return ErrorCode::kInvalidToken;
    }
    seen |= bit;
  }
  constexpr unsigned kRequired = kSub | kType | kJti | kExp;
  if ((seen & kRequired) != kRequired || (!policy.issuer.empty() && (seen & kIss) == 0) ||
      (!policy.audience.empty() && (seen & kAud) == 0)) {
    return ErrorCode::kInvalidToken;
  }
  const std::string_view type = strings.type;
  if (type == "access") {
    out.type = TokenType::kAccess;
  } else if (type == "refresh") {
    out.type = TokenType::kRefresh;
  } else {
    return ErrorCode::kInvalidToken;
  }
  out.sub = strings.sub;
  out.jti = strings.jti;
  out.sid = strings.sid;
  csrf = strings.csrf;
  return out;
}

// Random bytes for identifiers, taken from a per-thread block that is refilled from the kernel
// 4 KiB at a time: one getrandom call per 256 identifiers instead of one per token (the call
// and the kernel's per-call setup were 2% of a refresh). Bytes handed out are wiped from the
// block, so a later memory disclosure does not reveal identifiers already issued.
void IdentifierRandomBytes(unsigned char* out, std::size_t size) {
  thread_local std::array<unsigned char, 4096> block;
  thread_local std::size_t used = block.size();
  if (block.size() - used < size) {
    randombytes_buf(block.data(), block.size());
    used = 0;
  }
  std::memcpy(out, block.data() + used, size);
  sodium_memzero(block.data() + used, size);
  used += size;
}

// A user-wide revocation at `cut` covers the tokens issued in earlier seconds; those of second
// `cut` itself go by their session's sid (store::Store::RevokeUserTokens). A token without a
// sid (made by the Flask service) cannot be named that way, so for it the cut covers its own
// second as well: no sid-less token is minted here after a cut in that second.
// Constant time over the bytes compared: the header is a secret the page holds.
bool SameSecret(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A retired key's token must say when it was issued, and that must be before the key retired.
bool IsWithin(const Claims& claims, const IssueBound& bound) {
  if (!bound.bounded()) return true;
  return claims.iat > 0 && claims.iat <= bound.issued_until;
}

bool IsBeforeUserCut(const Claims& claims, int64_t cut) {
  return claims.iat < cut || (claims.sid.empty() && claims.iat == cut && cut != 0);
}

}  // namespace

std::string NewUuid() {
  unsigned char bytes[16];
  IdentifierRandomBytes(bytes, sizeof bytes);
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

TokenService::TokenService(std::shared_ptr<const Keyring> keyring, TokenLifetimes lifetimes,
                           RevocationSet& revocations, Clock clock)
    : keyring_(std::move(keyring)),
      lifetimes_(std::move(lifetimes)),
      revocations_(revocations),
      clock_(std::move(clock)) {}

TokenService::TokenService(std::string_view secret, TokenLifetimes lifetimes,
                           RevocationSet& revocations, Clock clock)
    : TokenService(Keyring::Open({Algorithm::kHS256, std::string(secret), {}, {}, 0}, 0).value(),
                   std::move(lifetimes), revocations, std::move(clock)) {}

IssuedToken TokenService::Sign(std::string_view username, TokenType type, bool fresh,
                               std::string_view sid, int64_t issued_at, int64_t now,
                               std::string_view given_jti, int64_t exp,
                               std::string_view extra_claims) const {
  const bool access = type == TokenType::kAccess;
  const std::string jti = given_jti.empty() ? NewUuid() : std::string(given_jti);
  const int64_t ttl = access ? lifetimes_.access_seconds : lifetimes_.refresh_seconds;
  JsonObjectWriter payload;
  payload.Add("fresh", fresh)
      .Add("iat", issued_at)
      .Add("jti", jti)
      .Add("type", access ? "access" : "refresh")
      .Add("sub", username)
      .Add("nbf", now)
      .Add("exp", exp != 0 ? exp : now + ttl);
  // A refresh token minted by the Flask service has no session; its access tokens have none.
  if (!sid.empty()) payload.Add("sid", sid);
  if (!lifetimes_.issuer.empty()) payload.Add("iss", lifetimes_.issuer);
  if (!lifetimes_.audience.empty()) payload.Add("aud", lifetimes_.audience);
  std::string csrf;
  if (lifetimes_.locations.cookies) {
    csrf = NewUuid();
    payload.Add("csrf", csrf);
  }
  std::string text = payload.Finish();
  // The user's claims are a checked compact object with no reserved name ("{...}"): its
  // members join ours, as Flask-JWT-Extended's additional_claims do.
  if (extra_claims.size() > 2) {
    text.back() = ',';
    text.append(extra_claims.substr(1));
  }
  return {keyring_->Sign(text), std::move(csrf)};
}

store::SessionRecord TokenService::NewSession(std::string_view username,
                                              const store::SessionUse& use) const {
  const int64_t now = clock_();
  return {NewUuid(),
          std::string(username),
          now,
          now + lifetimes_.refresh_seconds,
          now,
          use.client_address,
          use.user_agent,
          NewUuid(),
          0};
}

TokenPair TokenService::IssuePair(const store::SessionRecord& session,
                                  std::string_view extra_claims) const {
  const int64_t at = session.created_at;
  return Pair(
      Sign(session.username, TokenType::kAccess, true, session.sid, at, at, {}, 0, extra_claims),
      Sign(session.username, TokenType::kRefresh, false, session.sid, at, at, session.refresh_jti));
}

TokenPair TokenService::IssueRotated(const Claims& refresh, std::string_view refresh_jti,
                                     std::string_view extra_claims) const {
  const int64_t now = clock_();
  return Pair(
      Sign(refresh.sub, TokenType::kAccess, false, refresh.sid, now, now, {}, 0, extra_claims),
      Sign(refresh.sub, TokenType::kRefresh, false, refresh.sid, now, now, refresh_jti,
           refresh.exp));
}

std::string TokenService::IssueAccess(std::string_view username, std::string_view sid, bool fresh) {
  const int64_t now = clock_();
  return Sign(username, TokenType::kAccess, fresh, sid, now, now).token;
}

IssuedToken TokenService::IssueRefreshedToken(const Claims& refresh,
                                              std::string_view extra_claims) const {
  const bool recorded = !refresh.sid.empty() && refresh.iat >= sessions_recorded_since_;
  // nbf stays now: only the revocation check reads iat, and a verifier refuses a future iat.
  const int64_t now = clock_();
  return Sign(refresh.sub, TokenType::kAccess, false, refresh.sid, recorded ? now : refresh.iat,
              now, {}, 0, extra_claims);
}

Result<Claims> TokenService::Verify(std::string_view token, TokenType expected) const {
  return Check(token, expected);
}

Result<LocatedToken> TokenService::Locate(const BearerInput& input, TokenType expected) const {
  const TokenLocations& locations = lifetimes_.locations;
  if (locations.headers) {
    auto token = BearerToken(input.authorization);
    if (token) return LocatedToken{*token, false};
    if (!locations.cookies) return token.error();
  }
  const bool access = expected == TokenType::kAccess;
  const std::string_view cookie =
      FindCookie(input.cookies, access ? kAccessCookie : kRefreshCookie);
  if (cookie.empty()) {
    if (locations.headers) return ErrorCode::kMissingToken;
    Error missing(ErrorCode::kMissingCookie);
    missing.field = access ? kAccessCookie : kRefreshCookie;
    return missing;
  }
  if (input.state_changing && input.csrf_header.empty()) return ErrorCode::kMissingCsrf;
  return LocatedToken{cookie, true};
}

Result<Claims> TokenService::VerifyBearer(const BearerInput& input, TokenType expected,
                                          bool* unfollowed) const {
  auto located = Locate(input, expected);
  if (!located) return located.error();
  const bool double_submit = located->from_cookie && input.state_changing;
  return Check(located->token, expected, double_submit ? &input.csrf_header : nullptr, unfollowed);
}

Result<Claims> TokenService::VerifyAnyType(std::string_view token) const {
  return Check(token, std::nullopt);
}

Result<Claims> TokenService::Check(std::string_view token, std::optional<TokenType> expected,
                                   const std::string_view* csrf, bool* unfollowed) const {
  // Reused: the decoded payload then costs no allocation once the thread has seen a token.
  thread_local std::string payload;
  IssueBound bound;
  if (Status status = keyring_->Verify(token, payload, bound); !status) return status.error();
  int64_t nbf = 0;
  std::string_view csrf_claim;
  Result<Claims> claims = ParseClaims(payload, nbf, lifetimes_, csrf_claim);
  if (!claims) return claims;
  if (!IsWithin(*claims, bound)) return ErrorCode::kInvalidToken;
  const int64_t now = clock_();
  if (now >= claims->exp) return ErrorCode::kTokenExpired;
  if (nbf > now + kNotBeforeLeewaySeconds) return ErrorCode::kTokenNotYetValid;
  if (expected && claims->type != *expected) {
    return *expected == TokenType::kRefresh ? ErrorCode::kNeedRefreshToken
                                            : ErrorCode::kNeedAccessToken;
  }
  claims->sub_key = store::UsernameKey(claims->sub);
  // Double submit (Flask-JWT-Extended's order: after the signature and times, before
  // revocation). A token without the claim never matches.
  if (csrf != nullptr && !SameSecret(csrf_claim, *csrf)) return ErrorCode::kCsrfMismatch;
  if (revocations_.IsRevoked(claims->jti) ||
      (!claims->sid.empty() && revocations_.IsRevoked(claims->sid)) ||
      IsBeforeUserCut(*claims, revocations_.UserRevokedBefore(claims->sub_key.str()))) {
    return ErrorCode::kTokenRevoked;
  }
  // Cut off from the other writers' revocations: a token revoked elsewhere would pass here.
  if (!revocations_.IsFollowing()) {
    if (unfollowed == nullptr) return ErrorCode::kStorageUnavailable;
    *unfollowed = true;
  }
  return claims;
}

Result<std::string_view> TokenService::BearerToken(std::string_view authorization) {
  // RFC 6750 §2.1: the scheme is case-insensitive; one space, then the token.
  if (authorization.size() < 7 || strncasecmp(authorization.data(), "Bearer ", 7) != 0) {
    return ErrorCode::kMissingToken;
  }
  std::string_view token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return ErrorCode::kMissingToken;
  return token;
}

}  // namespace gatehouse::auth
