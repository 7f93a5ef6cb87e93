#include "auth/jws.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <latch>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::auth {
namespace {

using std::string_view_literals::operator""sv;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kOurHeaderB64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

constexpr std::string_view kRfcKeyB64 =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr std::string_view kRfcHeader = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
constexpr std::string_view kRfcPayload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
constexpr std::string_view kRfcSignature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kRfcToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// Independent of the code under test: OpenSSL's one-shot HMAC.
std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// Appends a correct HS256 signature to any signing input, so a rejection cannot be blamed on
// the signature.
std::string SignInput(std::string_view signing_input, std::string_view key = kSecret) {
  return std::string(signing_input) + "." + Base64UrlEncode(HmacSha256(key, signing_input));
}

std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                      std::string_view key = kSecret) {
  return SignInput(Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json), key);
}

std::string RfcKey() {
  std::string key;
  EXPECT_TRUE(Base64UrlDecode(kRfcKeyB64, key));
  return key;
}

bool Decodes(std::string_view text) {
  std::string out;
  return Base64UrlDecode(text, out);
}

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, DecodesRfc4648Vectors) {
  const std::array<std::pair<std::string_view, std::string_view>, 7> vectors = {{
      {"", ""},
      {"Zg", "f"},
      {"Zm8", "fo"},
      {"Zm9v", "foo"},
      {"Zm9vYg", "foob"},
      {"Zm9vYmE", "fooba"},
      {"Zm9vYmFy", "foobar"},
  }};
  for (const auto& [text, bytes] : vectors) {
    std::string out = "previous contents";
    ASSERT_TRUE(Base64UrlDecode(text, out)) << text;
    EXPECT_EQ(out, bytes);
  }
}

TEST(Base64UrlTest, UsesUrlSafeAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string out;
  ASSERT_TRUE(Base64UrlDecode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
}

TEST(Base64UrlTest, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= bytes.size(); ++len) {
    std::string out;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(bytes.substr(0, len)), out));
    EXPECT_EQ(out, bytes.substr(0, len));
  }
}

TEST(Base64UrlTest, RejectsPadding) {
  EXPECT_FALSE(Decodes("Zg=="));
  EXPECT_FALSE(Decodes("Zm8="));
  EXPECT_FALSE(Decodes("Zg="));
  EXPECT_FALSE(Decodes("===="));
}

TEST(Base64UrlTest, RejectsStandardAlphabetCharacters) {
  EXPECT_FALSE(Decodes("+_8"));
  EXPECT_FALSE(Decodes("-/8"));
}

TEST(Base64UrlTest, RejectsWhitespaceAndForeignBytes) {
  EXPECT_FALSE(Decodes(" Zm9v"));
  EXPECT_FALSE(Decodes("Zm9v\n"));
  EXPECT_FALSE(Decodes("Zm 9v"));
  EXPECT_FALSE(Decodes("Zm\t9v"));
  EXPECT_FALSE(Decodes("Zm9\0"sv));
  EXPECT_FALSE(Decodes("Zm9\xc3\xa9"));
  EXPECT_FALSE(Decodes("Zm9."));
}

TEST(Base64UrlTest, RejectsLengthOneModFour) {
  EXPECT_FALSE(Decodes("Z"));
  EXPECT_FALSE(Decodes("Zm9vY"));
  EXPECT_FALSE(Decodes("Zm9vYmFyZ"));
}

TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  // "A" is 0x41: QQ is canonical; QR..Qf differ only in the four discarded bits.
  EXPECT_TRUE(Decodes("QQ"));
  for (const char* text : {"QR", "QS", "QT", "QU", "QV", "QW", "QX", "QY", "QZ", "Qa", "Qf"}) {
    EXPECT_FALSE(Decodes(text)) << text;
  }
  // "AB" is 0x41 0x42: QUI is canonical; QUJ, QUK, QUL differ only in the two discarded bits.
  EXPECT_TRUE(Decodes("QUI"));
  for (const char* text : {"QUJ", "QUK", "QUL"}) EXPECT_FALSE(Decodes(text)) << text;
}

TEST(Base64UrlTest, FailureLeavesOutputEmpty) {
  std::string out = "previous contents";
  EXPECT_FALSE(Base64UrlDecode("QR", out));
  EXPECT_TRUE(out.empty());
}

