#include "util/utf8.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace gatehouse {
namespace {

using std::string_literals::operator""s;

const std::string kFffd = "\xEF\xBF\xBD";

std::string Repeat(const std::string& piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(PrintableUtf8, ShortValidTextIsKept) {
  EXPECT_EQ(PrintableUtf8("Mozilla/5.0 (X11)\tété €😀", 256), "Mozilla/5.0 (X11)\tété €😀");
  EXPECT_EQ(PrintableUtf8("", 256), "");
}

TEST(PrintableUtf8, InvalidBytesAreReplacedBeforeTheCut) {
  // Cut first, 256 bytes of 0xFF would become 768.
  EXPECT_EQ(PrintableUtf8(std::string(300, '\xFF'), 256), Repeat(kFffd, 85));
  EXPECT_EQ(PrintableUtf8("a" + std::string(255, '\xFF'), 256), "a" + Repeat(kFffd, 85));
  EXPECT_EQ(PrintableUtf8(std::string(256, '\x80'), 256), Repeat(kFffd, 85));
}

TEST(PrintableUtf8, ControlCharactersButTabAreReplaced) {
  EXPECT_EQ(PrintableUtf8("a\x01"s + "b\x7f" + "c\t" + "d\0"s, 256),
            "a" + kFffd + "b" + kFffd + "c\td" + kFffd);
}

TEST(PrintableUtf8, MalformedSequencesAreReplacedBytewise) {
  EXPECT_EQ(PrintableUtf8("\xC0\xAF", 256), kFffd + kFffd);             // overlong '/'
  EXPECT_EQ(PrintableUtf8("\xED\xA0\x80", 256), Repeat(kFffd, 3));      // a surrogate
  EXPECT_EQ(PrintableUtf8("\xF4\x90\x80\x80", 256), Repeat(kFffd, 4));  // above U+10FFFF
  EXPECT_EQ(PrintableUtf8("x\xE2\x82", 256), "x" + kFffd + kFffd);      // truncated €
}

TEST(PrintableUtf8, ACharacterAcrossTheBoundIsLeftOutWhole) {
  EXPECT_EQ(PrintableUtf8(std::string(254, 'x') + "€", 256), std::string(254, 'x'));
  EXPECT_EQ(PrintableUtf8(std::string(253, 'x') + "€", 256), std::string(253, 'x') + "€");
  EXPECT_EQ(PrintableUtf8(std::string(255, 'x') + "é", 256), std::string(255, 'x'));
  EXPECT_EQ(PrintableUtf8(std::string(254, 'x') + "\xFF", 256), std::string(254, 'x'));
}

// Whatever the bytes, the result is well-formed UTF-8 of at most the bound, and a valid,
// printable input that fits comes back unchanged.
TEST(PrintableUtf8, RandomBytesGiveValidUtf8WithinTheBound) {
  std::mt19937 random(16);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 600);
  for (int round = 0; round < 2000; ++round) {
    std::string text(length(random), '\0');
    for (char& c : text) c = static_cast<char>(byte(random));
    const std::string out = PrintableUtf8(text, 256);
    ASSERT_LE(out.size(), 256u);
    for (std::size_t i = 0; i < out.size();) {
      const auto b = static_cast<unsigned char>(out[i]);
      ASSERT_FALSE((b < 0x20 && b != '\t') || b == 0x7F);
      const std::size_t n = b < 0x80 ? 1 : Utf8SequenceLength(out, i);
      ASSERT_NE(n, 0u) << "invalid UTF-8 at " << i;
      i += n;
    }
    EXPECT_EQ(PrintableUtf8(out, 256), out);
  }
}

}  // namespace
}  // namespace gatehouse
