#include "util/utf8.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace gatehouse {
namespace {

using std::string_literals::operator""s;

const std::string kFffd = "\xEF\xBF\xBD";

TEST(CleanTypedText, PlainAndInternationalNamesStayAsTheyAre) {
  EXPECT_EQ(CleanTypedText("alice", 256), "alice");
  EXPECT_EQ(CleanTypedText("Ärger ünd 日本 🙂", 256), "Ärger ünd 日本 🙂");
  EXPECT_EQ(CleanTypedText("", 256), "");
}

TEST(CleanTypedText, ControlCharactersBecomeTheReplacementCharacter) {
  EXPECT_EQ(CleanTypedText("a\x01"
                           "b\nc\td\x7F"
                           "e",
                           256),
            "a" + kFffd + "b" + kFffd + "c" + kFffd + "d" + kFffd + "e");
  EXPECT_EQ(CleanTypedText("a\0b"s, 256), "a" + kFffd + "b");
  // C1: U+0080 and U+009F (two-byte sequences); U+00A0 is a character.
  EXPECT_EQ(CleanTypedText("\xC2\x80\xC2\x9F\xC2\xA0", 256), kFffd + kFffd + "\xC2\xA0");
}

TEST(CleanTypedText, BidiFormattingAndSeparatorsBecomeTheReplacementCharacter) {
  for (const char* hidden :
       {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200E", "\u200F", "\u061C", "\u2028", "\u2029"}) {
    EXPECT_EQ(CleanTypedText("x"s + hidden + "y", 256), "x" + kFffd + "y") << hidden;
  }
  // Neighbours of the ranges are characters.
  EXPECT_EQ(CleanTypedText("\u2029\u202F\u2065\u206A", 256), kFffd + "\u202F\u2065\u206A");
}

TEST(CleanTypedText, BytesThatAreNotUtf8BecomeOneReplacementEach) {
  EXPECT_EQ(CleanTypedText("a\xFF"
                           "b",
                           256),
            "a" + kFffd + "b");
  EXPECT_EQ(CleanTypedText("\xC0\xAF", 256), kFffd + kFffd);              // overlong '/'
  EXPECT_EQ(CleanTypedText("\xED\xA0\x80", 256), kFffd + kFffd + kFffd);  // a surrogate
  EXPECT_EQ(CleanTypedText("\xF4\x90\x80\x80", 256), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(CleanTypedText("ab\xE6\x97", 256), "ab" + kFffd + kFffd);                 // cut short
}

TEST(CleanTypedText, TheCutFallsAfterTheReplacementOnACharacterBoundary) {
  // 255 ASCII bytes and a control: its U+FFFD (3 bytes) does not fit in 256.
  EXPECT_EQ(CleanTypedText(std::string(255, 'a') + "\x01", 256), std::string(255, 'a'));
  EXPECT_EQ(CleanTypedText(std::string(250, 'a') + "\x01\x01\x01", 256),
            std::string(250, 'a') + kFffd + kFffd);
  // A two-byte character straddling the bound is left out whole.
  EXPECT_EQ(CleanTypedText(std::string(255, 'a') + "é", 256), std::string(255, 'a'));
  const std::string cut = CleanTypedText(std::string(100000, '\x01'), 256);
  EXPECT_EQ(cut.size(), 255u);  // 85 replacements
  for (const std::string& text :
       {std::string(300, 'x'), std::string(200, '\x01'), "日本語"s + std::string(300, '\xFF')}) {
    EXPECT_LE(CleanTypedText(text, 256).size(), 256u);
  }
}

TEST(CleanTypedText, CleaningTheLowerCasedKeyEqualsLowerCasingTheCleanedName) {
  // NewEvent keeps CleanTypedText of the username key, and the filter cleans the asked name's
  // key: both must agree with the key of the kept username.
  const std::string typed = "MiXeD\x01\u202E" + std::string(300, 'Q') + "\xFF";
  std::string lowered = typed;
  for (char& c : lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string cleaned_then_lowered = CleanTypedText(typed, 256);
  for (char& c : cleaned_then_lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  EXPECT_EQ(CleanTypedText(lowered, 256), cleaned_then_lowered);
}

// The user agent of a session goes through the same rule (api/sessions_api.cpp).
TEST(CleanTypedText, RandomBytesGiveValidUtf8WithinTheBound) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 600);
  for (int round = 0; round < 2000; ++round) {
    std::string text(length(random), '\0');
    for (char& c : text) c = static_cast<char>(byte(random));
    const std::string out = CleanTypedText(text, 256);
    ASSERT_LE(out.size(), 256u);
    for (std::size_t i = 0; i < out.size();) {
      const auto b = static_cast<unsigned char>(out[i]);
      ASSERT_FALSE(b < 0x20 || b == 0x7F);
      const std::size_t n = b < 0x80 ? 1 : Utf8SequenceLength(out, i);
      ASSERT_NE(n, 0u) << "invalid UTF-8 at " << i;
      i += n;
    }
    EXPECT_EQ(CleanTypedText(out, 256), out);
  }
}

}  // namespace
}  // namespace gatehouse
