#include "auth/signing_key.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/jws.hpp"

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

// RFC 8037 Appendix A.
constexpr std::string_view kEdD = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kEdX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr std::string_view kEdThumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
constexpr std::string_view kEdSigningInput =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
constexpr std::string_view kEdSignature =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): same payload, no kid, no typ.
constexpr std::string_view kRfcPayloadB64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
constexpr std::string_view kRfcPayload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
constexpr std::string_view kRsaN =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4Q"
    "lL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
    "bSf63kpaSHSXndS5z5rexMdbBY"
    "UsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
    "DWNm"
    "oudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr std::string_view kRs256Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujG"
    "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6"
    "LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr std::string_view kEcX = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kEcY = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kEs256Signature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 7638 §3.1.
constexpr std::string_view kThumbprintExampleN =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebW"
    "KRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQM"
    "icAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcR"
    "wr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
constexpr std::string_view kThumbprintExample = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

constexpr std::string_view kPayload = R"({"sub":"alice","type":"access"})";

std::string Decode(std::string_view text) {
  std::string out;
  EXPECT_TRUE(Base64UrlDecode(text, out)) << text;
  return out;
}

// ---- OpenSSL used directly, independent of the code under test ----------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string ToPem(EVP_PKEY* key, bool private_key, const EVP_CIPHER* cipher = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  const int ok = private_key ? PEM_write_bio_PrivateKey(bio, key, cipher, nullptr, 0, nullptr,
                                                        const_cast<char*>("passphrase"))
                             : PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem = ok == 1 ? std::string(data, static_cast<std::size_t>(len)) : "";
  BIO_free(bio);
  return pem;
}

PkeyPtr ReadPrivatePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string PublicDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Rfc8037PrivatePem() {
  const std::string d = Decode(kEdD);
  PkeyPtr key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d.data()), d.size()));
  return ToPem(key.get(), true);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string RawToDer(const std::string& raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG_set0(sig, BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

// ---- token builders ------------------------------------------------------------------------

std::string SigningInput(std::string_view header_json, std::string_view payload_json) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
}

// A correctly signed token with any header, so a refusal cannot be blamed on the signature.
std::string SignedWith(const SigningKey& key, std::string_view header_json,
                       std::string_view payload_json = kPayload) {
  const std::string input = SigningInput(header_json, payload_json);
  return input + "." + Base64UrlEncode(key.SignSigningInput(input));
}

std::string HmacToken(std::string_view secret, std::string_view header_json) {
  const std::string input = SigningInput(header_json, kPayload);
  return input + "." + Base64UrlEncode(HmacSha256(secret, input));
}

std::string OurHeader(const SigningKey& key) {
  return R"({"alg":")" + std::string(AlgorithmName(key.algorithm())) + R"(","typ":"JWT","kid":")" +
         key.kid() + R"("})";
}

// Keys are generated once per algorithm: RSA 3072 generation is slow.
const SigningKey& SharedKey(Algorithm algorithm) {
  static const auto* const keys = [] {
    auto* map = new std::map<Algorithm, std::unique_ptr<SigningKey>>;
    for (Algorithm a : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256}) {
      auto key = SigningKey::Generate(a);
      (*map)[a] = key ? std::move(*key) : nullptr;
    }
    return map;
  }();
  return *keys->at(algorithm);
}

VerifierSet SetWith(const SigningKey& key) {
  VerifierSet set;
  EXPECT_TRUE(set.AddPublicKey(key.Public()).ok());
  return set;
}

bool Accepts(const VerifierSet& set, std::string_view token) {
  std::string payload;
  const Status status = set.Verify(token, payload);
  if (!status) {
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidToken);
    EXPECT_TRUE(payload.empty());
  }
  return status.ok();
}

Json RfcRsaJwk() { return {{"kty", "RSA"}, {"n", kRsaN}, {"e", "AQAB"}}; }
Json RfcEcJwk() { return {{"kty", "EC"}, {"crv", "P-256"}, {"x", kEcX}, {"y", kEcY}}; }

