#include "auth/json_object.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "auth/jws.hpp"
#include "auth/revocation_set.hpp"
#include "auth/token_service.hpp"

namespace gatehouse::auth {
namespace {

using std::string_view_literals::operator""sv;

bool IsObject(std::string_view text) {
  simdjson::dom::object object;
  return ParseJsonObject(text, object);
}

int64_t MemberA(std::string_view text) {
  simdjson::dom::object object;
  int64_t a = -1;
  if (!ParseJsonObject(text, object) || object["a"].get(a)) return -1;
  return a;
}

std::string Nested(std::size_t arrays) {
  return R"({"x":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

TEST(ParseJsonObjectTest, AcceptsObjectsWithJsonWhitespaceAround) {
  EXPECT_TRUE(IsObject("{}"));
  EXPECT_TRUE(IsObject(" \t\r\n{\"a\" :\n[1, {\"b\":null}]}\r\n "));
}

TEST(ParseJsonObjectTest, RefusesOtherRootValues) {
  for (const char* text : {"[]", "\"s\"", "1", "null", "true", "", " "}) {
    EXPECT_FALSE(IsObject(text)) << text;
  }
}

TEST(ParseJsonObjectTest, RefusesTrailingOrLeadingContent) {
  for (const char* text : {"{}x", "{}{}", "{} {}", "x{}", "\f{}", "{}\v", "\xef\xbb\xbf{}"}) {
    EXPECT_FALSE(IsObject(text)) << text;
  }
}

TEST(ParseJsonObjectTest, RefusesRawNulAnywhere) {
  EXPECT_FALSE(IsObject("{}\0"sv));
  EXPECT_FALSE(IsObject("\0{}"sv));
  EXPECT_FALSE(IsObject("{\"a\":\"\0\"}"sv));
  EXPECT_TRUE(IsObject(R"({"a":"\u0000"})"));  // an escaped NUL is a character like any other
}

TEST(ParseJsonObjectTest, RefusesInvalidUtf8AndLoneSurrogates) {
  for (const char* text : {"{\"a\":\"\xff\"}", "{\"a\":\"\xed\xa0\x80\"}", R"({"a":"\ud800"})",
                           R"({"a":"\udc00"})", R"({"a":"\ud800\u0041"})"}) {
    EXPECT_FALSE(IsObject(text)) << text;
  }
  EXPECT_TRUE(IsObject(R"({"a":"\ud83d\ude00","b":"é"})"));
}

TEST(ParseJsonObjectTest, RefusesMalformedMembers) {
  for (const char* text : {R"({"a":1,})", R"({"a":[1,]})", R"({'a':1})", R"({"a":01})",
                           R"({"a":1.})", R"({"a":.5})", R"({"a":+1})", R"({"a":NaN})",
                           R"({"a":tru})", R"({"a":"\x"})", "{\"a\":\"\x01\"}", R"({"a")"}) {
    EXPECT_FALSE(IsObject(text)) << text;
  }
}

TEST(ParseJsonObjectTest, RefusesNumbersOutsideInt64Uint64AndDouble) {
  EXPECT_TRUE(IsObject(R"({"a":18446744073709551615,"b":-9223372036854775808})"));
  EXPECT_TRUE(IsObject(R"({"a":1.7976931348623157e308,"b":1e-400})"));
  for (const char* text : {R"({"a":18446744073709551616})", R"({"a":-9223372036854775809})",
                           R"({"a":1e400})", R"({"a":-1e400})"}) {
    EXPECT_FALSE(IsObject(text)) << text;
  }
}

TEST(ParseJsonObjectTest, NestingDeeperThan1024LevelsRefused) {
  EXPECT_TRUE(IsObject(Nested(1023)));  // the object itself is the first level
  EXPECT_FALSE(IsObject(Nested(1024)));
}

TEST(ParseJsonObjectTest, SameBytesParsedAgainGiveTheSameObject) {
  EXPECT_EQ(MemberA(R"({"a":7})"), 7);
  EXPECT_EQ(MemberA(R"({"a":7})"), 7);
}

TEST(ParseJsonObjectTest, ABufferRewrittenInPlaceIsParsedAfresh) {
  std::string text = R"({"a":1})";
  EXPECT_EQ(MemberA(text), 1);
  text[5] = '2';
  EXPECT_EQ(MemberA(text), 2);
  text[5] = 'x';
  EXPECT_EQ(MemberA(text), -1);
}

TEST(ParseJsonObjectTest, AFailedParseForgetsThePreviousObject) {
  EXPECT_EQ(MemberA(R"({"a":3})"), 3);
  EXPECT_FALSE(IsObject("{"));
  EXPECT_EQ(MemberA(R"({"a":3})"), 3);
}

TEST(ParseJsonObjectTest, LargeTextAfterSmallOnesParses) {
  std::string text = R"({"a":5,"p":")" + std::string(20000, 'x') + "\"}";
  EXPECT_EQ(MemberA(R"({"a":4})"), 4);
  EXPECT_EQ(MemberA(text), 5);
  EXPECT_EQ(MemberA(R"({"a":6})"), 6);
}

// ---- duplicate claims, issuer and audience through TokenService ----------------------------

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1'700'000'000;

class ClaimStrictnessTest : public ::testing::Test {
 protected:
  // Our claims with `extra` members spliced in before the closing brace.
  static std::string Payload(std::string_view extra = "") {
    return R"({"fresh":true,"iat":1700000000,"jti":"6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d",)"
           R"("type":"access","sub":"alice","nbf":1700000000,"exp":1700000600)" +
           std::string(extra) + "}";
  }
  Result<Claims> Check(std::string_view payload, const TokenLifetimes& lifetimes = {}) {
    TokenService service(kSecret, lifetimes, revocations_, [] { return kNow; });
    return service.Verify(HmacKey(kSecret).Sign(payload), TokenType::kAccess);
  }
  ErrorCode CheckError(std::string_view payload, const TokenLifetimes& lifetimes = {}) {
    const Result<Claims> claims = Check(payload, lifetimes);
    EXPECT_FALSE(claims.ok()) << payload;
    return claims.ok() ? ErrorCode::kStorageFailure : claims.error().code;
  }
  static TokenLifetimes Policy(std::string issuer, std::string audience) {
    TokenLifetimes lifetimes;
    lifetimes.issuer = std::move(issuer);
    lifetimes.audience = std::move(audience);
    return lifetimes;
  }

