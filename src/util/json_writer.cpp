#include "util/json_writer.hpp"

#include <cstdint>
#include <cstring>

#include "util/utf8.hpp"

namespace gatehouse {

namespace {

constexpr uint64_t kEachByte = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Whether any byte of the 8 in `word` needs a look: a control character, '"' or '\\' (the
// bytes RFC 8259 requires escaped), or a byte of 0x80 and above (which must be checked to be
// well-formed UTF-8). The usual SWAR tests: a byte below 0x20 borrows in `word - 0x20` where its
// high bit was clear, and a byte equal to c becomes zero after XOR with c.
bool WordNeedsEscape(uint64_t word) {
  const auto has_zero = [](uint64_t v) { return ((v - kEachByte) & ~v & kHighBits) != 0; };
  const bool has_control = ((word - 0x20 * kEachByte) & ~word & kHighBits) != 0;
  return (word & kHighBits) != 0 || has_control || has_zero(word ^ ('"' * kEachByte)) ||
         has_zero(word ^ ('\\' * kEachByte));
}

bool ByteNeedsEscape(unsigned char byte) { return byte < 0x20 || byte == '"' || byte == '\\'; }

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  // Runs of characters that need no escape (all of a token, almost all of a name) are found
  // eight bytes at a time and appended in one piece: per-character appends were 7% of a
  // refresh's CPU time, and the byte-at-a-time scan still 4%.
  std::size_t run_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    uint64_t word;
    if (text.size() - i >= sizeof word) {
      std::memcpy(&word, text.data() + i, sizeof word);
      if (!WordNeedsEscape(word)) {
        i += sizeof word;
        continue;
      }
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t sequence = byte >= 0x80 ? Utf8SequenceLength(text, i) : 0;
    if (sequence == 0 && !ByteNeedsEscape(byte) && byte < 0x80) sequence = 1;
    if (sequence != 0) {
      i += sequence;
      continue;
    }
    out.append(text.data() + run_start, i - run_start);
    run_start = ++i;
    if (byte >= 0x80) {
      // Not UTF-8 (a client's path, a header): U+FFFD keeps the line valid JSON.
      out += "\\ufffd";
    } else if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
    } else {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out += '"';
}

void JsonObjectWriter::Key(std::string_view key) {
  if (!first_) out_ += ',';
  first_ = false;
  AppendJsonString(out_, key);
  out_ += ':';
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, int64_t value) {
  Key(key);
  out_ += std::to_string(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, bool value) {
  Key(key);
  out_ += value ? "true" : "false";
  return *this;
}

std::string JsonObjectWriter::Finish() {
  out_ += '}';
  return std::move(out_);
}

}  // namespace gatehouse