// ---- RFC test vectors ----------------------------------------------------------------------

TEST(Rfc8037, A1PrivateKeyYieldsPublicKeyX) {
  auto key = SigningKey::FromPrivatePem(Rfc8037PrivatePem(), Algorithm::kEdDSA);
  ASSERT_TRUE(key.ok()) << key.error().detail;
  EXPECT_EQ((*key)->PublicJwk().at("x"), kEdX);
  EXPECT_EQ((*key)->PublicJwk().at("crv"), "Ed25519");
}

TEST(Rfc8037, A3ThumbprintIsTheKid) {
  auto key = SigningKey::FromPrivatePem(Rfc8037PrivatePem(), Algorithm::kEdDSA);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*key)->kid(), kEdThumbprint);
}

TEST(Rfc8037, A3ThumbprintOfPublicJwk) {
  auto key = PublicKey::FromJwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kEdX}});
  ASSERT_TRUE(key.ok()) << key.error().detail;
  EXPECT_EQ((*key)->thumbprint(), kEdThumbprint);
  EXPECT_EQ((*key)->kid(), kEdThumbprint);
}

TEST(Rfc8037, A4SignatureMatchesExactly) {
  auto key = SigningKey::FromPrivatePem(Rfc8037PrivatePem(), Algorithm::kEdDSA);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Base64UrlEncode((*key)->SignSigningInput(kEdSigningInput)), kEdSignature);
}

TEST(Rfc8037, A5SignatureVerifiesWithPublicJwk) {
  auto key = PublicKey::FromJwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kEdX}});
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE((*key)->VerifySignature(kEdSigningInput, Decode(kEdSignature)));
  EXPECT_FALSE((*key)->VerifySignature("eyJhbGciOiJFZERTQSJ9.eA", Decode(kEdSignature)));
}

TEST(Rfc7515, A2Rs256ExampleVerifies) {
  VerifierSet set;
  ASSERT_TRUE(set.AddPublicJwk(RfcRsaJwk()).ok());
  set.SetAcceptMissingKid(true);
  std::string payload;
  const std::string token =
      "eyJhbGciOiJSUzI1NiJ9." + std::string(kRfcPayloadB64) + "." + std::string(kRs256Signature);
  ASSERT_TRUE(set.Verify(token, payload).ok());
  EXPECT_EQ(payload, kRfcPayload);
}

TEST(Rfc7515, A3Es256ExampleVerifies) {
  VerifierSet set;
  ASSERT_TRUE(set.AddPublicJwk(RfcEcJwk()).ok());
  set.SetAcceptMissingKid(true);
  std::string payload;
  const std::string token =
      "eyJhbGciOiJFUzI1NiJ9." + std::string(kRfcPayloadB64) + "." + std::string(kEs256Signature);
  ASSERT_TRUE(set.Verify(token, payload).ok());
  EXPECT_EQ(payload, kRfcPayload);
}

TEST(Rfc7515, ExamplesWithoutKidRefusedByDefault) {
  VerifierSet set;
  ASSERT_TRUE(set.AddPublicJwk(RfcRsaJwk()).ok());
  ASSERT_TRUE(set.AddPublicJwk(RfcEcJwk()).ok());
  EXPECT_FALSE(Accepts(set, "eyJhbGciOiJSUzI1NiJ9." + std::string(kRfcPayloadB64) + "." +
                                std::string(kRs256Signature)));
  EXPECT_FALSE(Accepts(set, "eyJhbGciOiJFUzI1NiJ9." + std::string(kRfcPayloadB64) + "." +
                                std::string(kEs256Signature)));
}

