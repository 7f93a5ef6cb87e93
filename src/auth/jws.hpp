// Compact JWS (RFC 7515) signing and strict verification for HS256: one key (HmacKey) and the
// set of HS256 keys a keyring verifies with (HmacKeySet). The asymmetric algorithms live in
// signing_key.hpp; an HS256 token never goes through them.
// The verifier never lets the token pick the algorithm: it accepts exactly the algorithm of
// its key and refuses `none`, unknown header members marked `crit`, and any malformed shape.
// Thread safety: one HmacKey may be used from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace gatehouse::auth {

// Hard cap on a token's length; longer tokens are refused before any decoding.
inline constexpr std::size_t kMaxTokenBytes = 8192;

struct CompactParts;  // auth/jose_json.hpp

class HmacKey {
 public:
  // `secret` is used as raw key bytes. The copy held here is zeroed on destruction. A key with
  // a `kid` (one of several secrets, after a rotation) writes it into the header of the tokens
  // it signs and verifies only tokens whose header names it; a key without verifies only
  // tokens without a `kid`.
  explicit HmacKey(std::string_view secret, std::string_view kid = {});
  ~HmacKey();
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // Returns base64url(header).base64url(payload).base64url(HMAC-SHA256) for a JSON payload.
  // The header is {"alg":"HS256","typ":"JWT"}, with ,"kid":"<kid>" when the key has one.
  std::string Sign(std::string_view payload_json) const;

  // Checks shape, header (alg must be "HS256", typ if present "JWT", no crit) and signature
  // in constant time; on success writes the decoded payload JSON into `payload_json`.
  // Fails with kInvalidToken for every defect. Claims are not checked here.
  Status Verify(std::string_view token, std::string& payload_json) const;
  // The same on a token already split (SplitCompact): each token is split once.
  bool Verify(const CompactParts& parts, std::string& payload_json) const;

  const std::string& kid() const;
  // base64url of the exact header Sign writes.
  const std::string& header_b64() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HS256 keys tokens may be verified with: the first secret (tokens without kid) and each
// rotated secret (tokens naming its kid). Thread safety as VerifierSet (signing_key.hpp):
// const members from many threads; mutate only a copy that is not yet published.
class HmacKeySet {
 public:
  // The key without kid (replacing any earlier one); nullptr removes it.
  void SetKey(std::shared_ptr<const HmacKey> key);
  // A key with a kid. Failure: kInvalidKey for nullptr or a key without kid, kConflict when
  // another key has that kid.
  Status AddKey(std::shared_ptr<const HmacKey> key);
  bool empty() const { return !first_ && by_kid_.empty(); }

  // The key whose own header is exactly `header_b64` (our tokens: no JSON parsing), or nullptr.
  const HmacKey* ForHeader(std::string_view header_b64) const;
  // The key a parsed HS256 header names: by kid, or the first secret when there is none.
  const HmacKey* ForKid(const std::optional<std::string>& kid) const;

  // Strict verification as VerifierSet::Verify does it for an HS256 token; every other alg
  // is refused. On failure clears `payload_json` and returns kInvalidToken.
  Status Verify(std::string_view token, std::string& payload_json) const;

 private:
  using KeyMap = std::map<std::string, std::shared_ptr<const HmacKey>, std::less<>>;
  bool VerifyParts(const CompactParts& parts, std::string& payload_json) const;

  std::shared_ptr<const HmacKey> first_;
  KeyMap by_kid_;
  KeyMap by_header_;  // base64url of the exact header each keyed HmacKey writes
};

// base64url without padding (RFC 7515 §2). Decode refuses padding, whitespace and
// non-alphabet characters, and non-canonical trailing bits.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string& out);

}  // namespace gatehouse::auth