  RevocationSet revocations_;
};

TEST_F(ClaimStrictnessTest, OurPayloadVerifies) {
  const Result<Claims> claims = Check(Payload(R"(,"sid":"s-1")"));
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->jti, "6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d");
  EXPECT_EQ(claims->sid, "s-1");
  EXPECT_TRUE(claims->fresh);
  EXPECT_EQ(claims->iat, kNow);
  EXPECT_EQ(claims->exp, kNow + 600);
}

TEST_F(ClaimStrictnessTest, RepeatedClaimThatIsReadIsInvalid) {
  for (const char* extra :
       {R"(,"sub":"mallory")", R"(,"type":"access")", R"(,"jti":"other")", R"(,"exp":1800000000)",
        R"(,"iat":1700000000)", R"(,"nbf":0)", R"(,"fresh":false)", R"(,"sid":"a","sid":"a")",
        R"(,"iss":"a","iss":"a")", R"(,"aud":"a","aud":"b")", R"(,"\u0065xp":1700000600)"}) {
    EXPECT_EQ(CheckError(Payload(extra)), ErrorCode::kInvalidToken) << extra;
  }
}

TEST_F(ClaimStrictnessTest, RepeatedUnknownClaimIsNotOurBusiness) {
  EXPECT_TRUE(Check(Payload(R"(,"x":1,"x":"two")")).ok());
}

TEST_F(ClaimStrictnessTest, RepeatedNameInsideANestedObjectIsNotAClaim) {
  EXPECT_TRUE(Check(Payload(R"(,"ctx":{"sub":"a","sub":"b"})")).ok());
}

TEST_F(ClaimStrictnessTest, IntegerBeyond64BitsInAnUnknownClaimIsInvalid) {
  EXPECT_EQ(CheckError(Payload(R"(,"big":123456789012345678901234567890)")),
            ErrorCode::kInvalidToken);
}

TEST_F(ClaimStrictnessTest, IssuerMustMatchWhenConfigured) {
  const TokenLifetimes policy = Policy("https://issuer", "");
  EXPECT_TRUE(Check(Payload(R"(,"iss":"https://issuer")"), policy).ok());
  for (const char* extra :
       {"", R"(,"iss":"https://other")", R"(,"iss":["https://issuer"])", R"(,"iss":null)"}) {
    EXPECT_EQ(CheckError(Payload(extra), policy), ErrorCode::kInvalidToken) << extra;
  }
}

TEST_F(ClaimStrictnessTest, AudienceMayBeAStringOrAnArrayHoldingOurs) {
  const TokenLifetimes policy = Policy("", "api");
  for (const char* extra : {R"(,"aud":"api")", R"(,"aud":["x","api"])", R"(,"aud":[1,"api"])"}) {
    EXPECT_TRUE(Check(Payload(extra), policy).ok()) << extra;
  }
  for (const char* extra : {"", R"(,"aud":"x")", R"(,"aud":[])", R"(,"aud":["x",["api"]])",
                            R"(,"aud":{"api":1})", R"(,"aud":null)"}) {
    EXPECT_EQ(CheckError(Payload(extra), policy), ErrorCode::kInvalidToken) << extra;
  }
}

TEST_F(ClaimStrictnessTest, IssuerAndAudienceIgnoredWhenNotConfigured) {
  EXPECT_TRUE(Check(Payload(R"(,"iss":7,"aud":{"x":1})")).ok());
}

TEST_F(ClaimStrictnessTest, FreshMayBeABooleanOrANumber) {
  const std::string base = Payload();
  const std::string no_fresh = base.substr(0, 1) + base.substr(base.find(',') + 1);
  ASSERT_EQ(no_fresh.find("fresh"), std::string::npos);
  const auto with_fresh = [&](std::string_view value) {
    return "{\"fresh\":" + std::string(value) + "," + no_fresh.substr(1);
  };
  // A number (Flask-JWT-Extended's "fresh until") is accepted but never counts as fresh.
  const auto numeric = Check(with_fresh("1700000300.5"));
  ASSERT_TRUE(numeric.ok());
  EXPECT_FALSE(numeric->fresh);
  const auto absent = Check(no_fresh);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->fresh);
  EXPECT_EQ(CheckError(with_fresh("\"true\"")), ErrorCode::kInvalidToken);
  EXPECT_EQ(CheckError(with_fresh("null")), ErrorCode::kInvalidToken);
}

}  // namespace
}  // namespace gatehouse::auth
