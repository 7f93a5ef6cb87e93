// ASCII case folding: usernames and the password deny list ignore ASCII case only, so that no
// locale and no Unicode table decides whether two names are the same.
#pragma once

#include <string>
#include <string_view>

namespace gatehouse {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

}  // namespace gatehouse
