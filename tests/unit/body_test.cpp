#include "http/body.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::http {
namespace {

using std::string_literals::operator""s;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

const std::vector<std::string_view> kUserPass = {"username", "password"};

// Decodes `body` and returns the error it fails with; fails the test if it succeeds.
Error DecodeError(std::string_view content_type, std::string_view body,
                  const std::vector<std::string_view>& wanted = kUserPass) {
  Result<Fields> result = DecodeFields(content_type, body, wanted);
  EXPECT_FALSE(result.ok()) << "body unexpectedly accepted: " << body;
  if (result.ok()) return Error{ErrorCode::kStorageFailure, "<accepted>"};
  return result.error();
}

// Decodes `body` and returns the fields; fails the test on an error.
Fields DecodeOk(std::string_view content_type, std::string_view body,
                const std::vector<std::string_view>& wanted = kUserPass) {
  Result<Fields> result = DecodeFields(content_type, body, wanted);
  EXPECT_TRUE(result.ok()) << "body refused (code " << static_cast<int>(result.error().code)
                           << ", detail '" << result.error().detail << "'): " << body;
  if (!result.ok()) return Fields(wanted.size(), std::string("<refused>"));
  return std::move(result).value();
}

// `depth` nested objects under the key "x" of a top-level object: depth 1 is "{}".
std::string NestedObjects(int depth) {
  std::string out;
  for (int i = 1; i < depth; ++i) out += "{\"x\":";
  out += "{}";
  for (int i = 1; i < depth; ++i) out += "}";
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(DecodeJson, ReturnsWantedFieldsInTheOrderAsked) {
  const Fields fields =
      DecodeOk(kJson, R"({"password":"s3cret-pass","username":"alice"})", kUserPass);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
  EXPECT_EQ(fields[1], std::optional<std::string>("s3cret-pass"));
}

TEST(DecodeJson, OrderFollowsWantedListNotBody) {
  const Fields fields =
      DecodeOk(kJson, R"({"username":"alice","password":"pw"})", {"password", "username"});
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], std::optional<std::string>("pw"));
  EXPECT_EQ(fields[1], std::optional<std::string>("alice"));
}

TEST(DecodeJson, AbsentWantedFieldIsNullopt) {
  const Fields fields = DecodeOk(kJson, R"({"username":"alice"})");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
  EXPECT_EQ(fields[1], std::nullopt);
}

TEST(DecodeJson, EmptyObjectGivesAllNullopt) {
  const Fields fields = DecodeOk(kJson, "{}");
  EXPECT_EQ(fields, Fields(2, std::nullopt));
}

TEST(DecodeJson, EmptyStringValueIsReturnedAsEmptyNotNullopt) {
  const Fields fields = DecodeOk(kJson, R"({"username":"","password":"x"})");
  EXPECT_EQ(fields[0], std::optional<std::string>(""));
}

