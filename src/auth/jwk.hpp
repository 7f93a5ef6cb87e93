// JWS algorithm names and public keys in JSON Web Key form (RFC 7517, 7518 §6, 8037).
// A PublicKey only verifies; it never holds private material, and its JWK never prints any.
// Its kid defaults to the RFC 7638 thumbprint, so the same key always has the same id.
// Thread safety: a PublicKey is immutable after construction; share it freely (shared_ptr).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/jws_algorithm.hpp"
#include "util/result.hpp"

// OpenSSL's EVP_PKEY (typedef'd in openssl/types.h), declared so this header needs no OpenSSL
// include.
struct evp_pkey_st;

namespace gatehouse::auth {

// The JWS algorithms gatehouse signs and verifies with; ParseAlgorithm and AlgorithmName come
// with them (util/jws_algorithm.hpp, where the jwt.algorithm setting names them too).
using Algorithm = JwsAlgorithm;

// True for EdDSA, ES256 and RS256.
constexpr bool IsAsymmetric(Algorithm algorithm) { return algorithm != Algorithm::kHS256; }

class PublicKey {
 public:
  // Imports a public JWK: {"kty":"OKP","crv":"Ed25519","x"}, {"kty":"EC","crv":"P-256","x",
  // "y"} (32 bytes each) or {"kty":"RSA","n","e"} (n of 2048 to 8192 bits); base64url members
  // are checked strictly. Optional members: "alg" (must fit the key type when present; absent,
  // the one algorithm of that type is used), "use" (must be "sig"), "kid" (1 to 256 printable
  // ASCII characters; absent, the thumbprint is the kid). Refuses any private member (d, p, q, dp,
  // dq, qi, oth, k) so private material cannot slip into a key set that is later served as JWKS.
  // Failure: ErrorCode::kInvalidKey with a detail for the log ("jwk: <why>"); treat it as a
  // configuration or storage defect, never show it to a client.
  static Result<std::shared_ptr<const PublicKey>> FromJwk(const nlohmann::json& jwk);

  // The public half of an OpenSSL key (private or public), copied out of it, after checking
  // the key fits `algorithm` (Ed25519, P-256, RSA of 2048..8192 bits). Keeps no reference to
  // `key`. Failure (nullptr, wrong type or size, HS256): kInvalidKey. Used by SigningKey.
  static Result<std::shared_ptr<const PublicKey>> FromEvpKey(evp_pkey_st* key, Algorithm algorithm);

  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  Algorithm algorithm() const;
  // The id tokens name this key by: the JWK's "kid" when imported with one, else thumbprint().
  const std::string& kid() const;
  // RFC 7638 SHA-256 thumbprint, base64url: identifies the key material itself.
  const std::string& thumbprint() const;

  // The public JWK with "kid", "alg" and "use":"sig", members per RFC 7518/8037 only.
  nlohmann::json Jwk() const;

  // Verifies `signature` in JWS form (Ed25519: 64 bytes; ES256: raw R||S, 64 bytes, never
  // DER; RS256: exactly the modulus length) over `signing_input`. False on any mismatch or
  // malformed signature; the OpenSSL error queue is cleared. Safe from many threads at once.
  bool VerifySignature(std::string_view signing_input, std::string_view signature) const;

 private:
  struct Impl;
  explicit PublicKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::auth