class HmacKeyTest : public ::testing::Test {
 protected:
  bool Accepts(std::string_view token) const {
    std::string payload;
    return key_.Verify(token, payload).ok();
  }
  void ExpectRejected(std::string_view token) const {
    std::string payload = "untouched";
    const Status status = key_.Verify(token, payload);
    ASSERT_FALSE(status.ok()) << token;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidToken) << token;
    EXPECT_TRUE(payload.empty()) << token;
  }
  std::string Signed(std::string_view payload = R"({"sub":"alice"})") const {
    return key_.Sign(payload);
  }

  HmacKey key_{kSecret};
};

TEST(Rfc7515Test, AppendixA1SignatureMatchesIndependentHmac) {
  const std::string signing_input =
      Base64UrlEncode(kRfcHeader) + "." + Base64UrlEncode(kRfcPayload);
  EXPECT_EQ(signing_input + "." + Base64UrlEncode(HmacSha256(RfcKey(), signing_input)), kRfcToken);
  EXPECT_EQ(Base64UrlEncode(HmacSha256(RfcKey(), signing_input)), kRfcSignature);
}

TEST(Rfc7515Test, AppendixA1TokenVerifiesAndYieldsPayload) {
  const HmacKey key(RfcKey());
  std::string payload;
  ASSERT_TRUE(key.Verify(kRfcToken, payload).ok());
  EXPECT_EQ(payload, kRfcPayload);
}

TEST_F(HmacKeyTest, SignUsesFixedHeader) {
  const std::string token = Signed();
  EXPECT_EQ(token.substr(0, token.find('.')), kOurHeaderB64);
  std::string header;
  ASSERT_TRUE(Base64UrlDecode(kOurHeaderB64, header));
  EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT"})");
}

TEST(HmacKeyWithKid, SignsItsKidAndVerifiesOnlyTokensNamingIt) {
  const HmacKey named(kSecret, "k1");
  const HmacKey bare(kSecret);
  const std::string token = named.Sign(R"({"sub":"alice"})");
  std::string header;
  ASSERT_TRUE(Base64UrlDecode(token.substr(0, token.find('.')), header));
  EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT","kid":"k1"})");
  EXPECT_EQ(token.substr(0, token.find('.')), named.header_b64());
  std::string payload;
  EXPECT_TRUE(named.Verify(token, payload).ok());
  EXPECT_EQ(payload, R"({"sub":"alice"})");
  // same secret, but the kid does not match the key: refused both ways
  EXPECT_FALSE(bare.Verify(token, payload).ok());
  EXPECT_FALSE(named.Verify(bare.Sign(R"({"sub":"alice"})"), payload).ok());
  EXPECT_FALSE(HmacKey(kSecret, "k2").Verify(token, payload).ok());
}

// HmacKey computes HMAC over the low-level SHA-256 state: differential against OpenSSL's own
// HMAC for keys on both sides of the 64-byte block (longer keys are hashed first) and payloads
// crossing several block boundaries.
TEST(HmacKeyDifferential, MatchesOpenSslHmacOnRandomKeysAndPayloads) {
  std::mt19937_64 random(20261201);
  auto random_bytes = [&random](std::size_t size, bool printable) {
    std::string bytes(size, '\0');
    for (char& c : bytes) {
      c = printable ? static_cast<char>('a' + random() % 26) : static_cast<char>(random());
    }
    return bytes;
  };
  for (int round = 0; round < 2000; ++round) {
    const std::string secret = random_bytes(1 + random() % 200, false);
    const std::string payload = "{\"n\":\"" + random_bytes(random() % 400, true) + "\"}";
    const HmacKey key(secret);
    const std::string token = key.Sign(payload);
    const std::size_t last_dot = token.rfind('.');
    ASSERT_EQ(token.substr(last_dot + 1),
              Base64UrlEncode(HmacSha256(secret, token.substr(0, last_dot))))
        << "secret size " << secret.size() << ", payload size " << payload.size();
    std::string verified;
    ASSERT_TRUE(key.Verify(token, verified).ok());
    EXPECT_EQ(verified, payload);
  }
}

TEST_F(HmacKeyTest, SignatureIsHmacSha256OfSigningInput) {
  const std::string token = Signed();
  const std::size_t last_dot = token.rfind('.');
  EXPECT_EQ(token.substr(last_dot + 1),
            Base64UrlEncode(HmacSha256(kSecret, token.substr(0, last_dot))));
}

TEST_F(HmacKeyTest, SignedTokenIsUnpaddedBase64Url) {
  const std::string token = Signed(R"({"a":"??>>"})");  // encodes to '/' and '+' in base64
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos);
}