TEST(Rfc7515, MissingKidRefusedWhenTwoKeysShareTheAlgorithm) {
  VerifierSet set;
  ASSERT_TRUE(set.AddPublicJwk(RfcEcJwk()).ok());
  ASSERT_TRUE(set.AddPublicKey(SharedKey(Algorithm::kES256).Public()).ok());
  set.SetAcceptMissingKid(true);
  EXPECT_FALSE(Accepts(set, "eyJhbGciOiJFUzI1NiJ9." + std::string(kRfcPayloadB64) + "." +
                                std::string(kEs256Signature)));
}

TEST(Rfc7638, RsaExampleThumbprint) {
  auto key = PublicKey::FromJwk({{"kty", "RSA"},
                                 {"n", kThumbprintExampleN},
                                 {"e", "AQAB"},
                                 {"alg", "RS256"},
                                 {"kid", "2011-04-29"}});
  ASSERT_TRUE(key.ok()) << key.error().detail;
  EXPECT_EQ((*key)->thumbprint(), kThumbprintExample);
  EXPECT_EQ((*key)->kid(), "2011-04-29");
}

// ---- per-algorithm behaviour ---------------------------------------------------------------

std::string AlgorithmTestName(const ::testing::TestParamInfo<Algorithm>& param_info) {
  return std::string(AlgorithmName(param_info.param));
}

class PerAlgorithm : public ::testing::TestWithParam<Algorithm> {
 protected:
  const SigningKey& key() const { return SharedKey(GetParam()); }
};

TEST_P(PerAlgorithm, GenerateGivesRequestedKeyType) {
  const PkeyPtr raw = ReadPrivatePem(key().PrivatePem());
  ASSERT_TRUE(raw);
  switch (GetParam()) {
    case Algorithm::kEdDSA:
      EXPECT_TRUE(EVP_PKEY_is_a(raw.get(), "ED25519"));
      break;
    case Algorithm::kES256:
      EXPECT_TRUE(EVP_PKEY_is_a(raw.get(), "EC"));
      EXPECT_EQ(EVP_PKEY_get_bits(raw.get()), 256);
      break;
    default:
      EXPECT_TRUE(EVP_PKEY_is_a(raw.get(), "RSA"));
      EXPECT_EQ(EVP_PKEY_get_bits(raw.get()), 3072);
  }
  EXPECT_EQ(key().algorithm(), GetParam());
}

TEST_P(PerAlgorithm, SignedTokenRoundTrips) {
  std::string payload;
  ASSERT_TRUE(SetWith(key()).Verify(key().Sign(kPayload), payload).ok());
  EXPECT_EQ(payload, kPayload);
}

TEST_P(PerAlgorithm, HeaderIsExactlyAlgTypKid) {
  const std::string token = key().Sign(kPayload);
  EXPECT_EQ(Decode(token.substr(0, token.find('.'))), OurHeader(key()));
}

TEST_P(PerAlgorithm, ParsedEquivalentHeaderAlsoVerifies) {
  const std::string header = R"({"kid":")" + key().kid() + R"(","alg":")" +
                             std::string(AlgorithmName(GetParam())) + R"("})";
  EXPECT_TRUE(Accepts(SetWith(key()), SignedWith(key(), header)));
}

