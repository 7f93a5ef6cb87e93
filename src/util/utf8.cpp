#include "util/utf8.hpp"

#include <algorithm>
#include <cstdint>

namespace gatehouse {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The code point of the well-formed sequence of `length` bytes at text[i].
uint32_t CodePoint(std::string_view text, std::size_t i, std::size_t length) {
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t code = static_cast<unsigned char>(text[i]) & kLeadMask[length];
  for (std::size_t k = 1; k < length; ++k) {
    code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  }
  return code;
}

bool IsHiddenOrControl(uint32_t code) {
  return code < 0x20 || (code >= 0x7F && code <= 0x9F) || code == 0x061C || code == 0x200E ||
         code == 0x200F || code == 0x2028 || code == 0x2029 || (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

}  // namespace

std::string CleanTypedText(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80 ? 1 : Utf8SequenceLength(text, i);
    const bool replaced = length == 0 || IsHiddenOrControl(CodePoint(text, i, length));
    // An invalid byte is replaced alone; the bytes after it are read afresh.
    const std::string_view kept = replaced ? kReplacement : text.substr(i, length);
    if (out.size() + kept.size() > max_bytes) break;
    out.append(kept);
    i += length == 0 ? 1 : length;
  }
  return out;
}

}  // namespace gatehouse