TEST_F(HmacKeyTest, RoundTripYieldsPayload) {
  for (const std::string_view payload :
       {R"({})", R"({"sub":"alice","exp":1})", R"({"a":"??>>"})", " {\"x\":[1,2,{\"y\":null}]} "}) {
    std::string out = "previous contents";
    ASSERT_TRUE(key_.Verify(key_.Sign(payload), out).ok()) << payload;
    EXPECT_EQ(out, payload);
  }
}

TEST_F(HmacKeyTest, TamperedHeaderCharacterRejected) {
  const std::string token = Signed();
  for (std::size_t i = 0; i < token.find('.'); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    ExpectRejected(tampered);
  }
}

TEST_F(HmacKeyTest, TamperedPayloadCharacterRejected) {
  const std::string token = Signed();
  for (std::size_t i = token.find('.') + 1; i < token.rfind('.'); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    ExpectRejected(tampered);
  }
}

TEST_F(HmacKeyTest, TamperedSignatureCharacterRejected) {
  const std::string token = Signed();
  for (std::size_t i = token.rfind('.') + 1; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    ExpectRejected(tampered);
  }
}

TEST_F(HmacKeyTest, SignatureWithAnyBitFlippedRejected) {
  const std::string token = Signed();
  const std::size_t last_dot = token.rfind('.');
  std::string mac;
  ASSERT_TRUE(Base64UrlDecode(token.substr(last_dot + 1), mac));
  for (std::size_t byte = 0; byte < mac.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = mac;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      ExpectRejected(token.substr(0, last_dot + 1) + Base64UrlEncode(flipped));
    }
  }
}

TEST_F(HmacKeyTest, EveryTruncationRejected) {
  const std::string token = Signed();
  for (std::size_t len = 0; len < token.size(); ++len) ExpectRejected(token.substr(0, len));
}

TEST_F(HmacKeyTest, ExtraDotsRejected) {
  const std::string token = Signed();
  const std::string signature = token.substr(token.rfind('.') + 1);
  ExpectRejected(token + ".");
  ExpectRejected("." + token);
  ExpectRejected(token + "." + signature);
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + ".e30.e30"));
  std::string doubled = token;
  doubled.insert(token.find('.'), ".");
  ExpectRejected(doubled);
}

TEST_F(HmacKeyTest, EmptyPartsRejected) {
  const std::string token = Signed();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  ExpectRejected("");
  ExpectRejected("..");
  ExpectRejected(token.substr(dot1));                              // empty header
  ExpectRejected(token.substr(0, dot1 + 1) + token.substr(dot2));  // empty payload
  ExpectRejected(token.substr(0, dot2 + 1));                       // empty signature
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + "."));     // empty payload, valid MAC
  ExpectRejected(SignInput("." + Base64UrlEncode(R"({"a":1})")));  // empty header, valid MAC
}

TEST_F(HmacKeyTest, PaddingRejected) {
  const std::string payload = Base64UrlEncode(R"({"a":1})");  // 7 bytes: needs one '='
  ASSERT_NE(payload.size() % 4, 0u);
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + "." + payload + "="));
  ExpectRejected(Signed() + "=");
  ExpectRejected(MakeToken(R"({"alg":"HS256"})", R"({"a":1})") + "=");
}

TEST_F(HmacKeyTest, NonBase64UrlCharactersRejected) {
  const std::string standard_b64 = "eyJhIjoiPz8+PiJ9";  // base64 (not url) of {"a":"??>>"}
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + "." + standard_b64));
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + ".e30 "));
  ExpectRejected(SignInput(std::string(kOurHeaderB64) + ".e3\n0"));
  ExpectRejected(SignInput(" " + std::string(kOurHeaderB64) + ".e30"));
  std::string token = Signed();
  token.back() = '+';
  ExpectRejected(token);
}

TEST_F(HmacKeyTest, AlgNoneWithEmptySignatureRejected) {
  const std::string payload = Base64UrlEncode(R"({"sub":"admin"})");
  ExpectRejected(Base64UrlEncode(R"({"alg":"none"})") + "." + payload + ".");
  ExpectRejected(Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".");
  ExpectRejected(Base64UrlEncode(R"({"alg":"none"})") + "." + payload);
}

TEST_F(HmacKeyTest, AlgNoneWithValidMacRejected) {
  ExpectRejected(MakeToken(R"({"alg":"none","typ":"JWT"})", R"({"a":1})"));
}