TEST_P(PerAlgorithm, PrivatePemIsPkcs8) {
  EXPECT_EQ(key().PrivatePem().rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
}

TEST_P(PerAlgorithm, KidStableAcrossPemReload) {
  auto reloaded = SigningKey::FromPrivatePem(key().PrivatePem(), GetParam());
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().detail;
  EXPECT_EQ((*reloaded)->kid(), key().kid());
  EXPECT_EQ((*reloaded)->PublicJwk(), key().PublicJwk());
}

TEST_P(PerAlgorithm, ReloadedPemSignsForOriginalPublicKey) {
  auto reloaded = SigningKey::FromPrivatePem(key().PrivatePem(), GetParam());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE(Accepts(SetWith(key()), (*reloaded)->Sign(kPayload)));
}

TEST_P(PerAlgorithm, KidIsThumbprintOfPublicJwk) {
  auto imported = PublicKey::FromJwk(key().PublicJwk());
  ASSERT_TRUE(imported.ok()) << imported.error().detail;
  EXPECT_EQ((*imported)->thumbprint(), key().kid());
  EXPECT_EQ(key().kid().size(), 43u);
}

TEST_P(PerAlgorithm, PublicJwkAloneVerifies) {
  VerifierSet set;
  ASSERT_TRUE(set.AddPublicJwk(key().PublicJwk()).ok());
  EXPECT_TRUE(Accepts(set, key().Sign(kPayload)));
}

TEST_P(PerAlgorithm, JwksMembersExact) {
  const Json jwks = SetWith(key()).Jwks();
  ASSERT_EQ(jwks.at("keys").size(), 1u);
  std::set<std::string> names;
  for (const auto& [name, value] : jwks["keys"][0].items()) names.insert(name);
  const std::map<Algorithm, std::set<std::string>> expected = {
      {Algorithm::kEdDSA, {"kty", "crv", "x", "kid", "alg", "use"}},
      {Algorithm::kES256, {"kty", "crv", "x", "y", "kid", "alg", "use"}},
      {Algorithm::kRS256, {"kty", "n", "e", "kid", "alg", "use"}}};
  EXPECT_EQ(names, expected.at(GetParam()));
  EXPECT_EQ(jwks["keys"][0]["kid"], key().kid());
  EXPECT_EQ(jwks["keys"][0]["alg"], AlgorithmName(GetParam()));
  EXPECT_EQ(jwks["keys"][0]["use"], "sig");
}

TEST_P(PerAlgorithm, NoPrivateMemberInAnyJwk) {
  for (const Json& jwk :
       {key().PublicJwk(), SetWith(key()).Jwks()["keys"][0], key().Public()->Jwk()}) {
    for (const char* name : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      EXPECT_FALSE(jwk.contains(name)) << name;
    }
  }
}

TEST_P(PerAlgorithm, TamperedSignatureRefused) {
  std::string token = key().Sign(kPayload);
  const std::size_t at = token.rfind('.') + 5;
  token[at] = token[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Accepts(SetWith(key()), token));
}

TEST_P(PerAlgorithm, TamperedPayloadRefused) {
  const std::string token = key().Sign(kPayload);
  const std::string other = key().Sign(R"({"sub":"mallory","type":"access"})");
  const std::string spliced = token.substr(0, token.find('.')) +
                              other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                              token.substr(token.rfind('.'));
  EXPECT_FALSE(Accepts(SetWith(key()), spliced));
}

TEST_P(PerAlgorithm, WrongKidRefused) {
  const std::string header = R"({"alg":")" + std::string(AlgorithmName(GetParam())) +
                             R"(","typ":"JWT","kid":"not-a-key"})";
  EXPECT_FALSE(Accepts(SetWith(key()), SignedWith(key(), header)));
}

TEST_P(PerAlgorithm, MissingKidRefused) {
  const std::string header =
      R"({"alg":")" + std::string(AlgorithmName(GetParam())) + R"(","typ":"JWT"})";
  EXPECT_FALSE(Accepts(SetWith(key()), SignedWith(key(), header)));
}

TEST_P(PerAlgorithm, AlgNoneRefused) {
  const std::string header = R"({"alg":"none","typ":"JWT","kid":")" + key().kid() + R"("})";
  const std::string input = SigningInput(header, kPayload);
  EXPECT_FALSE(Accepts(SetWith(key()), input + "."));
  EXPECT_FALSE(Accepts(SetWith(key()), SignedWith(key(), header)));
}

TEST_P(PerAlgorithm, SignatureOfAnotherKeyWithOurKidRefused) {
  auto other = SigningKey::Generate(GetParam());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(Accepts(SetWith(key()), SignedWith(**other, OurHeader(key()))));
}