TEST(DecodeJson, UnknownFieldsOfEveryTypeAreIgnored) {
  const Fields fields = DecodeOk(kJson, R"({"n":1,"f":-2.5e3,"t":true,"z":null,"s":"str",)"
                                        R"("a":[1,"two",{"three":3}],"o":{"k":[null]},)"
                                        R"("username":"bob","password":"pw12345678"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("bob"));
  EXPECT_EQ(fields[1], std::optional<std::string>("pw12345678"));
}

TEST(DecodeJson, WantedNamesInsideNestedObjectsAreNotTakenAsTopLevelFields) {
  const Fields fields =
      DecodeOk(kJson, R"({"outer":{"username":"evil","password":"evil"},"username":"good"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("good"));
  EXPECT_EQ(fields[1], std::nullopt);
}

TEST(DecodeJson, WantedNameAsStringInsideNestedArrayIsIgnored) {
  const Fields fields = DecodeOk(kJson, R"({"list":["username","password"]})");
  EXPECT_EQ(fields, Fields(2, std::nullopt));
}

TEST(DecodeJson, EscapesInValuesAreDecoded) {
  const Fields fields =
      DecodeOk(kJson, R"({"username":"a\"b\\c\/d\n\u00e9\ud83d\ude00","password":"p"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("a\"b\\c/d\n\xC3\xA9\xF0\x9F\x98\x80"));
}

TEST(DecodeJson, RawUtf8ValueIsKept) {
  const Fields fields = DecodeOk(kJson, "{\"username\":\"J\xC3\xBCrgen\xE2\x82\xAC\"}");
  EXPECT_EQ(fields[0], std::optional<std::string>("J\xC3\xBCrgen\xE2\x82\xAC"));
}

TEST(DecodeJson, WhitespaceAroundTokensIsAccepted) {
  const Fields fields =
      DecodeOk(kJson, " \n\t{ \"username\" : \"alice\" ,\r\n\"password\":\"p\" } \n");
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
  EXPECT_EQ(fields[1], std::optional<std::string>("p"));
}

TEST(DecodeJson, DuplicateWantedKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"a","username":"b"})").code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, DuplicateUnknownTopLevelKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"x":1,"username":"a","x":2})").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, DuplicateKeySpelledWithEscapeIsMalformed) {
  // "\u0075sername" is "username": the comparison is on the decoded key.
  EXPECT_EQ(DecodeError(kJson, R"({"username":"a","\u0075sername":"b"})").code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, SameKeyInDifferentNestedObjectsIsAllowed) {
  const Fields fields =
      DecodeOk(kJson, R"({"a":{"k":1},"b":{"k":2},"username":"u"})", {"username"});
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, NumberForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"username":42})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "username: must be a string");
}

TEST(DecodeJson, FloatForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"password":1.5})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "password: must be a string");
}

TEST(DecodeJson, NegativeNumberForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"password":-7})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "password: must be a string");
}

TEST(DecodeJson, NullForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"username":null})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "username: must be a string");
}

TEST(DecodeJson, BoolForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"password":false})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "password: must be a string");
}

TEST(DecodeJson, ArrayForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"username":["alice"]})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "username: must be a string");
}

TEST(DecodeJson, ObjectForWantedFieldIsBadRequestMustBeString) {
  const Error error = DecodeError(kJson, R"({"password":{"value":"x"}})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "password: must be a string");
}

TEST(DecodeJson, EscapedNulInWantedFieldIsBadRequest) {
  const Error error = DecodeError(kJson, R"({"username":"ali\u0000ce"})");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "username: must not contain NUL bytes");
}

TEST(DecodeJson, EscapedNulInUnknownFieldIsIgnored) {
  const Fields fields = DecodeOk(kJson, R"({"note":"a\u0000b","username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, RawInvalidUtf8InStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\xFF\"}").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawInvalidUtf8InUnknownFieldIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"other\":\"\xC0\xAF\",\"username\":\"u\"}").code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawInvalidUtf8InKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"\xED\xA0\x80\":\"x\"}").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, LoneSurrogateEscapeIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"\ud800"})").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TopLevelArrayIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"([{"username":"a"}])").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TopLevelStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"("username")").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TopLevelNumberIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "42").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TopLevelNullIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "null").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, EmptyBodyIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, NestingAtExactlyMaxDepthIsAccepted) {
  const std::string body = R"({"username":"u","deep":)" + NestedObjects(kMaxJsonDepth - 1) + "}";
  const Fields fields = DecodeOk(kJson, body);
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, NestingOneBeyondMaxDepthIsMalformed) {
  const std::string body = R"({"username":"u","deep":)" + NestedObjects(kMaxJsonDepth) + "}";
  EXPECT_EQ(DecodeError(kJson, body).code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, ArrayNestingAtExactlyMaxDepthIsAccepted) {
  const std::string body = R"({"deep":)" + std::string(kMaxJsonDepth - 1, '[') +
                           std::string(kMaxJsonDepth - 1, ']') + R"(,"username":"u"})";
  const Fields fields = DecodeOk(kJson, body);
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, ArrayNestingOneBeyondMaxDepthIsMalformed) {
  const std::string body = R"({"deep":)" + std::string(kMaxJsonDepth, '[') +
                           std::string(kMaxJsonDepth, ']') + R"(,"username":"u"})";
  EXPECT_EQ(DecodeError(kJson, body).code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, VeryDeepNestingIsMalformedNotACrash) {
  const std::string body =
      R"({"deep":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(DecodeError(kJson, body).code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, HugeIntegersInIgnoredFieldsAreAccepted) {
  const Fields fields = DecodeOk(
      kJson,
      R"({"big":123456789012345678901234567890,"neg":-99999999999999999999999,"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, HugeFiniteFloatsInIgnoredFieldsAreAccepted) {
  const Fields fields = DecodeOk(kJson, R"({"f":1.7e308,"g":-1e-400,"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeJson, NumberBeyondDoubleRangeIsMalformed) {
  // RFC 8259 §6 lets implementations limit the range of numbers; one that no double can hold
  // is refused (issue 3: huge numbers answer 400), even in a field that would be ignored.
  EXPECT_EQ(DecodeError(kJson, R"({"exp":1e400,"username":"u"})").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TruncatedObjectIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"alice")").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TruncatedStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"ali)").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TrailingGarbageIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"alice"}x)").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, SecondTopLevelValueIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"a"}{"password":"b"})").code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, TrailingCommaIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"a",})").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, SingleQuotedStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{'username':'a'}").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawControlCharacterInStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\nb\"}").code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawNulByteAfterObjectIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\"}\0junk"s).code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawNulByteBetweenTwoObjectsIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\"}\0{\"password\":\"b\"}"s).code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawNulByteInsideObjectIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\",\0\"password\":\"b\"}"s).code,
            ErrorCode::kMalformedBody);
}

