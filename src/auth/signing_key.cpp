#include "auth/signing_key.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth/jose_json.hpp"

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kRsaGenerateBits = 3072;
constexpr std::size_t kMaxPemBytes = 64 * 1024;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

Error KeyError(std::string why) { return Error{ErrorCode::kInvalidKey, "signing key: " + why}; }

[[noreturn]] void Fail(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("SigningKey: ") + what);
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// An encrypted PEM would otherwise make OpenSSL prompt on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

// The header SigningKey::Sign writes; its base64url form lets Verify skip JSON parsing.
std::string HeaderJson(Algorithm algorithm, const std::string& kid) {
  return R"({"alg":")" + std::string(AlgorithmName(algorithm)) + R"(","typ":"JWT","kid":)" +
         Json(kid).dump() + "}";
}

const std::string& Hs256HeaderB64() {
  static const std::string header = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  return header;
}

// OpenSSL writes ECDSA signatures as DER; JWS wants fixed-width R||S (RFC 7518 §3.4).
bool DerToRaw(std::string_view der, std::string& raw) {
  const auto* in = Bytes(der);
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig || in != Bytes(der) + der.size()) return false;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  raw.assign(2 * kP256CoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  return BN_bn2binpad(r, out, kP256CoordinateBytes) == kP256CoordinateBytes &&
         BN_bn2binpad(s, out + kP256CoordinateBytes, kP256CoordinateBytes) == kP256CoordinateBytes;
}

struct HeaderFields {
  Algorithm algorithm = Algorithm::kHS256;
  std::optional<std::string> kid;
};

// Parses an unauthenticated header (it must name the key before anything can be verified),
// refusing duplicate members, "crit", a missing or unknown alg ("none" included), a typ other
// than JWT and a non-string kid.
bool ParseHeader(std::string_view header_b64, HeaderFields& fields) {
  std::string text;
  if (!Base64UrlDecode(header_b64, text)) return false;
  auto header = ParseJoseHeader(text);
  if (!header) return false;
  const auto algorithm = ParseAlgorithm(header->alg);
  if (!algorithm) return false;
  fields.algorithm = *algorithm;
  fields.kid = std::move(header->kid);
  return true;
}

}  // namespace

// ---- SigningKey ---------------------------------------------------------------------------

struct SigningKey::Impl {
  static Result<std::unique_ptr<Impl>> Make(PkeyPtr key, Algorithm algorithm) {
    auto public_key = PublicKey::FromEvpKey(key.get(), algorithm);
    if (!public_key) {
      return KeyError("not a private key for " + std::string(AlgorithmName(algorithm)) +
                      " (Ed25519, EC P-256 or RSA >= 2048 bits): " + public_key.error().detail);
    }
    auto impl = std::make_unique<Impl>();
    impl->key = std::move(key);
    impl->public_key = std::move(*public_key);
    impl->header_b64 = Base64UrlEncode(HeaderJson(algorithm, impl->public_key->kid()));
    return impl;
  }

