#include "auth/token_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "auth/jws.hpp"
#include "auth/passwords.hpp"
#include "auth/revocation_set.hpp"

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kOtherSecret = "fedcba9876543210fedcba9876543210";
constexpr int64_t kStart = 1'700'000'000;
constexpr int64_t kAccessTtl = 900;
constexpr int64_t kRefreshTtl = 86400;

// Field by field, so that fields added to TokenLifetimes later keep their defaults.
TokenLifetimes Lifetimes() {
  TokenLifetimes lifetimes;
  lifetimes.access_seconds = kAccessTtl;
  lifetimes.refresh_seconds = kRefreshTtl;
  return lifetimes;
}

// xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, lower-case hex, V one of 8 9 a b (RFC 4122 variant).
bool IsUuidV4(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return text[14] == '4' && std::string_view("89ab").find(text[19]) != std::string_view::npos;
}

std::string Segment(const std::string& token, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) begin = token.find('.', begin) + 1;
  const std::size_t end = token.find('.', begin);
  return token.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The JSON of segment `index` (0 header, 1 payload), decoded independently of TokenService.
Json DecodeSegment(const std::string& token, int index) {
  std::string json;
  EXPECT_TRUE(Base64UrlDecode(Segment(token, index), json)) << token;
  return Json::parse(json);
}

Json Payload(const std::string& token) { return DecodeSegment(token, 1); }

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto()); }

  // A token with an arbitrary payload, correctly signed with the service's secret.
  std::string SignCustom(const Json& payload, std::string_view secret = kSecret) const {
    HmacKey key(secret);
    return key.Sign(payload.dump());
  }

  // A well-formed payload as Flask-JWT-Extended 4 writes it (no sid).
  Json FlaskPayload(std::string_view type = "access") const {
    return Json{{"fresh", false},
                {"iat", now},
                {"jti", "6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d"},
                {"type", std::string(type)},
                {"sub", "alice"},
                {"nbf", now},
                {"exp", now + 600}};
  }

  ErrorCode VerifyError(const std::string& token, TokenType expected) const {
    const Result<Claims> claims = service.Verify(token, expected);
    EXPECT_FALSE(claims.ok()) << "token unexpectedly accepted: " << token;
    if (claims.ok()) return ErrorCode::kStorageFailure;
    return claims.error().code;
  }

  int64_t now = kStart;
  RevocationSet revocations;
  TokenService service{kSecret, Lifetimes(), revocations, [this] { return now; }};
};

// ---------------------------------------------------------------------------------------------
// Issuing

TEST_F(TokenServiceTest, HeaderIsHs256Jwt) {
  const TokenPair pair = service.IssuePair("alice");
  EXPECT_EQ(DecodeSegment(pair.access_token, 0), (Json{{"alg", "HS256"}, {"typ", "JWT"}}));
  EXPECT_EQ(DecodeSegment(pair.refresh_token, 0), (Json{{"alg", "HS256"}, {"typ", "JWT"}}));
}

TEST_F(TokenServiceTest, IssuePairAccessTokenHasFlaskClaims) {
  const Json claims = Payload(service.IssuePair("alice").access_token);
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["type"], "access");
  EXPECT_EQ(claims["fresh"], true);
  EXPECT_EQ(claims["iat"], kStart);
  EXPECT_EQ(claims["nbf"], kStart);
  EXPECT_EQ(claims["exp"], kStart + kAccessTtl);
  EXPECT_TRUE(IsUuidV4(claims["jti"].get<std::string>())) << claims["jti"];
  EXPECT_TRUE(IsUuidV4(claims["sid"].get<std::string>())) << claims["sid"];
}

TEST_F(TokenServiceTest, IssuePairRefreshTokenHasFlaskClaims) {
  const Json claims = Payload(service.IssuePair("alice").refresh_token);
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["type"], "refresh");
  EXPECT_EQ(claims["fresh"], false);
  EXPECT_EQ(claims["iat"], kStart);
  EXPECT_EQ(claims["nbf"], kStart);
  EXPECT_EQ(claims["exp"], kStart + kRefreshTtl);
  EXPECT_TRUE(IsUuidV4(claims["jti"].get<std::string>())) << claims["jti"];
  EXPECT_TRUE(IsUuidV4(claims["sid"].get<std::string>())) << claims["sid"];
}

