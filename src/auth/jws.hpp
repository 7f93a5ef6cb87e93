// Compact JWS (RFC 7515) signing and strict verification for HS256.
// The verifier never lets the token pick the algorithm: it accepts exactly the algorithm of
// its key and refuses `none`, unknown header members marked `crit`, and any malformed shape.
// Thread safety: one HmacKey may be used from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace gatehouse::auth {

// Hard cap on a token's length; longer tokens are refused before any decoding.
inline constexpr std::size_t kMaxTokenBytes = 8192;

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

  const std::string& kid() const;
  // base64url of the exact header Sign writes.
  const std::string& header_b64() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// base64url without padding (RFC 7515 §2). Decode refuses padding, whitespace and
// non-alphabet characters, and non-canonical trailing bits.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string& out);

}  // namespace gatehouse::auth