TEST_F(HmacKeyTest, OtherAlgorithmsRejected) {
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "hs256", "HS256 ", "", "HS2560"}) {
    ExpectRejected(MakeToken(std::string(R"({"alg":")") + alg + R"("})", R"({"a":1})"));
  }
}

TEST_F(HmacKeyTest, MissingAlgRejected) {
  ExpectRejected(MakeToken(R"({"typ":"JWT"})", R"({"a":1})"));
  ExpectRejected(MakeToken(R"({})", R"({"a":1})"));
}

TEST_F(HmacKeyTest, AlgOnlyCountsAtTopLevel) {
  ExpectRejected(MakeToken(R"({"x":{"alg":"HS256"}})", R"({"a":1})"));
  EXPECT_TRUE(Accepts(MakeToken(R"({"alg":"HS256","x":{"alg":"none","crit":[]}})", R"({})")));
}

TEST_F(HmacKeyTest, NonStringAlgRejected) {
  for (const char* alg : {"256", "null", "true", R"(["HS256"])", R"({"v":"HS256"})", "1.5"}) {
    ExpectRejected(MakeToken(std::string(R"({"alg":)") + alg + "}", R"({"a":1})"));
  }
}

TEST_F(HmacKeyTest, HeaderNotObjectRejected) {
  for (const char* header : {R"(["alg","HS256"])", R"("HS256")", "1", "null", "true"}) {
    ExpectRejected(MakeToken(header, R"({"a":1})"));
  }
}

TEST_F(HmacKeyTest, HeaderNotJsonRejected) {
  for (const char* header : {R"({"alg":"HS256")", R"({"alg":"HS256"}x)", R"({"alg":"HS256"}{})",
                             R"({'alg':'HS256'})", "alg=HS256", R"({"alg":"HS256",})"}) {
    ExpectRejected(MakeToken(header, R"({"a":1})"));
  }
}

TEST_F(HmacKeyTest, NulByteInHeaderRejected) {
  ExpectRejected(MakeToken("{\"alg\":\"HS256\"}\0"sv, R"({"a":1})"));
  ExpectRejected(MakeToken("{\"alg\":\"HS256\"}\0{\"alg\":\"x\"}"sv, "{}"));
}

TEST_F(HmacKeyTest, CritHeaderRejected) {
  ExpectRejected(MakeToken(R"({"alg":"HS256","crit":["exp"],"exp":1})", R"({"a":1})"));
  ExpectRejected(MakeToken(R"({"crit":[],"alg":"HS256"})", R"({"a":1})"));
}

TEST_F(HmacKeyTest, TypOtherThanJwtRejected) {
  for (const char* typ : {R"("JOSE")", R"("at+jwt")", R"("JWTX")", R"("")", "null", "1"}) {
    ExpectRejected(MakeToken(std::string(R"({"alg":"HS256","typ":)") + typ + "}", R"({"a":1})"));
  }
}

TEST_F(HmacKeyTest, TypJwtIgnoresCase) {
  EXPECT_TRUE(Accepts(MakeToken(R"({"alg":"HS256","typ":"jwt"})", R"({})")));
  EXPECT_TRUE(Accepts(MakeToken(R"({"typ":"Jwt","alg":"HS256"})", R"({})")));
}

TEST_F(HmacKeyTest, HeaderWithoutTypAccepted) {
  EXPECT_TRUE(Accepts(MakeToken(R"({"alg":"HS256"})", R"({})")));
}

TEST_F(HmacKeyTest, UnknownHeaderMembersAccepted) {
  EXPECT_TRUE(Accepts(MakeToken(R"({"alg":"HS256","x5t":[1,{"a":null}]})", R"({})")));
}

TEST_F(HmacKeyTest, KidNamesAKeyThisVerifierDoesNotHave) {
  ExpectRejected(MakeToken(R"({"kid":"k1","alg":"HS256"})", R"({})"));
}

TEST_F(HmacKeyTest, DuplicateHeaderMembersRejected) {
  ExpectRejected(MakeToken(R"({"alg":"HS256","alg":"HS256"})", R"({})"));
  ExpectRejected(MakeToken(R"({"alg":"none","alg":"HS256"})", R"({})"));
  ExpectRejected(MakeToken(R"({"typ":"JWT","alg":"HS256","typ":"JWT"})", R"({})"));
  ExpectRejected(MakeToken(R"({"x":"a","alg":"HS256","x":"b"})", R"({})"));
}

