#include "auth/token_service.hpp"

#include <sodium.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/store.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::auth {
namespace {

// Bounds on claim strings: ours are 36-character UUIDs and usernames of at most 64 characters;
// the limits leave room for other issuers while keeping the revocation set's input small.
constexpr std::size_t kMaxClaimBytes = 256;

bool ReadString(const nlohmann::json& claims, const char* name, std::string& out, bool required) {
  const auto it = claims.find(name);
  if (it == claims.end()) return !required;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return !out.empty() && out.size() <= kMaxClaimBytes;
}

// NumericDate (RFC 7519 §2) may be fractional; anything else, or absurd values, is refused.
bool ReadTime(const nlohmann::json& claims, const char* name, int64_t& out, bool required) {
  const auto it = claims.find(name);
  if (it == claims.end()) return !required;
  if (!it->is_number()) return false;
  const double value = it->get<double>();
  if (!std::isfinite(value) || value < 0 || value > 1e13) return false;
  out = static_cast<int64_t>(value);
  return true;
}

// RFC 7519 §4.1.3: `aud` is a string or an array of strings, one of which must be ours.
bool HasAudience(const nlohmann::json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return *it == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const auto& item) { return item == audience; });
}

Result<Claims> ParseClaims(const std::string& payload, int64_t& nbf, const TokenLifetimes& policy) {
  const nlohmann::json claims = nlohmann::json::parse(payload, nullptr, /*exceptions=*/false);
  if (!claims.is_object()) return ErrorCode::kInvalidToken;
  if (!policy.issuer.empty()) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || *iss != policy.issuer) return ErrorCode::kInvalidToken;
  }
  if (!policy.audience.empty() && !HasAudience(claims, policy.audience)) {
    return ErrorCode::kInvalidToken;
  }
  Claims out;
  std::string type;
  if (!ReadString(claims, "sub", out.sub, true) || !ReadString(claims, "type", type, true) ||
      !ReadString(claims, "jti", out.jti, true) || !ReadString(claims, "sid", out.sid, false) ||
      !ReadTime(claims, "exp", out.exp, true) || !ReadTime(claims, "iat", out.iat, false) ||
      !ReadTime(claims, "nbf", nbf, false)) {
    return ErrorCode::kInvalidToken;
  }
  if (type == "access") {
    out.type = TokenType::kAccess;
  } else if (type == "refresh") {
    out.type = TokenType::kRefresh;
  } else {
    return ErrorCode::kInvalidToken;
  }
  // Flask-JWT-Extended may write `fresh` as a boolean or as a time until which it is fresh.
  const auto fresh = claims.find("fresh");
  if (fresh != claims.end()) {
    if (fresh->is_boolean()) {
      out.fresh = fresh->get<bool>();
    } else if (!fresh->is_number()) {
      return ErrorCode::kInvalidToken;
    }
  }
  return out;
}

}  // namespace

std::string NewUuid() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
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

std::string TokenService::Sign(std::string_view username, TokenType type, bool fresh,
                               std::string_view sid, int64_t now) const {
  const bool access = type == TokenType::kAccess;
  const std::string jti = NewUuid();
  const int64_t ttl = access ? lifetimes_.access_seconds : lifetimes_.refresh_seconds;
  JsonObjectWriter payload;
  payload.Add("fresh", fresh)
      .Add("iat", now)
      .Add("jti", jti)
      .Add("type", access ? "access" : "refresh")
      .Add("sub", username)
      .Add("nbf", now)
      .Add("exp", now + ttl);
  // A refresh token minted by the Flask service has no session; its access tokens have none.
  if (!sid.empty()) payload.Add("sid", sid);
  if (!lifetimes_.issuer.empty()) payload.Add("iss", lifetimes_.issuer);
  if (!lifetimes_.audience.empty()) payload.Add("aud", lifetimes_.audience);
  return keyring_->Sign(payload.Finish());
}

TokenPair TokenService::IssuePair(std::string_view username) {
  const int64_t not_before = revocations_.UserRevokedBefore(store::UsernameKey(username));
  // Bounded: revoked-before times are at most one second ahead of the clock that set them.
  for (int i = 0; i < 30 && clock_() < not_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int64_t now = std::max(clock_(), not_before);
  const std::string sid = NewUuid();
  return {Sign(username, TokenType::kAccess, true, sid, now),
          Sign(username, TokenType::kRefresh, false, sid, now)};
}

std::string TokenService::IssueAccess(std::string_view username, std::string_view sid, bool fresh) {
  return Sign(username, TokenType::kAccess, fresh, sid, clock_());
}

Result<Claims> TokenService::Verify(std::string_view token, TokenType expected) const {
  return Check(token, expected);
}

Result<Claims> TokenService::VerifyAnyType(std::string_view token) const {
  return Check(token, std::nullopt);
}

Result<Claims> TokenService::Check(std::string_view token,
                                   std::optional<TokenType> expected) const {
  std::string payload;
  if (Status status = keyring_->Verify(token, payload); !status) return status.error();
  int64_t nbf = 0;
  Result<Claims> claims = ParseClaims(payload, nbf, lifetimes_);
  if (!claims) return claims;
  const int64_t now = clock_();
  if (now >= claims->exp) return ErrorCode::kTokenExpired;
  if (nbf > now + kNotBeforeLeewaySeconds) return ErrorCode::kTokenNotYetValid;
  if (expected && claims->type != *expected) {
    return *expected == TokenType::kRefresh ? ErrorCode::kNeedRefreshToken
                                            : ErrorCode::kNeedAccessToken;
  }
  if (revocations_.IsRevoked(claims->jti) ||
      (!claims->sid.empty() && revocations_.IsRevoked(claims->sid)) ||
      claims->iat < revocations_.UserRevokedBefore(store::UsernameKey(claims->sub))) {
    return ErrorCode::kTokenRevoked;
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