TEST_F(TokenServiceTest, IssuePairClaimNumbersAreIntegers) {
  const Json claims = Payload(service.IssuePair("alice").access_token);
  EXPECT_TRUE(claims["iat"].is_number_integer());
  EXPECT_TRUE(claims["nbf"].is_number_integer());
  EXPECT_TRUE(claims["exp"].is_number_integer());
}

TEST_F(TokenServiceTest, IssuePairHasExactlyTheFlaskClaimsPlusSid) {
  const Json claims = Payload(service.IssuePair("alice").access_token);
  std::set<std::string> names;
  for (const auto& [name, value] : claims.items()) names.insert(name);
  EXPECT_EQ(names,
            (std::set<std::string>{"exp", "fresh", "iat", "jti", "nbf", "sid", "sub", "type"}));
}

TEST_F(TokenServiceTest, IssuePairUsesTheClockAtIssueTime) {
  now = kStart + 12345;
  const Json claims = Payload(service.IssuePair("alice").access_token);
  EXPECT_EQ(claims["iat"], kStart + 12345);
  EXPECT_EQ(claims["exp"], kStart + 12345 + kAccessTtl);
}

TEST_F(TokenServiceTest, IssuePairSharesSidBetweenAccessAndRefresh) {
  const TokenPair pair = service.IssuePair("alice");
  EXPECT_EQ(Payload(pair.access_token)["sid"], Payload(pair.refresh_token)["sid"]);
}

TEST_F(TokenServiceTest, IssuePairGivesAccessAndRefreshDifferentJti) {
  const TokenPair pair = service.IssuePair("alice");
  EXPECT_NE(Payload(pair.access_token)["jti"], Payload(pair.refresh_token)["jti"]);
}

TEST_F(TokenServiceTest, EachIssuePairStartsANewSession) {
  const TokenPair first = service.IssuePair("alice");
  const TokenPair second = service.IssuePair("alice");
  EXPECT_NE(Payload(first.access_token)["sid"], Payload(second.access_token)["sid"]);
  EXPECT_NE(Payload(first.access_token)["jti"], Payload(second.access_token)["jti"]);
}

TEST_F(TokenServiceTest, SubIsEscapedAsJson) {
  const Json claims = Payload(service.IssuePair("a\"b\\c").access_token);
  EXPECT_EQ(claims["sub"], "a\"b\\c");
}

TEST_F(TokenServiceTest, IssueAccessIsNotFreshAndKeepsSid) {
  const std::string sid = Payload(service.IssuePair("alice").refresh_token)["sid"];
  now = kStart + 60;
  const Json claims = Payload(service.IssueAccess("alice", sid, false));
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["type"], "access");
  EXPECT_EQ(claims["fresh"], false);
  EXPECT_EQ(claims["sid"], sid);
  EXPECT_EQ(claims["iat"], kStart + 60);
  EXPECT_EQ(claims["nbf"], kStart + 60);
  EXPECT_EQ(claims["exp"], kStart + 60 + kAccessTtl);
  EXPECT_TRUE(IsUuidV4(claims["jti"].get<std::string>())) << claims["jti"];
}

TEST_F(TokenServiceTest, IssueAccessFreshTrueIsWrittenAsTrue) {
  const Json claims = Payload(service.IssueAccess("alice", NewUuid(), true));
  EXPECT_EQ(claims["fresh"], true);
}

TEST_F(TokenServiceTest, IssueAccessWithoutSidOmitsTheClaim) {
  const Json claims = Payload(service.IssueAccess("alice", "", false));
  EXPECT_FALSE(claims.contains("sid")) << claims.dump();
}

TEST_F(TokenServiceTest, IssueRefreshedOfARecordedSessionIsIssuedNowInItsSession) {
  const std::string refresh = service.IssuePair("alice").refresh_token;
  now = kStart + 100;
  const Result<Claims> claims = service.Verify(refresh, TokenType::kRefresh);
  ASSERT_TRUE(claims.ok());
  const Json minted = Payload(service.IssueRefreshed(*claims));
  EXPECT_EQ(minted["iat"], kStart + 100);
  EXPECT_EQ(minted["nbf"], kStart + 100);
  EXPECT_EQ(minted["sid"], claims->sid);
  EXPECT_EQ(minted["fresh"], false);
  EXPECT_EQ(minted["type"], "access");
}