// The classic confusion: the verifier's public key reused as an HMAC secret.
TEST_P(PerAlgorithm, Hs256WithPublicKeyBytesRefusedWithoutHmacKey) {
  const PkeyPtr raw = ReadPrivatePem(key().PrivatePem());
  const VerifierSet set = SetWith(key());
  for (const std::string& secret : {ToPem(raw.get(), false), PublicDer(raw.get())}) {
    for (const std::string& header : std::vector<std::string>{
             R"({"alg":"HS256","typ":"JWT"})",
             R"({"alg":"HS256","typ":"JWT","kid":")" + key().kid() + R"("})"}) {
      const std::string token = HmacToken(secret, header);
      EXPECT_FALSE(Accepts(set, token)) << header;
    }
  }
}

TEST_P(PerAlgorithm, Hs256WithPublicKeyBytesRefusedWithOtherHmacKey) {
  const PkeyPtr raw = ReadPrivatePem(key().PrivatePem());
  VerifierSet set = SetWith(key());
  set.SetHmacKey(std::make_shared<HmacKey>("a different secret of 32+ bytes........"));
  for (const std::string& secret : {ToPem(raw.get(), false), PublicDer(raw.get())}) {
    const std::string token = HmacToken(secret, R"({"alg":"HS256","typ":"JWT"})");
    std::string payload;
    // Control: the token is well formed and would pass an HMAC key equal to those bytes.
    ASSERT_TRUE(HmacKey(secret).Verify(token, payload).ok());
    EXPECT_FALSE(Accepts(set, token));
    EXPECT_FALSE(Accepts(
        set, HmacToken(secret, R"({"alg":"HS256","typ":"JWT","kid":")" + key().kid() + R"("})")));
  }
}

TEST_P(PerAlgorithm, ConcurrentSignAndVerify) {
  const VerifierSet set = SetWith(key());
  const int rounds = GetParam() == Algorithm::kRS256 ? 10 : 100;
  std::latch start(8);
  std::vector<int> failures(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < rounds; ++i) {
        const std::string claims =
            R"({"t":)" + std::to_string(t) + R"(,"i":)" + std::to_string(i) + "}";
        std::string payload;
        if (!set.Verify(key().Sign(claims), payload).ok() || payload != claims) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(8, 0));
}

INSTANTIATE_TEST_SUITE_P(Asymmetric, PerAlgorithm,
                         ::testing::Values(Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256),
                         AlgorithmTestName);

// ---- ES256 signature encoding --------------------------------------------------------------

TEST(Es256, SignatureIsRawRAndS) {
  const SigningKey& key = SharedKey(Algorithm::kES256);
  const std::string token = key.Sign(kPayload);
  EXPECT_EQ(Decode(token.substr(token.rfind('.') + 1)).size(), 64u);
}

TEST(Es256, RawSignatureVerifiesWithOpenSslAsDer) {
  const SigningKey& key = SharedKey(Algorithm::kES256);
  const std::string input = SigningInput(OurHeader(key), kPayload);
  const std::string der = RawToDer(key.SignSigningInput(input));
  const PkeyPtr raw = ReadPrivatePem(key.PrivatePem());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, raw.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST(Es256, DerEncodedSignatureRefused) {
  const SigningKey& key = SharedKey(Algorithm::kES256);
  const std::string input = SigningInput(OurHeader(key), kPayload);
  const std::string der = RawToDer(key.SignSigningInput(input));
  EXPECT_FALSE(Accepts(SetWith(key), input + "." + Base64UrlEncode(der)));
}

TEST(Es256, WrongLengthSignatureRefused) {
  const SigningKey& key = SharedKey(Algorithm::kES256);
  const std::string input = SigningInput(OurHeader(key), kPayload);
  const std::string raw = key.SignSigningInput(input);
  EXPECT_FALSE(Accepts(SetWith(key), input + "." + Base64UrlEncode(raw.substr(1))));
  EXPECT_FALSE(Accepts(SetWith(key), input + "." + Base64UrlEncode(raw + '\0')));
  EXPECT_FALSE(Accepts(SetWith(key), input + "." + Base64UrlEncode('\0' + raw)));
}

// ---- header strictness and key choice ------------------------------------------------------

class Strictness : public ::testing::Test {
 protected:
  const SigningKey& ed_ = SharedKey(Algorithm::kEdDSA);
  const SigningKey& es_ = SharedKey(Algorithm::kES256);
  VerifierSet set_ = [this] {
    VerifierSet set = SetWith(ed_);
    EXPECT_TRUE(set.AddPublicKey(es_.Public()).ok());
    return set;
  }();
  std::string EdHeaderWith(std::string_view extra) const {
    return R"({"alg":"EdDSA","typ":"JWT","kid":")" + ed_.kid() + "\"" + std::string(extra) + "}";
  }
};

