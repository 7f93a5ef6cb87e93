// The one rule of every shared secret (jwt.secret, introspection.secret, admin.secret, and a
// jwt-secret file): checked at start by config/ and auth/ alike.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse {

// At least `fewest_bytes` bytes, not one byte repeated (40 NULs, 32 'a's: the length of a key
// and none of its worth), and no whitespace at either end (header values are trimmed, so such a
// secret could never be presented; in a file it is a copy-paste slip).
inline bool IsStrongSecret(std::string_view secret, std::size_t fewest_bytes) {
  constexpr std::string_view kWhitespace = " \t\r\n\v\f";
  return secret.size() >= fewest_bytes && !secret.empty() &&
         secret.find_first_not_of(secret.front()) != std::string_view::npos &&
         kWhitespace.find(secret.front()) == std::string_view::npos &&
         kWhitespace.find(secret.back()) == std::string_view::npos;
}

}  // namespace gatehouse