TEST_F(TokenServiceTest, IssueRefreshedOfAnUnrecordedSessionKeepsTheRefreshTokensIat) {
  // Issued before the store recorded sessions: a logout-everywhere cannot name its session,
  // so what it mints must fall to the same time-based revocation as the refresh token itself.
  const std::string refresh = service.IssuePair("alice").refresh_token;
  service.SetSessionsRecordedSince(kStart + 1);
  now = kStart + 100;
  const Result<Claims> claims = service.Verify(refresh, TokenType::kRefresh);
  ASSERT_TRUE(claims.ok());
  const std::string minted = service.IssueRefreshed(*claims);
  EXPECT_EQ(Payload(minted)["iat"], kStart);
  EXPECT_EQ(Payload(minted)["nbf"], kStart + 100);
  EXPECT_EQ(Payload(minted)["exp"], kStart + 100 + kAccessTtl);
  revocations.RevokeUserBefore("alice", kStart + 100);
  EXPECT_EQ(VerifyError(minted, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, IssueRefreshedOfAFlaskRefreshTokenWithoutSidKeepsItsIat) {
  Claims flask{"alice", TokenType::kRefresh, false, NewUuid(), "", kStart - 50, kStart + 1000, {}};
  const Json minted = Payload(service.IssueRefreshed(flask));
  EXPECT_EQ(minted["iat"], kStart - 50);
  EXPECT_FALSE(minted.contains("sid"));
}

TEST_F(TokenServiceTest, IssueAccessGivesANewJtiEachTime) {
  const std::string sid = NewUuid();
  EXPECT_NE(Payload(service.IssueAccess("alice", sid, false))["jti"],
            Payload(service.IssueAccess("alice", sid, false))["jti"]);
}

TEST(IsUuidV4Helper, AcceptsOnlyCanonicalVersion4) {
  EXPECT_TRUE(IsUuidV4("6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d"));
  EXPECT_FALSE(IsUuidV4("6a4b8a4e-1f0e-3c7a-9d2b-3f5e6a7b8c9d"));  // version 3
  EXPECT_FALSE(IsUuidV4("6a4b8a4e-1f0e-4c7a-cd2b-3f5e6a7b8c9d"));  // variant c
  EXPECT_FALSE(IsUuidV4("6A4B8A4E-1F0E-4C7A-9D2B-3F5E6A7B8C9D"));  // upper case
  EXPECT_FALSE(IsUuidV4("6a4b8a4e1f0e4c7a9d2b3f5e6a7b8c9d"));      // no dashes
  EXPECT_FALSE(IsUuidV4("6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9"));   // short
  EXPECT_FALSE(IsUuidV4("6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9g"));  // not hex
}

TEST(NewUuid, IsCanonicalVersion4) {
  for (int i = 0; i < 64; ++i) {
    const std::string uuid = NewUuid();
    EXPECT_EQ(uuid.size(), 36u);
    EXPECT_TRUE(IsUuidV4(uuid)) << uuid;
  }
}

TEST(NewUuid, IsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewUuid());
  EXPECT_EQ(seen.size(), 1000u);
}

// ---------------------------------------------------------------------------------------------
// Verify: the good path

TEST_F(TokenServiceTest, VerifyAccessReturnsItsClaims) {
  const std::string token = service.IssuePair("alice").access_token;
  const Json payload = Payload(token);
  const Result<Claims> claims = service.Verify(token, TokenType::kAccess);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->type, TokenType::kAccess);
  EXPECT_TRUE(claims->fresh);
  EXPECT_EQ(claims->jti, payload["jti"]);
  EXPECT_EQ(claims->sid, payload["sid"]);
  EXPECT_EQ(claims->iat, kStart);
  EXPECT_EQ(claims->exp, kStart + kAccessTtl);
}

TEST_F(TokenServiceTest, VerifyRefreshReturnsItsClaims) {
  const std::string token = service.IssuePair("alice").refresh_token;
  const Json payload = Payload(token);
  const Result<Claims> claims = service.Verify(token, TokenType::kRefresh);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->type, TokenType::kRefresh);
  EXPECT_FALSE(claims->fresh);
  EXPECT_EQ(claims->jti, payload["jti"]);
  EXPECT_EQ(claims->sid, payload["sid"]);
  EXPECT_EQ(claims->exp, kStart + kRefreshTtl);
}

TEST_F(TokenServiceTest, VerifyRefreshedAccessIsNotFresh) {
  const std::string token = service.IssueAccess("alice", NewUuid(), false);
  const Result<Claims> claims = service.Verify(token, TokenType::kAccess);
  ASSERT_TRUE(claims.ok());
  EXPECT_FALSE(claims->fresh);
}