TEST_F(Strictness, AlgKidMismatchRefused) {
  // The kid names the ES256 key but alg says EdDSA: refused whether the signature is the
  // EdDSA key's or the ES256 key's own (the header must not get to relabel a key).
  const std::string header = R"({"alg":"EdDSA","typ":"JWT","kid":")" + es_.kid() + R"("})";
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, header)));
  EXPECT_FALSE(Accepts(set_, SignedWith(es_, header)));
}

TEST_F(Strictness, BothKeysOfMixedSetVerify) {
  EXPECT_TRUE(Accepts(set_, ed_.Sign(kPayload)));
  EXPECT_TRUE(Accepts(set_, es_.Sign(kPayload)));
}

TEST_F(Strictness, CritRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, EdHeaderWith(R"(,"crit":["exp"],"exp":1)"))));
}

TEST_F(Strictness, DuplicateHeaderMemberRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, EdHeaderWith(R"(,"alg":"EdDSA")"))));
}

TEST_F(Strictness, TypOtherThanJwtRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, EdHeaderWith(R"(,"typ":"at+jwt")"))));
  const std::string header = R"({"alg":"EdDSA","typ":"JOSE","kid":")" + ed_.kid() + R"("})";
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, header)));
}

TEST_F(Strictness, NonStringKidRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, R"({"alg":"EdDSA","kid":7})")));
}

TEST_F(Strictness, NonObjectHeaderRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, R"(["alg","EdDSA"])")));
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, "null")));
}

TEST_F(Strictness, UnknownAlgRefused) {
  const std::string header = R"({"alg":"eddsa","typ":"JWT","kid":")" + ed_.kid() + R"("})";
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, header)));
}

TEST_F(Strictness, PayloadNotJsonObjectRefused) {
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, EdHeaderWith(""), "[1,2]")));
  EXPECT_FALSE(Accepts(set_, SignedWith(ed_, EdHeaderWith(""), "Example")));
}

TEST_F(Strictness, MalformedShapesRefused) {
  const std::string token = ed_.Sign(kPayload);
  EXPECT_FALSE(Accepts(set_, token + "."));
  EXPECT_FALSE(Accepts(set_, token.substr(0, token.rfind('.'))));
  EXPECT_FALSE(Accepts(set_, token + "="));
  EXPECT_FALSE(Accepts(set_, " " + token));
  EXPECT_FALSE(Accepts(set_, ""));
}

TEST_F(Strictness, OversizedTokenRefused) {
  const std::string big(kMaxTokenBytes, 'a');
  const std::string token = ed_.Sign(R"({"pad":")" + big + R"("})");
  EXPECT_GT(token.size(), kMaxTokenBytes);
  EXPECT_FALSE(Accepts(set_, token));
}

