#include "util/json_writer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace gatehouse {
namespace {

using std::string_literals::operator""s;

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(AppendJsonString, PlainTextIsQuoted) { EXPECT_EQ(Quoted("hello"), "\"hello\""); }

TEST(AppendJsonString, EmptyStringIsTwoQuotes) { EXPECT_EQ(Quoted(""), "\"\""); }

TEST(AppendJsonString, QuoteIsEscaped) { EXPECT_EQ(Quoted("a\"b"), R"("a\"b")"); }

TEST(AppendJsonString, BackslashIsEscaped) { EXPECT_EQ(Quoted("a\\b"), R"("a\\b")"); }

TEST(AppendJsonString, NewlineTabAndCarriageReturnUseUnicodeEscapes) {
  EXPECT_EQ(Quoted("a\nb\tc\rd"), R"("a\u000ab\u0009c\u000dd")");
}

TEST(AppendJsonString, UnitSeparatorUsesLowerCaseHexEscape) {
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
}

TEST(AppendJsonString, NulIsEscaped) { EXPECT_EQ(Quoted("a\0b"s), R"("a\u0000b")"); }

TEST(AppendJsonString, SpaceAndDeleteAreNotEscaped) { EXPECT_EQ(Quoted(" \x7f"), "\" \x7f\""); }

TEST(AppendJsonString, SlashIsNotEscaped) { EXPECT_EQ(Quoted("a/b"), "\"a/b\""); }

TEST(AppendJsonString, Utf8PassesThroughUnchanged) {
  EXPECT_EQ(Quoted("J\xC3\xBCrgen \xF0\x9F\x98\x80"), "\"J\xC3\xBCrgen \xF0\x9F\x98\x80\"");
}

TEST(AppendJsonString, AppendsToExistingText) {
  std::string out = "x=";
  AppendJsonString(out, "y");
  EXPECT_EQ(out, "x=\"y\"");
}

TEST(AppendJsonString, EveryAsciiCharacterRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  const nlohmann::json parsed = nlohmann::json::parse(Quoted(all));
  ASSERT_TRUE(parsed.is_string());
  EXPECT_EQ(parsed.get<std::string>(), all);
}

// The length of the UTF-8 sequence at text[i] by decoding it (0: not UTF-8), written
// independently of the escaper's table of second-byte ranges.
std::size_t ReferenceSequenceLength(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 0 || lead > 0xF7 || i + length > text.size()) return 0;
  uint32_t code = lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kLeast[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// The escaper skips eight bytes at a time; a byte-at-a-time reference must agree with it
// wherever the bytes that need escapes fall, including on either side of a word's edge.
std::string ReferenceQuoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t length = ReferenceSequenceLength(text, i);
      if (length == 0) {
        out += "\\ufffd";
      } else {
        out.append(text.substr(i, length));
        i += length - 1;
      }
    } else if (byte == '"' || byte == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

TEST(AppendJsonString, AgreesWithAByteAtATimeReferenceOnRandomText) {
  std::mt19937 random(20261201);
  // Mostly plain text, so escapes fall at every offset within words of otherwise clean bytes;
  // the rest are the bytes next to the ones that need escaping, and non-ASCII bytes (which
  // sometimes form UTF-8 sequences, well-formed or not).
  const std::string special =
      "\"\\\x1f\x20\x21\x00\x7f\x80\xff\x5b\x5d\x01\n\xc3\xa9\xe2\x82\xac\xf0\x9f\xed\xc0"s;
  for (int round = 0; round < 20000; ++round) {
    std::string text(random() % 40, 'a');
    for (char& c : text) {
      const unsigned roll = random() % 16;
      c = roll < 12 ? static_cast<char>('a' + random() % 26) : special[random() % special.size()];
    }
    ASSERT_EQ(Quoted(text), ReferenceQuoted(text)) << "round " << round;
  }
}

TEST(JsonObjectWriter, EmptyObject) { EXPECT_EQ(JsonObjectWriter().Finish(), "{}"); }

TEST(JsonObjectWriter, StringMember) {
  EXPECT_EQ(JsonObjectWriter().Add("message", std::string_view("hi")).Finish(),
            R"({"message":"hi"})");
}

TEST(JsonObjectWriter, StringLiteralIsWrittenAsStringNotBool) {
  EXPECT_EQ(JsonObjectWriter().Add("type", "access").Finish(), R"({"type":"access"})");
}

TEST(JsonObjectWriter, IntegerMembers) {
  EXPECT_EQ(JsonObjectWriter()
                .Add("zero", int64_t{0})
                .Add("neg", int64_t{-42})
                .Add("max", std::numeric_limits<int64_t>::max())
                .Add("min", std::numeric_limits<int64_t>::min())
                .Finish(),
            R"({"zero":0,"neg":-42,"max":9223372036854775807,"min":-9223372036854775808})");
}

TEST(JsonObjectWriter, BoolMembers) {
  EXPECT_EQ(JsonObjectWriter().Add("t", true).Add("f", false).Finish(), R"({"t":true,"f":false})");
}

TEST(JsonObjectWriter, MembersKeepInsertionOrder) {
  EXPECT_EQ(JsonObjectWriter().Add("b", "1").Add("a", "2").Add("c", "3").Finish(),
            R"({"b":"1","a":"2","c":"3"})");
}

TEST(JsonObjectWriter, KeysAreEscaped) {
  EXPECT_EQ(JsonObjectWriter().Add("a\"b\n", "v").Finish(), R"({"a\"b\u000a":"v"})");
}

TEST(JsonObjectWriter, ValuesAreEscaped) {
  EXPECT_EQ(JsonObjectWriter().Add("message", "User a\\\"b\x01 was created").Finish(),
            R"({"message":"User a\\\"b\u0001 was created"})");
}

TEST(JsonObjectWriter, OutputParsesBackToTheSameValues) {
  const std::string nasty = "q\" b\\ c\x01\x1f\x7f/ \xC3\xA9\n\t\0end"s;
  const std::string text = JsonObjectWriter()
                               .Add("s", std::string_view(nasty))
                               .Add(nasty, "key")
                               .Add("n", int64_t{-1700000000})
                               .Add("b", true)
                               .Finish();
  const nlohmann::json parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed,
            (nlohmann::json{{"s", nasty}, {nasty, "key"}, {"n", -1700000000}, {"b", true}}));
}

// Log lines carry client bytes (a request path): whatever they are, the line stays valid JSON.
TEST(JsonObjectWriter, BytesThatAreNotUtf8BecomeTheReplacementCharacter) {
  EXPECT_EQ(JsonObjectWriter().Add("p", "/\xff\xfe/\xc3(x").Finish(),
            R"({"p":"/\ufffd\ufffd/\ufffd(x"})");
  // Overlong forms, surrogates, above U+10FFFF and a sequence cut short are not UTF-8 either.
  EXPECT_EQ(JsonObjectWriter().Add("p", "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82").Finish(),
            R"({"p":"\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"})");
}

TEST(JsonObjectWriter, WellFormedUtf8IsKeptAsIs) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 0123456789abcdef\xc3\xa9";
  EXPECT_EQ(JsonObjectWriter().Add("p", text).Finish(), "{\"p\":\"" + text + "\"}");
}

TEST(JsonObjectWriter, AnyBytesParseAsJson) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (int i = 255; i >= 0; --i) bytes += static_cast<char>(i);
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(JsonObjectWriter().Add("s", bytes).Finish()));
  EXPECT_TRUE(parsed.contains("s"));
}

}  // namespace
}  // namespace gatehouse