TEST(DecodeJson, RawNulByteInsideStringIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, "{\"username\":\"a\0b\"}"s).code, ErrorCode::kMalformedBody);
}

TEST(DecodeJson, CommentIsMalformed) {
  EXPECT_EQ(DecodeError(kJson, R"({"username":"a"} // hi)").code, ErrorCode::kMalformedBody);
}

// ---------------------------------------------------------------------------------------------
// Form

TEST(DecodeForm, ReturnsWantedFieldsInTheOrderAsked) {
  const Fields fields = DecodeOk(kForm, "password=pw12345678&username=alice");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
  EXPECT_EQ(fields[1], std::optional<std::string>("pw12345678"));
}

TEST(DecodeForm, AbsentWantedFieldIsNullopt) {
  const Fields fields = DecodeOk(kForm, "username=alice");
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
  EXPECT_EQ(fields[1], std::nullopt);
}

TEST(DecodeForm, EmptyBodyGivesAllNullopt) {
  EXPECT_EQ(DecodeOk(kForm, ""), Fields(2, std::nullopt));
}

TEST(DecodeForm, UnknownFieldsAreIgnored) {
  const Fields fields = DecodeOk(kForm, "a=1&username=u&b=%7B%7D&c");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
  EXPECT_EQ(fields[1], std::nullopt);
}

TEST(DecodeForm, PlusDecodesToSpace) {
  const Fields fields = DecodeOk(kForm, "password=a+b++c");
  EXPECT_EQ(fields[1], std::optional<std::string>("a b  c"));
}

TEST(DecodeForm, Percent2BDecodesToPlus) {
  const Fields fields = DecodeOk(kForm, "username=a%2Bb%2bc");
  EXPECT_EQ(fields[0], std::optional<std::string>("a+b+c"));
}

TEST(DecodeForm, PercentEscapesDecodeToBytes) {
  const Fields fields = DecodeOk(kForm, "username=%41%62%3D%26%25&password=%C3%A9");
  EXPECT_EQ(fields[0], std::optional<std::string>("Ab=&%"));
  EXPECT_EQ(fields[1], std::optional<std::string>("\xC3\xA9"));
}

TEST(DecodeForm, PercentEscapedKeyMatchesWantedName) {
  const Fields fields = DecodeOk(kForm, "user%6Eame=alice");
  EXPECT_EQ(fields[0], std::optional<std::string>("alice"));
}

TEST(DecodeForm, EscapeAtVeryEndOfValueIsDecoded) {
  const Fields fields = DecodeOk(kForm, "username=x%21");
  EXPECT_EQ(fields[0], std::optional<std::string>("x!"));
}