TEST_F(Strictness, RemovedKeyNoLongerVerifies) {
  const std::string token = es_.Sign(kPayload);
  VerifierSet rotated = set_;
  ASSERT_TRUE(rotated.RemoveKey(es_.kid()));
  EXPECT_FALSE(Accepts(rotated, token));
  EXPECT_TRUE(Accepts(set_, token));  // the copy it came from is untouched
  EXPECT_EQ(rotated.Jwks()["keys"].size(), 1u);
}

TEST_F(Strictness, KidOfOtherKeyMaterialConflicts) {
  Json jwk = es_.PublicJwk();
  jwk["kid"] = ed_.kid();
  const Status status = set_.AddPublicJwk(jwk);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(set_.AddPublicKey(ed_.Public()).ok());  // the same key again is a no-op
  EXPECT_EQ(set_.PublicKeyCount(), 2u);
}

// ---- HS256 configurations ------------------------------------------------------------------

constexpr std::string_view kHmacSecret = "0123456789abcdef0123456789abcdef";

TEST(Hs256Set, HmacOnlySetVerifiesHmacKeyTokens) {
  VerifierSet set;
  const auto hmac = std::make_shared<HmacKey>(kHmacSecret);
  set.SetHmacKey(hmac);
  EXPECT_TRUE(Accepts(set, hmac->Sign(kPayload)));
  EXPECT_EQ(set.Jwks(), Json::parse(R"({"keys":[]})"));
}

TEST(Hs256Set, HmacTokenRefusedWithoutHmacKey) {
  EXPECT_FALSE(Accepts(SetWith(SharedKey(Algorithm::kEdDSA)), HmacKey(kHmacSecret).Sign(kPayload)));
}

TEST(Hs256Set, MixedSetVerifiesBothKinds) {
  VerifierSet set = SetWith(SharedKey(Algorithm::kEdDSA));
  const auto hmac = std::make_shared<HmacKey>(kHmacSecret);
  set.SetHmacKey(hmac);
  EXPECT_TRUE(Accepts(set, hmac->Sign(kPayload)));
  EXPECT_TRUE(Accepts(set, SharedKey(Algorithm::kEdDSA).Sign(kPayload)));
  EXPECT_FALSE(Accepts(set, HmacToken(kHmacSecret, R"({"alg":"none","typ":"JWT"})")));
}

// ---- key loading ---------------------------------------------------------------------------

TEST(KeyLoading, PemOfWrongKeyTypeRefused) {
  const std::string ed = SharedKey(Algorithm::kEdDSA).PrivatePem();
  const std::string es = SharedKey(Algorithm::kES256).PrivatePem();
  const std::string rs = SharedKey(Algorithm::kRS256).PrivatePem();
  EXPECT_FALSE(SigningKey::FromPrivatePem(ed, Algorithm::kES256).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(ed, Algorithm::kRS256).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(es, Algorithm::kEdDSA).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(es, Algorithm::kRS256).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(rs, Algorithm::kEdDSA).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(rs, Algorithm::kES256).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(ed, Algorithm::kHS256).ok());
}

TEST(KeyLoading, EcKeyOnOtherCurveRefused) {
  PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  const auto key = SigningKey::FromPrivatePem(ToPem(p384.get(), true), Algorithm::kES256);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidKey);
}

TEST(KeyLoading, ShortRsaKeyRefused) {
  PkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024)));
  EXPECT_FALSE(SigningKey::FromPrivatePem(ToPem(rsa1024.get(), true), Algorithm::kRS256).ok());
}

TEST(KeyLoading, EncryptedPemRefusedWithoutPrompting) {
  const PkeyPtr raw = ReadPrivatePem(SharedKey(Algorithm::kEdDSA).PrivatePem());
  const std::string pem = ToPem(raw.get(), true, EVP_aes_256_cbc());
  ASSERT_NE(pem.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(SigningKey::FromPrivatePem(pem, Algorithm::kEdDSA).ok());
}

TEST(KeyLoading, PublicPemAndGarbageRefused) {
  const PkeyPtr raw = ReadPrivatePem(SharedKey(Algorithm::kEdDSA).PrivatePem());
  EXPECT_FALSE(SigningKey::FromPrivatePem(ToPem(raw.get(), false), Algorithm::kEdDSA).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem("", Algorithm::kEdDSA).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                          "KEY-----\n",
                                          Algorithm::kEdDSA)
                   .ok());
}

