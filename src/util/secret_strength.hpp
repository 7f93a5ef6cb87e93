// The one rule of every shared secret (jwt.secret, introspection.secret, admin.secret, and a
// jwt-secret file): checked at start by config/ and auth/ alike.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse {

// The longest unit whose repetition IsStrongSecret refuses ("abab…", "abcabc…", up to eight
// bytes such as a short word typed again and again).
inline constexpr std::size_t kShortestSecretPeriod = 8;

// Whether `secret` is one unit of at most kShortestSecretPeriod bytes said again and again
// (the last time possibly cut short): the length of a key and the worth of its unit.
inline bool IsShortUnitRepeated(std::string_view secret) {
  for (std::size_t period = 1; period <= kShortestSecretPeriod && period < secret.size();
       ++period) {
    if (secret.substr(period) == secret.substr(0, secret.size() - period)) return true;
  }
  return false;
}

// At least `fewest_bytes` bytes, not a short unit repeated (40 NULs, 32 'a's, "abab…": the
// length of a key and none of its worth), no control character (C0 or DEL: none can be sent in
// an Authorization header, and in a file or a setting it is a slip), and no whitespace at
// either end (header values are trimmed, so such a secret could never be presented; in a file
// it is a copy-paste slip).
inline bool IsStrongSecret(std::string_view secret, std::size_t fewest_bytes) {
  constexpr std::string_view kWhitespace = " \t\r\n\v\f";
  for (const char c : secret) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
  }
  return secret.size() >= fewest_bytes && !secret.empty() && !IsShortUnitRepeated(secret) &&
         kWhitespace.find(secret.front()) == std::string_view::npos &&
         kWhitespace.find(secret.back()) == std::string_view::npos;
}

}  // namespace gatehouse