TEST_F(HmacKeyTest, PayloadNotObjectRejected) {
  for (const char* payload : {"[1]", R"("s")", "1", "null", R"({"a":1} x)", R"({"a":)",
                              R"({"a":1}{})", "{", " ", "\xef\xbb\xbf{}"}) {
    ExpectRejected(MakeToken(R"({"alg":"HS256"})", payload));
  }
}

TEST_F(HmacKeyTest, NulByteInPayloadRejected) {
  ExpectRejected(MakeToken(R"({"alg":"HS256"})", "{}\0"sv));
  ExpectRejected(MakeToken(R"({"alg":"HS256"})", "{}\0{\"admin\":true}"sv));
  ExpectRejected(MakeToken(R"({"alg":"HS256"})", "{\"a\":\"\0\"}"sv));
}

TEST_F(HmacKeyTest, WrongKeyRejected) {
  const HmacKey other("another secret of thirty-two bytes!");
  ExpectRejected(other.Sign(R"({"sub":"alice"})"));
  ExpectRejected(MakeToken(R"({"alg":"HS256"})", R"({})", "another secret"));
}

TEST_F(HmacKeyTest, TokenAtSizeLimitAcceptedAndOneByteMoreRejected) {
  std::string payload = R"({"p":""})";
  while (key_.Sign(payload).size() < kMaxTokenBytes) payload.insert(6, "x");
  ASSERT_EQ(key_.Sign(payload).size(), kMaxTokenBytes);
  EXPECT_TRUE(Accepts(key_.Sign(payload)));
  payload.insert(6, "x");
  ASSERT_GT(key_.Sign(payload).size(), kMaxTokenBytes);
  ExpectRejected(key_.Sign(payload));
}

TEST_F(HmacKeyTest, SignatureOfWrongLengthRejected) {
  const std::string token = Signed();
  const std::size_t last_dot = token.rfind('.');
  std::string mac;
  ASSERT_TRUE(Base64UrlDecode(token.substr(last_dot + 1), mac));
  const std::string head = token.substr(0, last_dot + 1);
  ExpectRejected(head + Base64UrlEncode(mac.substr(0, 31)));
  ExpectRejected(head + Base64UrlEncode(mac + '\0'));
  ExpectRejected(head + Base64UrlEncode(mac + mac));
  ExpectRejected(head + Base64UrlEncode(mac.substr(0, 16)));
}

TEST_F(HmacKeyTest, FailureClearsPayloadOutput) {
  std::string payload = "stale";
  EXPECT_FALSE(key_.Verify("a.b.c", payload).ok());
  EXPECT_TRUE(payload.empty());
}

TEST(HmacKeyLifetimeTest, EmptySecretThrows) { EXPECT_THROW(HmacKey(""), std::invalid_argument); }

TEST(HmacKeyLifetimeTest, ReplacementKeyNeverUsesDestroyedKeysContext) {
  for (int round = 0; round < 50; ++round) {
    const std::string secret = "secret number " + std::to_string(round) + " padded to 32 b";
    auto key = std::make_unique<HmacKey>(secret);
    const std::string token = key->Sign(R"({"r":1})");
    const std::size_t last_dot = token.rfind('.');
    ASSERT_EQ(token.substr(last_dot + 1),
              Base64UrlEncode(HmacSha256(secret, token.substr(0, last_dot))));
  }
}

TEST(HmacKeyConcurrencyTest, EightThreadsShareOneKey) {
  const HmacKey key(kSecret);
  const HmacKey other("a different key, also 32 bytes..");
  constexpr int kThreads = 8;
  constexpr int kIterations = 2000;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      for (int i = 0; i < kIterations; ++i) {
        const std::string payload =
            R"({"t":)" + std::to_string(t) + R"(,"i":)" + std::to_string(i) + "}";
        const std::string token = key.Sign(payload);
        const bool ok = token == MakeToken(R"({"alg":"HS256","typ":"JWT"})", payload) &&
                        key.Verify(token, out).ok() && out == payload &&
                        !other.Verify(token, out).ok();
        if (!ok) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(HmacKeyConcurrencyTest, MoreThreadsThanContextSlotsStillCorrect) {
  const HmacKey key(kSecret);
  const std::string token = key.Sign(R"({"a":1})");
  constexpr int kThreads = 300;
  std::latch all_started(kThreads);
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      bool good = key.Verify(token, out).ok();
      all_started.arrive_and_wait();  // every thread holds a slot at once
      good = good && key.Sign(R"({"a":1})") == token && key.Verify(token, out).ok();
      ok[t] = good ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(ok[t], 1) << "thread " << t;
}

}  // namespace
}  // namespace gatehouse::auth