TEST(KeyLoading, TraditionalEcPemAccepted) {
  const PkeyPtr raw = ReadPrivatePem(SharedKey(Algorithm::kES256).PrivatePem());
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(
      PEM_write_bio_PrivateKey_traditional(bio, raw.get(), nullptr, nullptr, 0, nullptr, nullptr),
      1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  ASSERT_NE(pem.find("EC PRIVATE KEY"), std::string::npos);
  const auto key = SigningKey::FromPrivatePem(pem, Algorithm::kES256);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*key)->kid(), SharedKey(Algorithm::kES256).kid());
}

TEST(KeyLoading, JwkWithPrivateMemberRefused) {
  Json jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kEdX}, {"d", kEdD}};
  const auto key = PublicKey::FromJwk(jwk);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidKey);
}

TEST(KeyLoading, JwkWithMismatchedAlgRefused) {
  Json jwk = RfcEcJwk();
  jwk["alg"] = "RS256";
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
  jwk["alg"] = "HS256";
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST(KeyLoading, JwkWithEncryptionUseRefused) {
  Json jwk = RfcEcJwk();
  jwk["use"] = "enc";
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST(KeyLoading, EcJwkCoordinatesMustBeFullLengthAndOnCurve) {
  Json short_x = RfcEcJwk();
  short_x["x"] = Base64UrlEncode(Decode(kEcX).substr(1));
  EXPECT_FALSE(PublicKey::FromJwk(short_x).ok());
  Json off_curve = RfcEcJwk();
  std::string y = Decode(kEcY);
  y.back() ^= 1;
  off_curve["y"] = Base64UrlEncode(y);
  EXPECT_FALSE(PublicKey::FromJwk(off_curve).ok());
}

TEST(KeyLoading, RsaJwkWithLeadingZeroRefused) {
  Json jwk = RfcRsaJwk();
  jwk["n"] = Base64UrlEncode(std::string(1, '\0') + Decode(kRsaN));
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST(KeyLoading, RsaJwkWithEvenModulusRefused) {
  Json jwk = RfcRsaJwk();
  std::string n = Decode(kRsaN);
  n.back() &= '\xFE';
  jwk["n"] = Base64UrlEncode(n);
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST(KeyLoading, RsaJwkUnder2048BitsRefused) {
  PkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024)));
  BIGNUM* n = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(rsa1024.get(), "n", &n), 1);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(n);
  EXPECT_FALSE(
      PublicKey::FromJwk({{"kty", "RSA"}, {"n", Base64UrlEncode(bytes)}, {"e", "AQAB"}}).ok());
}

TEST(KeyLoading, UnsupportedKeyTypesRefused) {
  EXPECT_FALSE(PublicKey::FromJwk({{"kty", "oct"}, {"k", "c2VjcmV0"}}).ok());
  EXPECT_FALSE(PublicKey::FromJwk({{"kty", "OKP"}, {"crv", "X25519"}, {"x", kEdX}}).ok());
  EXPECT_FALSE(PublicKey::FromJwk(Json::array()).ok());
}

TEST(Algorithms, NamesRoundTripAndNoneIsUnknown) {
  for (Algorithm a : {Algorithm::kHS256, Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256}) {
    EXPECT_EQ(ParseAlgorithm(AlgorithmName(a)), a);
  }
  EXPECT_FALSE(ParseAlgorithm("none").has_value());
  EXPECT_FALSE(ParseAlgorithm("eddsa").has_value());
  EXPECT_FALSE(ParseAlgorithm("HS256 ").has_value());
}

}  // namespace
}  // namespace gatehouse::auth
