#include "auth/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "auth/jws.hpp"

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kEd25519Bytes = 32;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kRawSignatureBytes = 64;  // Ed25519, and ES256's R||S
constexpr int kMinRsaBits = 2048;
// Bounds the verification cost of a key that came from storage or configuration.
constexpr int kMaxRsaBits = 8192;
constexpr std::size_t kMaxKidBytes = 256;

// JWK members that carry private material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
constexpr std::array<const char*, 8> kPrivateMembers = {"d",  "p",  "q",   "dp",
                                                        "dq", "qi", "oth", "k"};

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

Error KeyError(std::string why) { return Error{ErrorCode::kInvalidKey, "jwk: " + why}; }

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool IsP256(const EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  return EVP_PKEY_is_a(key, "EC") &&
         EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &len) == 1 &&
         (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0);
}

bool KeyFits(const EVP_PKEY* key, Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kEdDSA:
      return EVP_PKEY_is_a(key, "ED25519");
    case Algorithm::kES256:
      return IsP256(key);
    case Algorithm::kRS256: {
      // "RSA" only: an RSA-PSS key is restricted to PSS and cannot make RS256 signatures.
      const int bits = EVP_PKEY_get_bits(key);
      return EVP_PKEY_is_a(key, "RSA") && bits >= kMinRsaBits && bits <= kMaxRsaBits;
    }
    case Algorithm::kHS256:
      break;
  }
  return false;
}

// Big-endian bytes of a BIGNUM parameter: left-padded to `width`, or minimal when width is 0
// (RFC 7518 §2 Base64urlUInt). Empty on failure.
std::string BnParam(const EVP_PKEY* key, const char* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  const BnPtr bn(raw);
  std::string out(width > 0 ? width : BN_num_bytes(bn.get()), '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  const int written = width > 0 ? BN_bn2binpad(bn.get(), data, width) : BN_bn2bin(bn.get(), data);
  if (written < 0 || static_cast<std::size_t>(written) != out.size() || out.empty()) return {};
  return out;
}

// The members RFC 7638 hashes, base64url-encoded; dump() of this object is the canonical
// thumbprint input because nlohmann sorts object members. Null on failure.
Json RequiredMembers(const EVP_PKEY* key, Algorithm algorithm) {
  if (algorithm == Algorithm::kEdDSA) {
    unsigned char x[kEd25519Bytes];
    std::size_t len = sizeof x;
    if (EVP_PKEY_get_raw_public_key(key, x, &len) != 1 || len != sizeof x) return nullptr;
    return {{"kty", "OKP"},
            {"crv", "Ed25519"},
            {"x", Base64UrlEncode({reinterpret_cast<const char*>(x), len})}};
  }
  if (algorithm == Algorithm::kES256) {
    const std::string x = BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordinateBytes);
    const std::string y = BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordinateBytes);
    if (x.empty() || y.empty()) return nullptr;
    return {{"kty", "EC"}, {"crv", "P-256"}, {"x", Base64UrlEncode(x)}, {"y", Base64UrlEncode(y)}};
  }
  const std::string n = BnParam(key, OSSL_PKEY_PARAM_RSA_N, 0);
  const std::string e = BnParam(key, OSSL_PKEY_PARAM_RSA_E, 0);
  if (n.empty() || e.empty()) return nullptr;
  return {{"kty", "RSA"}, {"n", Base64UrlEncode(n)}, {"e", Base64UrlEncode(e)}};
}

// Strictly decodes string member `name`; false when absent, not a string or not base64url.
bool DecodeMember(const Json& jwk, const char* name, std::string& out) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() &&
         Base64UrlDecode(it->get_ref<const std::string&>(), out);
}

bool MemberIs(const Json& jwk, const char* name, std::string_view expected) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

PkeyPtr FromData(const char* type, const OSSL_PARAM* params) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    return nullptr;
  }
  PkeyPtr key(raw);
  // Puts an EC point on the curve. Skipped for RSA: OpenSSL's SP 800-56B check costs ~20 ms
  // (a primality test of n) and protects nothing when the key only verifies.
  if (std::strcmp(type, "EC") == 0) {
    const PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  }
  return key;
}

PkeyPtr ImportOkp(const Json& jwk) {
  std::string x;
  if (!MemberIs(jwk, "crv", "Ed25519") || !DecodeMember(jwk, "x", x) || x.size() != kEd25519Bytes) {
    return nullptr;
  }
  return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(x), x.size()));
}

PkeyPtr ImportEc(const Json& jwk) {
  std::string x;
  std::string y;
  // RFC 7518 §6.2.1.2: each coordinate is exactly the field size, leading zeros included.
  if (!MemberIs(jwk, "crv", "P-256") || !DecodeMember(jwk, "x", x) || !DecodeMember(jwk, "y", y) ||
      x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return nullptr;
  }
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed form
  char group[] = "P-256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return FromData("EC", params);
}

PkeyPtr ImportRsa(const Json& jwk) {
  std::string n;
  std::string e;
  // Base64urlUInt uses the fewest octets: a leading zero octet would change the thumbprint.
  if (!DecodeMember(jwk, "n", n) || !DecodeMember(jwk, "e", e) || n.empty() || e.empty() ||
      n[0] == '\0' || e[0] == '\0' || n.size() * 8 > static_cast<std::size_t>(kMaxRsaBits) ||
      e.size() > 32) {
    return nullptr;
  }
  // An even modulus or exponent, or e = 1, is no RSA key.
  if ((n.back() & 1) == 0 || (e.back() & 1) == 0 || (e.size() == 1 && e[0] == 1)) return nullptr;
  const BnPtr n_bn(BN_bin2bn(Bytes(n), static_cast<int>(n.size()), nullptr));
  const BnPtr e_bn(BN_bin2bn(Bytes(e), static_cast<int>(e.size()), nullptr));
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return nullptr;
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  return params ? FromData("RSA", params.get()) : nullptr;
}

