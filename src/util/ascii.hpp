// ASCII text rules. Case folding: usernames and the password deny list ignore ASCII case only, so
// that no locale and no Unicode table decides whether two names are the same. Header values are
// trimmed of HTTP's optional whitespace only (spaces and tabs, RFC 9110 §5.6.3).
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

// `text` without the spaces and tabs at either end.
constexpr std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace gatehouse