TEST(DecodeForm, LonePercentIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=%").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, PercentWithOneHexDigitIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=%4").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, PercentWithNonHexDigitsIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=%zz").code, ErrorCode::kMalformedBody);
}

// The body in a heap buffer of exactly its size, so that AddressSanitizer reports any read
// past its end (a std::string literal would leave a terminating NUL to read instead).
Error DecodeErrorExactBuffer(std::string_view content_type, std::string_view text) {
  const auto buffer = std::make_unique<char[]>(text.size());
  std::copy(text.begin(), text.end(), buffer.get());
  return DecodeError(content_type, std::string_view(buffer.get(), text.size()));
}

TEST(DecodeForm, PercentAtVeryEndOfBodyIsMalformedWithoutReadingPastIt) {
  EXPECT_EQ(DecodeErrorExactBuffer(kForm, "username=%").code, ErrorCode::kMalformedBody);
  EXPECT_EQ(DecodeErrorExactBuffer(kForm, "username=%4").code, ErrorCode::kMalformedBody);
  EXPECT_EQ(DecodeErrorExactBuffer(kForm, "username%4").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, BadPercentEscapeInKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "user%g0=x").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, BadPercentEscapeInUnknownFieldIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=u&other=%4").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, KeyWithoutEqualsHasEmptyValue) {
  const Fields fields = DecodeOk(kForm, "username&password=p");
  EXPECT_EQ(fields[0], std::optional<std::string>(""));
  EXPECT_EQ(fields[1], std::optional<std::string>("p"));
}

TEST(DecodeForm, KeyWithEqualsAndNothingAfterHasEmptyValue) {
  const Fields fields = DecodeOk(kForm, "username=");
  EXPECT_EQ(fields[0], std::optional<std::string>(""));
}

TEST(DecodeForm, ValueMayContainEquals) {
  const Fields fields = DecodeOk(kForm, "password=a=b=c");
  EXPECT_EQ(fields[1], std::optional<std::string>("a=b=c"));
}

TEST(DecodeForm, EmptySegmentsAreSkipped) {
  const Fields fields = DecodeOk(kForm, "&&username=u&&&password=p&");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
  EXPECT_EQ(fields[1], std::optional<std::string>("p"));
}

TEST(DecodeForm, DuplicateWantedKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=a&username=b").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, DuplicateUnknownKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "x=1&username=a&x=2").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, DuplicateKeyDifferentlyEncodedIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=a&%75sername=b").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, EncodedNulInWantedFieldIsBadRequest) {
  const Error error = DecodeError(kForm, "password=ab%00cd");
  EXPECT_EQ(error.code, ErrorCode::kBadRequest);
  EXPECT_EQ(error.detail, "password: must not contain NUL bytes");
}

TEST(DecodeForm, InvalidUtf8EscapeInValueIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=%FF").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, TruncatedUtf8EscapeInValueIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=%C3").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, RawInvalidUtf8InValueIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "username=a\xFE").code, ErrorCode::kMalformedBody);
}

TEST(DecodeForm, InvalidUtf8InKeyIsMalformed) {
  EXPECT_EQ(DecodeError(kForm, "%ED%A0%80=x").code, ErrorCode::kMalformedBody);
}

// ---------------------------------------------------------------------------------------------
// Content-Type