// ---------------------------------------------------------------------------------------------
// Verify: time

TEST_F(TokenServiceTest, VerifyOneSecondBeforeExpIsOk) {
  const std::string token = service.IssuePair("alice").access_token;
  now = kStart + kAccessTtl - 1;
  EXPECT_TRUE(service.Verify(token, TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, VerifyExactlyAtExpIsExpired) {
  const std::string token = service.IssuePair("alice").access_token;
  now = kStart + kAccessTtl;
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenExpired);
}

TEST_F(TokenServiceTest, VerifyLongAfterExpIsExpired) {
  const std::string token = service.IssuePair("alice").refresh_token;
  now = kStart + kRefreshTtl + 1'000'000;
  EXPECT_EQ(VerifyError(token, TokenType::kRefresh), ErrorCode::kTokenExpired);
}

TEST_F(TokenServiceTest, RefreshTokenOutlivesAccessToken) {
  const TokenPair pair = service.IssuePair("alice");
  now = kStart + kAccessTtl;
  EXPECT_EQ(VerifyError(pair.access_token, TokenType::kAccess), ErrorCode::kTokenExpired);
  EXPECT_TRUE(service.Verify(pair.refresh_token, TokenType::kRefresh).ok());
}

TEST_F(TokenServiceTest, ExpiredTakesPrecedenceOverWrongType) {
  const std::string token = service.IssuePair("alice").refresh_token;
  now = kStart + kRefreshTtl;
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenExpired);
}

TEST_F(TokenServiceTest, NbfElevenSecondsAheadIsNotYetValid) {
  const std::string token = service.IssuePair("alice").access_token;
  now = kStart - (kNotBeforeLeewaySeconds + 1);
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenNotYetValid);
}

TEST_F(TokenServiceTest, NbfExactlyTenSecondsAheadIsOk) {
  const std::string token = service.IssuePair("alice").access_token;
  now = kStart - kNotBeforeLeewaySeconds;
  EXPECT_TRUE(service.Verify(token, TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, NbfFarAheadInCustomTokenIsNotYetValid) {
  Json payload = FlaskPayload();
  payload["nbf"] = now + 300;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kTokenNotYetValid);
}

TEST_F(TokenServiceTest, FractionalExpIsAccepted) {
  Json payload = FlaskPayload();
  payload["exp"] = static_cast<double>(now) + 100.5;
  const Result<Claims> claims = service.Verify(SignCustom(payload), TokenType::kAccess);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_EQ(claims->exp, now + 100);
}

// ---------------------------------------------------------------------------------------------
// Verify: type

TEST_F(TokenServiceTest, RefreshTokenWhereAccessExpectedIsNeedAccessToken) {
  const std::string token = service.IssuePair("alice").refresh_token;
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kNeedAccessToken);
}

TEST_F(TokenServiceTest, AccessTokenWhereRefreshExpectedIsNeedRefreshToken) {
  const std::string token = service.IssuePair("alice").access_token;
  EXPECT_EQ(VerifyError(token, TokenType::kRefresh), ErrorCode::kNeedRefreshToken);
}

// ---------------------------------------------------------------------------------------------
// Verify: revocation

TEST_F(TokenServiceTest, RevokedJtiIsRevoked) {
  const std::string token = service.IssuePair("alice").access_token;
  revocations.Revoke(Payload(token)["jti"].get<std::string>(), kStart + kAccessTtl);
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, RevokingAccessJtiLeavesRefreshTokenValid) {
  const TokenPair pair = service.IssuePair("alice");
  revocations.Revoke(Payload(pair.access_token)["jti"].get<std::string>(), kStart + kAccessTtl);
  EXPECT_TRUE(service.Verify(pair.refresh_token, TokenType::kRefresh).ok());
}

