// UTF-8 of text clients send: where a sequence is well-formed, and how a caller-typed name is
// made safe to keep and show (the event log's usernames, API.md §12).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse {

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) that starts text[i] (a byte >= 0x80), or 0 when there is none.
// Inline: the JSON writer's hot loop calls it for every non-ASCII character.
inline std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto at = [&text](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = at(i);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < length || at(i + 1) < low || at(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return length;
}

// `text` as it is kept and shown where a caller typed it (an event's username): every control
// character (C0, DEL, C1), every bidirectional formatting character (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), the line and paragraph separators (U+2028, U+2029) and every
// byte that is not part of well-formed UTF-8 replaced by U+FFFD, so a name can neither forge a
// line nor reorder what a reader sees; then cut to at most `max_bytes` on a character boundary
// (after the replacement, so the bound holds). Reads no more of `text` than the bound needs.
std::string CleanTypedText(std::string_view text, std::size_t max_bytes);

}  // namespace gatehouse