// The key type decides the algorithm; an "alg" member may only confirm it.
Result<std::pair<PkeyPtr, Algorithm>> ImportKey(const Json& jwk) {
  std::pair<PkeyPtr, Algorithm> out;
  if (MemberIs(jwk, "kty", "OKP")) {
    out = {ImportOkp(jwk), Algorithm::kEdDSA};
  } else if (MemberIs(jwk, "kty", "EC")) {
    out = {ImportEc(jwk), Algorithm::kES256};
  } else if (MemberIs(jwk, "kty", "RSA")) {
    out = {ImportRsa(jwk), Algorithm::kRS256};
  } else {
    return KeyError("kty must be OKP, EC or RSA");
  }
  ERR_clear_error();
  if (!out.first || !KeyFits(out.first.get(), out.second)) {
    return KeyError("unsupported curve, size or malformed key members");
  }
  const auto alg = jwk.find("alg");
  if (alg != jwk.end() &&
      !(alg->is_string() && ParseAlgorithm(alg->get_ref<const std::string&>()) == out.second)) {
    return KeyError("alg does not match the key type");
  }
  return out;
}

// Keeps kids printable in logs and headers, and always encodable as JSON.
bool IsPlainKid(const std::string& kid) {
  return !kid.empty() && kid.size() <= kMaxKidBytes &&
         std::all_of(kid.begin(), kid.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// JWS carries raw R||S; OpenSSL wants DER.
bool RawToDer(std::string_view raw, std::string& der) {
  const EcdsaSigPtr sig(ECDSA_SIG_new());
  BnPtr r(BN_bin2bn(Bytes(raw), kP256CoordinateBytes, nullptr));
  BnPtr s(BN_bin2bn(Bytes(raw) + kP256CoordinateBytes, kP256CoordinateBytes, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  r.release();  // owned by sig now
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return false;
  der.resize(static_cast<std::size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

}  // namespace

struct PublicKey::Impl {
  PkeyPtr key;
  Algorithm algorithm;
  std::string kid;
  std::string thumbprint;
  Json required;  // the RFC 7638 members
  std::size_t signature_bytes;
};

PublicKey::PublicKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PublicKey::~PublicKey() = default;

Result<std::shared_ptr<const PublicKey>> PublicKey::FromJwk(const Json& jwk) {
  if (!jwk.is_object()) return KeyError("not a JSON object");
  for (const char* name : kPrivateMembers) {
    if (jwk.contains(name)) return KeyError(std::string("private member \"") + name + "\"");
  }
  if (jwk.contains("use") && !MemberIs(jwk, "use", "sig")) return KeyError("use must be sig");
  const auto kid = jwk.find("kid");
  if (kid != jwk.end() && !(kid->is_string() && IsPlainKid(kid->get_ref<const std::string&>()))) {
    return KeyError("kid must be 1 to 256 printable ASCII characters");
  }
  auto imported = ImportKey(jwk);
  if (!imported) return imported.error();
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(imported->first);
  impl->algorithm = imported->second;
  impl->required = RequiredMembers(impl->key.get(), impl->algorithm);
  if (impl->required.is_null()) return KeyError("cannot export the key");
  const std::string canonical = impl->required.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &digest_len, EVP_sha256(), nullptr) !=
      1) {
    return KeyError("SHA-256 unavailable");
  }
  impl->thumbprint = Base64UrlEncode({reinterpret_cast<const char*>(digest), digest_len});
  impl->kid = kid != jwk.end() ? kid->get<std::string>() : impl->thumbprint;
  impl->signature_bytes = impl->algorithm == Algorithm::kRS256
                              ? static_cast<std::size_t>(EVP_PKEY_get_size(impl->key.get()))
                              : kRawSignatureBytes;
  return std::shared_ptr<const PublicKey>(new PublicKey(std::move(impl)));
}

Result<std::shared_ptr<const PublicKey>> PublicKey::FromEvpKey(evp_pkey_st* key,
                                                               Algorithm algorithm) {
  // Re-imported from its public members, so a private key's secret never lands in here.
  if (key == nullptr || !KeyFits(key, algorithm)) {
    ERR_clear_error();
    return KeyError(std::string("key does not fit ") + std::string(AlgorithmName(algorithm)));
  }
  const Json members = RequiredMembers(key, algorithm);
  ERR_clear_error();
  if (members.is_null()) return KeyError("cannot export the public key");
  return FromJwk(members);
}

Algorithm PublicKey::algorithm() const { return impl_->algorithm; }
const std::string& PublicKey::kid() const { return impl_->kid; }
const std::string& PublicKey::thumbprint() const { return impl_->thumbprint; }

Json PublicKey::Jwk() const {
  Json jwk = impl_->required;
  jwk["kid"] = impl_->kid;
  jwk["alg"] = AlgorithmName(impl_->algorithm);
  jwk["use"] = "sig";
  return jwk;
}

bool PublicKey::VerifySignature(std::string_view signing_input, std::string_view signature) const {
  if (signature.size() != impl_->signature_bytes) return false;
  std::string der;
  if (impl_->algorithm == Algorithm::kES256) {
    if (!RawToDer(signature, der)) return false;
    signature = der;
  }
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  // Ed25519 is one-shot with no separate digest (RFC 8032 PureEdDSA).
  const EVP_MD* md = impl_->algorithm == Algorithm::kEdDSA ? nullptr : EVP_sha256();
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, impl_->key.get()) == 1 &&
                  (impl_->algorithm != Algorithm::kRS256 ||
                   EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
                  EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                                   Bytes(signing_input), signing_input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace gatehouse::auth
