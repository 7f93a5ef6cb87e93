// Asymmetric JWS signing (EdDSA, ES256, RS256) and a strict multi-key verifier (RFC 8725).
// HS256 keeps its own classes, HmacKey and HmacKeySet (jws.hpp), which a keyring configured
// for HS256 uses alone; VerifierSet can hold HS256 keys next to the asymmetric public keys
// (migration), but each token is checked only by the key its kid and alg name.
// No OpenSSL type appears here: keys live behind pimpl.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/jws.hpp"
#include "util/result.hpp"

namespace gatehouse::auth {

// A private key for one asymmetric algorithm. Its kid is the RFC 7638 thumbprint of its
// public key, so reloading the same PEM gives the same kid.
// Thread safety: immutable after construction; Sign may run on many threads at once.
class SigningKey {
 public:
  // Loads an unencrypted PEM private key (PKCS#8 "PRIVATE KEY", or the traditional
  // "EC PRIVATE KEY" / "RSA PRIVATE KEY") and checks it fits `algorithm`: Ed25519 for EdDSA,
  // EC P-256 for ES256, RSA of 2048..8192 bits for RS256. Never prompts for a passphrase.
  // Failure (unparsable, encrypted, public-only, wrong type or size, HS256): kInvalidKey with a
  // log-only detail ("signing key: <why>"), a configuration error, never for a client.
  static Result<std::unique_ptr<SigningKey>> FromPrivatePem(std::string_view pem,
                                                            Algorithm algorithm);

  // A fresh key: Ed25519, P-256 or RSA 3072. Failure: kInvalidKey for HS256; an OpenSSL
  // failure throws std::runtime_error (a broken environment, not input).
  static Result<std::unique_ptr<SigningKey>> Generate(Algorithm algorithm);

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // Unencrypted PKCS#8 PEM of the private key, for the caller to write to a 0600 file.
  // The string holds the secret: clear it (OPENSSL_cleanse) once written.
  std::string PrivatePem() const;

  // The public JWK with "kid", "alg" and "use":"sig"; never any private member.
  nlohmann::json PublicJwk() const;
  const std::string& kid() const;
  Algorithm algorithm() const;
  // base64url of the exact header Sign writes.
  const std::string& header_b64() const;
  // The public half, e.g. for VerifierSet::AddPublicKey.
  std::shared_ptr<const PublicKey> Public() const;

  // Returns base64url(header).base64url(payload).base64url(signature) with the header exactly
  // {"alg":"<alg>","typ":"JWT","kid":"<kid>"}. ES256 signatures are raw R||S (64 bytes).
  // Throws std::runtime_error only if OpenSSL fails (not expected with a loaded key).
  std::string Sign(std::string_view payload_json) const;

  // The raw JWS signature bytes over an arbitrary signing input (what Sign appends, before
  // base64url). Lower level than Sign, for tests against published vectors. Throws like Sign.
  std::string SignSigningInput(std::string_view signing_input) const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The keys a token may be verified with: asymmetric public keys by kid, and optionally one
// HmacKey. Configurations:
//  - HS256 only: SetHmacKey, nothing else. Tokens are checked exactly as HmacKey::Verify does
//    (no kid allowed). Jwks() is {"keys":[]}.
//  - asymmetric: AddPublicKey / AddPublicJwk for the current key and every key still inside
//    its rotation window. Tokens must carry a kid naming one of them, and that key's
//    algorithm must equal the header's alg.
//  - migration: both; an HS256 token goes to the HMAC key only, others by kid.
//  - HS256 after rotations: SetHmacKey for the first secret (tokens without kid), AddHmacKey
//    for each rotated secret (tokens naming its kid).
// Thread safety: the const members may run on many threads at once. The mutating members must
// not overlap any other call; to rotate while serving, copy the set (cheap: keys are shared),
// change the copy, and publish it (e.g. std::atomic<std::shared_ptr<const VerifierSet>>).
// Copyable and movable; copies share the (immutable) keys.
class VerifierSet {
 public:
  // The HS256 key without kid (replacing any earlier one); nullptr removes it.
  void SetHmacKey(std::shared_ptr<const HmacKey> key);
  // An HS256 key with a kid, for tokens naming it. Failure: kInvalidKey for nullptr or a key
  // without kid, kConflict when another key has that kid.
  Status AddHmacKey(std::shared_ptr<const HmacKey> key);

  // Adds an asymmetric public key under key->kid(). Adding the same key material under the
  // same kid again is a no-op. Failure: kConflict when the kid names different key material,
  // kInvalidKey for nullptr.
  Status AddPublicKey(std::shared_ptr<const PublicKey> key);
  // PublicKey::FromJwk then AddPublicKey; fails with their errors.
  Status AddPublicJwk(const nlohmann::json& jwk);
  // Removes the key with this kid; false if there was none.
  bool RemoveKey(std::string_view kid);

  // Off by default. When on, an asymmetric token without kid is verified with the only
  // configured key of its alg, and refused when there are none or several. For third-party
  // tokens (e.g. the RFC 7515 examples); gatehouse's own tokens always carry a kid.
  void SetAcceptMissingKid(bool accept);

  // Strict RFC 8725 verification. Refuses: tokens over kMaxTokenBytes; any shape but three
  // non-empty base64url parts (strict, as Base64UrlDecode); a header that is not a JSON object,
  // has duplicate members, "crit", no string "alg", a "typ" other than JWT, or a non-string
  // "kid"; "none" and every alg without a configured key; a missing or unknown kid (see
  // SetAcceptMissingKid); a kid whose key has a different algorithm than alg (so a public key
  // can never serve as an HMAC secret); a signature of the wrong length or encoding (ES256
  // must be raw R||S, not DER) or that does not verify; a payload that is not a JSON object.
  // On success writes the payload JSON; on any failure clears it and returns kInvalidToken.
  // Claims are not checked here.
  Status Verify(std::string_view token, std::string& payload_json) const;

  // {"keys":[<public JWK>...]} of every asymmetric key, in the order added.
  nlohmann::json Jwks() const;
  // The asymmetric key with this kid, or nullptr.
  std::shared_ptr<const PublicKey> Find(std::string_view kid) const;
  bool HasHmacKey() const;
  std::size_t PublicKeyCount() const;

 private:
  using KeyMap = std::map<std::string, std::shared_ptr<const PublicKey>, std::less<>>;

  bool VerifyToken(std::string_view token, std::string& payload_json) const;
  // The key for a header that is not byte-for-byte one of ours; nullptr when none fits.
  const PublicKey* SelectKey(Algorithm algorithm, const std::string* kid) const;

  HmacKeySet hmac_keys_;  // HS256 (migration): checked by jws.cpp's own path
  std::vector<std::shared_ptr<const PublicKey>> keys_;  // in the order added, for Jwks()
  KeyMap by_kid_;
  KeyMap by_header_;  // base64url of the exact header Sign writes for each key
  bool accept_missing_kid_ = false;
};

}  // namespace gatehouse::auth