TEST(DecodeContentType, JsonMatchIsCaseInsensitive) {
  const Fields fields = DecodeOk("Application/JSON", R"({"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeContentType, JsonParametersAreIgnored) {
  const Fields fields = DecodeOk("application/json; charset=utf-8", R"({"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeContentType, JsonParametersWithoutSpaceAreIgnored) {
  const Fields fields = DecodeOk("application/json;charset=UTF-8", R"({"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeContentType, FormMatchIsCaseInsensitiveWithParameters) {
  const Fields fields = DecodeOk("APPLICATION/X-WWW-FORM-URLENCODED ; charset=utf-8", "username=u");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeContentType, SurroundingWhitespaceIsIgnored) {
  const Fields fields = DecodeOk("  application/json  ", R"({"username":"u"})");
  EXPECT_EQ(fields[0], std::optional<std::string>("u"));
}

TEST(DecodeContentType, JsonContentTypeMeansBodyIsParsedAsJsonNotForm) {
  EXPECT_EQ(DecodeError(kJson, "username=u").code, ErrorCode::kMalformedBody);
}

TEST(DecodeContentType, TextPlainIsUnsupportedMedia) {
  EXPECT_EQ(DecodeError("text/plain", R"({"username":"u"})").code, ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, MultipartFormDataIsUnsupportedMedia) {
  EXPECT_EQ(DecodeError("multipart/form-data; boundary=x", "--x--").code,
            ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, JsonPrefixedTypeIsUnsupportedMedia) {
  EXPECT_EQ(DecodeError("application/jsonx", R"({"username":"u"})").code,
            ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, TruncatedJsonTypeIsUnsupportedMedia) {
  EXPECT_EQ(DecodeError("application/jso", R"({"username":"u"})").code,
            ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, TextPlainWithEmptyBodyIsStillUnsupportedMedia) {
  EXPECT_EQ(DecodeError("text/plain", "").code, ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, NoContentTypeWithEmptyBodyGivesAllNullopt) {
  EXPECT_EQ(DecodeOk("", ""), Fields(2, std::nullopt));
}

TEST(DecodeContentType, NoContentTypeWithBodyIsUnsupportedMedia) {
  EXPECT_EQ(DecodeError("", "username=u").code, ErrorCode::kUnsupportedMedia);
}

TEST(DecodeContentType, EmptyWantedListGivesEmptyFields) {
  EXPECT_EQ(DecodeOk(kJson, R"({"username":"u"})", {}), Fields());
}

// ---------------------------------------------------------------------------------------------
// IsValidUtf8

TEST(IsValidUtf8, EmptyIsValid) { EXPECT_TRUE(IsValidUtf8("")); }

TEST(IsValidUtf8, AsciiIsValid) { EXPECT_TRUE(IsValidUtf8("hello, world ~\x7F")); }

TEST(IsValidUtf8, EmbeddedNulIsValidUtf8) { EXPECT_TRUE(IsValidUtf8("a\0b"s)); }

TEST(IsValidUtf8, TwoByteCharsAreValid) {
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));  // U+0080, smallest two-byte
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));  // é
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));  // U+07FF, largest two-byte
}

TEST(IsValidUtf8, ThreeByteCharsAreValid) {
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));  // U+0800, smallest three-byte
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));  // €
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));  // U+E000, just above the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));  // U+FFFF
}

TEST(IsValidUtf8, FourByteCharsAreValid) {
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000, smallest four-byte
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // 😀
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest code point
}

TEST(IsValidUtf8, MixedTextIsValid) {
  EXPECT_TRUE(IsValidUtf8("a\xC3\xA9z\xE2\x82\xAC!\xF0\x9F\x98\x80."));
}

TEST(IsValidUtf8, OverlongTwoByteIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));  // NUL
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/'
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));  // U+007F
}

TEST(IsValidUtf8, OverlongThreeByteIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));  // '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));  // U+07FF
}

TEST(IsValidUtf8, OverlongFourByteIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/'
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF
}

TEST(IsValidUtf8, SurrogatesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair for U+1F600
}

TEST(IsValidUtf8, AboveMaxCodePointIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF7\xBF\xBF\xBF"));
}

TEST(IsValidUtf8, FiveAndSixByteFormsAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFC\x84\x80\x80\x80\x80"));
}

TEST(IsValidUtf8, FeAndFfBytesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(IsValidUtf8, LoneContinuationByteIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("a\xBF"));
}

TEST(IsValidUtf8, TruncatedSequencesAreInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("abc\xF0"));
}

TEST(IsValidUtf8, TruncatedSequenceFollowedByAsciiIsInvalid) {
  EXPECT_FALSE(IsValidUtf8("\xE2\x82z"));
  EXPECT_FALSE(IsValidUtf8("\xC3 "));
}

TEST(IsValidUtf8, SequenceCutByNulIsInvalid) { EXPECT_FALSE(IsValidUtf8("\xC3\0"s)); }

}  // namespace
}  // namespace gatehouse::http