TEST_F(TokenServiceTest, RevokedSidRevokesBothTokensOfTheSession) {
  const TokenPair pair = service.IssuePair("alice");
  const std::string sid = Payload(pair.refresh_token)["sid"];
  const std::string minted = service.IssueAccess("alice", sid, false);
  revocations.Revoke(sid, kStart + kRefreshTtl);
  EXPECT_EQ(VerifyError(pair.access_token, TokenType::kAccess), ErrorCode::kTokenRevoked);
  EXPECT_EQ(VerifyError(pair.refresh_token, TokenType::kRefresh), ErrorCode::kTokenRevoked);
  EXPECT_EQ(VerifyError(minted, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, RevokedSidLeavesOtherSessionsValid) {
  const TokenPair first = service.IssuePair("alice");
  const TokenPair second = service.IssuePair("alice");
  revocations.Revoke(Payload(first.refresh_token)["sid"].get<std::string>(), kStart + kRefreshTtl);
  EXPECT_TRUE(service.Verify(second.access_token, TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, UserRevokedAfterIssueRevokesToken) {
  const std::string token = service.IssuePair("alice").access_token;
  revocations.RevokeUserBefore("alice", kStart + 1);
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, UserRevokedBeforeEqualToIatKeepsToken) {
  const std::string token = service.IssuePair("alice").access_token;
  revocations.RevokeUserBefore("alice", kStart);
  EXPECT_TRUE(service.Verify(token, TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, UserRevokedBeforeEqualToIatRevokesATokenWithoutSid) {
  // A Flask-made token issued in the second of the cut: no sid can name it, so the cut does.
  const std::string token = SignCustom(FlaskPayload());
  ASSERT_TRUE(service.Verify(token, TokenType::kAccess).ok());
  revocations.RevokeUserBefore("alice", kStart);
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, AValidTokenIsStorageUnavailableWhileRevocationsAreNotFollowed) {
  const TokenPair pair = service.IssuePair("alice");
  revocations.RequireFollowing(1000);
  revocations.MarkFollowed(RevocationSet::CoarseMillis() - 5000);
  EXPECT_EQ(VerifyError(pair.access_token, TokenType::kAccess), ErrorCode::kStorageUnavailable);
  revocations.Revoke(Payload(pair.refresh_token)["sid"].get<std::string>(), kStart + kRefreshTtl);
  // What is known to be revoked is still said to be.
  EXPECT_EQ(VerifyError(pair.access_token, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, TokenIssuedAfterUserRevocationIsValid) {
  revocations.RevokeUserBefore("alice", kStart);
  now = kStart + 5;
  const std::string token = service.IssuePair("alice").access_token;
  EXPECT_TRUE(service.Verify(token, TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, IssuePairInTheSecondOfAUserRevocationNeverWaitsAndIsValid) {
  // Logout-everywhere at kStart revokes tokens issued before kStart (those of second kStart go
  // by their session's sid). With this clock frozen at kStart, a login must neither wait for a
  // tick (it would hang here) nor be caught by the revocation.
  revocations.RevokeUserBefore("alice", kStart);
  const TokenPair pair = service.IssuePair("alice");
  EXPECT_EQ(Payload(pair.access_token)["iat"], kStart);
  EXPECT_TRUE(service.Verify(pair.access_token, TokenType::kAccess).ok());
  EXPECT_TRUE(service.Verify(pair.refresh_token, TokenType::kRefresh).ok());
}

TEST_F(TokenServiceTest, NewSessionStartsNowAndEndsWithTheRefreshToken) {
  const store::SessionRecord session = service.NewSession("alice");
  EXPECT_EQ(session.username, "alice");
  EXPECT_EQ(session.created_at, kStart);
  EXPECT_EQ(session.expires_at, kStart + kRefreshTtl);
  const TokenPair pair = service.IssuePair(session);
  EXPECT_EQ(Payload(pair.access_token)["sid"], session.sid);
  EXPECT_EQ(Payload(pair.refresh_token)["exp"], session.expires_at);
}

TEST_F(TokenServiceTest, IssuePairIgnoresOtherUsersRevocations) {
  // With the clock frozen, waiting for bob's revocation would end with iat = kStart + 1.
  revocations.RevokeUserBefore("bob", kStart + 1);
  const TokenPair pair = service.IssuePair("alice");
  EXPECT_EQ(Payload(pair.access_token)["iat"], kStart);
}

TEST_F(TokenServiceTest, UserRevocationMatchesUsernameWithoutRegardToCase) {
  const std::string token = service.IssuePair("Alice").access_token;
  revocations.RevokeUserBefore("alice", kStart + 1);
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kTokenRevoked);
}

TEST_F(TokenServiceTest, UserRevocationLeavesOtherUsersValid) {
  const std::string token = service.IssuePair("bob").access_token;
  revocations.RevokeUserBefore("alice", kStart + 1);
  EXPECT_TRUE(service.Verify(token, TokenType::kAccess).ok());
}

// ---------------------------------------------------------------------------------------------
// Verify: shape, signature and claim types

TEST_F(TokenServiceTest, TokenSignedWithAnotherKeyIsInvalid) {
  RevocationSet other_revocations;
  TokenService other(kOtherSecret, Lifetimes(), other_revocations, [this] { return now; });
  const std::string token = other.IssuePair("alice").access_token;
  EXPECT_EQ(VerifyError(token, TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, TamperedPayloadIsInvalid) {
  const std::string token = service.IssuePair("alice").access_token;
  Json payload = Payload(token);
  payload["sub"] = "mallory";
  const std::string forged =
      Segment(token, 0) + "." + Base64UrlEncode(payload.dump()) + "." + Segment(token, 2);
  EXPECT_EQ(VerifyError(forged, TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, GarbageIsInvalid) {
  EXPECT_EQ(VerifyError("not-a-token", TokenType::kAccess), ErrorCode::kInvalidToken);
  EXPECT_EQ(VerifyError("", TokenType::kAccess), ErrorCode::kInvalidToken);
  EXPECT_EQ(VerifyError("a.b.c", TokenType::kAccess), ErrorCode::kInvalidToken);
}

// A sub no account can have is refused at the signature's level of trust, for both types.
TEST_F(TokenServiceTest, SubWithAControlCharacterIsInvalidToken) {
  for (const std::string& sub :
       {std::string("ali\0ce", 6), std::string("\0", 1), std::string("ali\nce"),
        std::string("ali\x1f"), std::string("ali\x7f")}) {
    for (const std::string_view type : {"access", "refresh"}) {
      Json payload = FlaskPayload(type);
      payload["sub"] = sub;
      const TokenType expected = type == "access" ? TokenType::kAccess : TokenType::kRefresh;
      EXPECT_EQ(VerifyError(SignCustom(payload), expected), ErrorCode::kInvalidToken) << sub;
      EXPECT_FALSE(service.VerifyAnyType(SignCustom(payload)).ok()) << sub;
    }
  }
}

TEST_F(TokenServiceTest, SubOutsideTheRegistrationRulesButPrintableVerifies) {
  // Names imported from the Flask service may break the registration rules.
  Json payload = FlaskPayload();
  payload["sub"] = "john doe " + std::string(100, 'x') + "\u00e9";
  EXPECT_TRUE(service.Verify(SignCustom(payload), TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, CustomPayloadWithCorrectClaimsVerifies) {
  // The control for the claim-type tests below: the same signing path, valid claims.
  EXPECT_TRUE(service.Verify(SignCustom(FlaskPayload()), TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, SubAsNumberIsInvalid) {
  Json payload = FlaskPayload();
  payload["sub"] = 42;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, SubMissingIsInvalid) {
  Json payload = FlaskPayload();
  payload.erase("sub");
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, SubEmptyIsInvalid) {
  Json payload = FlaskPayload();
  payload["sub"] = "";
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, SubLongerThan256BytesIsInvalid) {
  Json payload = FlaskPayload();
  payload["sub"] = std::string(257, 'a');
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, ExpAsStringIsInvalid) {
  Json payload = FlaskPayload();
  payload["exp"] = std::to_string(now + 600);
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, ExpMissingIsInvalid) {
  Json payload = FlaskPayload();
  payload.erase("exp");
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, ExpNegativeIsInvalid) {
  Json payload = FlaskPayload();
  payload["exp"] = -1;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, ExpAbsurdlyLargeIsInvalid) {
  Json payload = FlaskPayload();
  payload["exp"] = 1e300;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, IatAsStringIsInvalid) {
  Json payload = FlaskPayload();
  payload["iat"] = "yesterday";
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, NbfAsStringIsInvalid) {
  Json payload = FlaskPayload();
  payload["nbf"] = "now";
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, JtiMissingIsInvalid) {
  Json payload = FlaskPayload();
  payload.erase("jti");
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, JtiAsNumberIsInvalid) {
  Json payload = FlaskPayload();
  payload["jti"] = 7;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, TypeOtherIsInvalid) {
  EXPECT_EQ(VerifyError(SignCustom(FlaskPayload("other")), TokenType::kAccess),
            ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, TypeInUpperCaseIsInvalid) {
  EXPECT_EQ(VerifyError(SignCustom(FlaskPayload("ACCESS")), TokenType::kAccess),
            ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, TypeMissingIsInvalid) {
  Json payload = FlaskPayload();
  payload.erase("type");
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, SidEmptyStringIsInvalid) {
  Json payload = FlaskPayload();
  payload["sid"] = "";
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, SidAsNumberIsInvalid) {
  Json payload = FlaskPayload();
  payload["sid"] = 1;
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, FreshAsStringIsInvalid) {
  Json payload = FlaskPayload();
  payload["fresh"] = "true";
  EXPECT_EQ(VerifyError(SignCustom(payload), TokenType::kAccess), ErrorCode::kInvalidToken);
}

TEST_F(TokenServiceTest, PayloadArrayIsInvalid) {
  EXPECT_EQ(VerifyError(SignCustom(Json::array({FlaskPayload()})), TokenType::kAccess),
            ErrorCode::kInvalidToken);
}

// ---------------------------------------------------------------------------------------------
// Verify: tokens minted by Flask-JWT-Extended

TEST_F(TokenServiceTest, FlaskAccessTokenWithoutSidVerifies) {
  const Result<Claims> claims = service.Verify(SignCustom(FlaskPayload()), TokenType::kAccess);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->jti, "6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d");
  EXPECT_EQ(claims->sid, "");
  EXPECT_FALSE(claims->fresh);
}

TEST_F(TokenServiceTest, FlaskRefreshTokenWithoutSidVerifies) {
  const Result<Claims> claims =
      service.Verify(SignCustom(FlaskPayload("refresh")), TokenType::kRefresh);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_EQ(claims->type, TokenType::kRefresh);
  EXPECT_EQ(claims->sid, "");
}

TEST_F(TokenServiceTest, FlaskFreshAsTimestampVerifiesAsNotFresh) {
  Json payload = FlaskPayload();
  payload["fresh"] = now + 300;
  const Result<Claims> claims = service.Verify(SignCustom(payload), TokenType::kAccess);
  ASSERT_TRUE(claims.ok()) << static_cast<int>(claims.error().code);
  EXPECT_FALSE(claims->fresh);
}

TEST_F(TokenServiceTest, FlaskTokenWithExtraClaimsVerifies) {
  Json payload = FlaskPayload();
  payload["csrf"] = "abc";
  payload["user_claims"] = Json::object();
  EXPECT_TRUE(service.Verify(SignCustom(payload), TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, FlaskTokenWithoutIatNbfVerifies) {
  Json payload = FlaskPayload();
  payload.erase("iat");
  payload.erase("nbf");
  EXPECT_TRUE(service.Verify(SignCustom(payload), TokenType::kAccess).ok());
}

TEST_F(TokenServiceTest, RevokedFlaskJtiIsRevoked) {
  revocations.Revoke("6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d", now + 600);
  EXPECT_EQ(VerifyError(SignCustom(FlaskPayload()), TokenType::kAccess), ErrorCode::kTokenRevoked);
}

// ---------------------------------------------------------------------------------------------
// BearerToken

TEST(BearerToken, BearerSchemeGivesToken) {
  const Result<std::string_view> token = TokenService::BearerToken("Bearer x");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "x");
}

TEST(BearerToken, SchemeIsCaseInsensitive) {
  const Result<std::string_view> token = TokenService::BearerToken("bearer x");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "x");
  const Result<std::string_view> upper = TokenService::BearerToken("BEARER abc.def.ghi");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, "abc.def.ghi");
}

TEST(BearerToken, SchemeWithoutTokenIsMissing) {
  const Result<std::string_view> token = TokenService::BearerToken("Bearer");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kMissingToken);
}

TEST(BearerToken, SchemeWithOnlySpacesIsMissing) {
  const Result<std::string_view> token = TokenService::BearerToken("Bearer    ");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kMissingToken);
}

TEST(BearerToken, BasicSchemeIsMissing) {
  const Result<std::string_view> token = TokenService::BearerToken("Basic x");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kMissingToken);
}

TEST(BearerToken, EmptyHeaderIsMissing) {
  const Result<std::string_view> token = TokenService::BearerToken("");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kMissingToken);
}

TEST(BearerToken, SchemeGluedToTokenIsMissing) {
  const Result<std::string_view> token = TokenService::BearerToken("Bearerx.y.z");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kMissingToken);
}

TEST(BearerToken, ExtraSpacesAroundTokenAreTrimmed) {
  const Result<std::string_view> token = TokenService::BearerToken("Bearer   x  ");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "x");
}

}  // namespace
}  // namespace gatehouse::auth