  PkeyPtr key;
  std::shared_ptr<const PublicKey> public_key;
  std::string header_b64;  // base64url, precomputed once
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;

Result<std::unique_ptr<SigningKey>> SigningKey::FromPrivatePem(std::string_view pem,
                                                               Algorithm algorithm) {
  if (!IsAsymmetric(algorithm)) return KeyError("HS256 uses HmacKey, not a PEM key");
  if (pem.empty() || pem.size() > kMaxPemBytes) return KeyError("PEM empty or too large");
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return KeyError("no unencrypted PEM private key found");
  auto impl = Impl::Make(std::move(key), algorithm);
  if (!impl) return impl.error();
  return std::unique_ptr<SigningKey>(new SigningKey(std::move(*impl)));
}

Result<std::unique_ptr<SigningKey>> SigningKey::Generate(Algorithm algorithm) {
  EVP_PKEY* raw = nullptr;
  switch (algorithm) {
    case Algorithm::kEdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case Algorithm::kES256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::kRS256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", kRsaGenerateBits);
      break;
    case Algorithm::kHS256:
      return KeyError("HS256 uses HmacKey");
  }
  if (raw == nullptr) Fail("key generation failed");
  auto impl = Impl::Make(PkeyPtr(raw), algorithm);
  if (!impl) Fail("generated key does not fit its algorithm");
  return std::unique_ptr<SigningKey>(new SigningKey(std::move(*impl)));
}

std::string SigningKey::PrivatePem() const {
  // Secure heap memory is cleansed when the BIO is freed.
  const BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    Fail("PEM encoding failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) Fail("PEM encoding failed");
  return std::string(data, static_cast<std::size_t>(len));
}

Json SigningKey::PublicJwk() const { return impl_->public_key->Jwk(); }
const std::string& SigningKey::kid() const { return impl_->public_key->kid(); }
Algorithm SigningKey::algorithm() const { return impl_->public_key->algorithm(); }
const std::string& SigningKey::header_b64() const { return impl_->header_b64; }
std::shared_ptr<const PublicKey> SigningKey::Public() const { return impl_->public_key; }

std::string SigningKey::SignSigningInput(std::string_view signing_input) const {
  const Algorithm algorithm = impl_->public_key->algorithm();
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  // Ed25519 is one-shot with no separate digest (RFC 8032 PureEdDSA).
  const EVP_MD* md = algorithm == Algorithm::kEdDSA ? nullptr : EVP_sha256();
  std::string signature(static_cast<std::size_t>(EVP_PKEY_get_size(impl_->key.get())), '\0');
  std::size_t len = signature.size();
  if (!ctx || signature.empty() ||
      EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, impl_->key.get()) != 1 ||
      (algorithm == Algorithm::kRS256 &&
       EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(signing_input), signing_input.size()) != 1) {
    Fail("signing failed");
  }
  signature.resize(len);
  if (algorithm != Algorithm::kES256) return signature;
  std::string raw;
  if (!DerToRaw(signature, raw)) Fail("unexpected ECDSA signature encoding");
  return raw;
}

std::string SigningKey::Sign(std::string_view payload_json) const {
  std::string token = impl_->header_b64;
  token += '.';
  token += Base64UrlEncode(payload_json);
  const std::string signature = SignSigningInput(token);
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

// ---- VerifierSet --------------------------------------------------------------------------

void VerifierSet::SetHmacKey(std::shared_ptr<const HmacKey> key) {
  hmac_keys_.SetKey(std::move(key));
}

Status VerifierSet::AddHmacKey(std::shared_ptr<const HmacKey> key) {
  return hmac_keys_.AddKey(std::move(key));
}

Status VerifierSet::AddPublicKey(std::shared_ptr<const PublicKey> key) {
  if (!key || !IsAsymmetric(key->algorithm())) {
    return Error{ErrorCode::kInvalidKey, "verifier set: no asymmetric key"};
  }
  const auto existing = by_kid_.find(key->kid());
  if (existing != by_kid_.end()) {
    if (existing->second->thumbprint() == key->thumbprint() &&
        existing->second->algorithm() == key->algorithm()) {
      return Ok{};
    }
    return Error{ErrorCode::kConflict, "verifier set: kid " + key->kid() + " names another key"};
  }
  by_header_.emplace(Base64UrlEncode(HeaderJson(key->algorithm(), key->kid())), key);
  by_kid_.emplace(key->kid(), key);
  keys_.push_back(std::move(key));
  return Ok{};
}

Status VerifierSet::AddPublicJwk(const Json& jwk) {
  auto key = PublicKey::FromJwk(jwk);
  if (!key) return key.error();
  return AddPublicKey(std::move(*key));
}

bool VerifierSet::RemoveKey(std::string_view kid) {
  const auto it = by_kid_.find(kid);
  if (it == by_kid_.end()) return false;
  const std::shared_ptr<const PublicKey> key = it->second;
  by_kid_.erase(it);
  by_header_.erase(Base64UrlEncode(HeaderJson(key->algorithm(), key->kid())));
  keys_.erase(std::find(keys_.begin(), keys_.end(), key));
  return true;
}

void VerifierSet::SetAcceptMissingKid(bool accept) { accept_missing_kid_ = accept; }

Status VerifierSet::Verify(std::string_view token, std::string& payload_json) const {
  if (VerifyToken(token, payload_json)) return Ok{};
  payload_json.clear();
  return ErrorCode::kInvalidToken;
}

bool VerifierSet::VerifyToken(std::string_view token, std::string& payload_json) const {
  CompactParts parts;
  if (!SplitCompact(token, parts)) return false;
  const std::string_view header = parts.header;
  const std::string_view payload = parts.payload;
  const std::string_view signature = parts.signature;
  // HS256 is HmacKey's business alone: it checks the MAC before parsing anything.
  if (const HmacKey* hmac = hmac_keys_.ForHeader(header)) return hmac->Verify(parts, payload_json);
  if (header == Hs256HeaderB64()) return false;  // no HS256 key without kid

  const PublicKey* key = nullptr;
  if (const auto ours = by_header_.find(header); ours != by_header_.end()) {
    key = ours->second.get();
  } else {
    HeaderFields fields;
    if (!ParseHeader(header, fields)) return false;
    if (fields.algorithm == Algorithm::kHS256) {
      // The kid picks the secret (none: the first one); the key checks the kid again.
      const HmacKey* hmac = hmac_keys_.ForKid(fields.kid);
      return hmac != nullptr && hmac->Verify(parts, payload_json);
    }
    key = SelectKey(fields.algorithm, fields.kid ? &*fields.kid : nullptr);
    if (key == nullptr) return false;
  }
  std::string signature_bytes;
  return Base64UrlDecode(signature, signature_bytes) &&
         key->VerifySignature(parts.signing_input, signature_bytes) &&
         Base64UrlDecode(payload, payload_json) && IsJsonObjectText(payload_json);
}

const PublicKey* VerifierSet::SelectKey(Algorithm algorithm, const std::string* kid) const {
  if (kid != nullptr) {
    const auto it = by_kid_.find(*kid);
    // The kid picks the key, and the key fixes the algorithm (RFC 8725 §3.1).
    return it != by_kid_.end() && it->second->algorithm() == algorithm ? it->second.get() : nullptr;
  }
  if (!accept_missing_kid_) return nullptr;
  const PublicKey* only = nullptr;
  for (const auto& key : keys_) {
    if (key->algorithm() != algorithm) continue;
    if (only != nullptr) return nullptr;  // ambiguous
    only = key.get();
  }
  return only;
}

Json VerifierSet::Jwks() const {
  Json keys = Json::array();
  for (const auto& key : keys_) keys.push_back(key->Jwk());
  return Json{{"keys", std::move(keys)}};
}

std::shared_ptr<const PublicKey> VerifierSet::Find(std::string_view kid) const {
  const auto it = by_kid_.find(kid);
  return it == by_kid_.end() ? nullptr : it->second;
}

bool VerifierSet::HasHmacKey() const { return !hmac_keys_.empty(); }
std::size_t VerifierSet::PublicKeyCount() const { return keys_.size(); }

}  // namespace gatehouse::auth
