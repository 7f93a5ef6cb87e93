#include "util/secret_strength.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse {
namespace {

using std::string_literals::operator""s;

std::string Repeat(std::string_view unit, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += unit;
  out.resize(bytes);
  return out;
}

TEST(IsStrongSecret, AcceptsSecretsWithoutAShortPeriod) {
  EXPECT_TRUE(IsStrongSecret("0123456789abcdef0123456789abcdef", 32));  // period 16
  EXPECT_TRUE(IsStrongSecret("an admin secret of at least thirty-two bytes", 32));
  EXPECT_TRUE(IsStrongSecret(Repeat("abcdefghi", 36), 32));  // a 9-byte unit
  EXPECT_TRUE(IsStrongSecret("in the middle 0123456789abcdef01234", 32));
  EXPECT_TRUE(IsStrongSecret("\xC3\xA9t\xC3\xA9 secret \xF0\x9F\x99\x82 of thirty-two bytes", 32));
}

TEST(IsStrongSecret, RefusesAUnitOfUpToEightBytesRepeated) {
  for (std::string_view unit :
       {"a", "ab", "abc", "abcd", "Ab1!x", "secret", "hunter2", "p@ssw0rd"}) {
    EXPECT_FALSE(IsStrongSecret(Repeat(unit, 40), 32)) << unit;
    // The last repetition cut short is the same weakness.
    EXPECT_FALSE(IsStrongSecret(Repeat(unit, 41), 32)) << unit;
  }
  EXPECT_FALSE(IsStrongSecret(std::string(40, '\0'), 32));
}

TEST(IsStrongSecret, RefusesControlCharactersAnywhere) {
  const std::string good = "0123456789abcdef0123456789abcdef";
  for (const std::string& control : {"\x01"s, "\0"s, "\x1F"s, "\x7F"s, "\t"s, "\n"s, "\x1B"s}) {
    EXPECT_FALSE(IsStrongSecret(good.substr(0, 16) + control + good.substr(16), 32))
        << static_cast<int>(control[0]);
  }
}

TEST(IsStrongSecret, KeepsTheEarlierRefusals) {
  const std::string good = "0123456789abcdef0123456789abcdef";
  EXPECT_FALSE(IsStrongSecret(good.substr(0, 31), 32));
  EXPECT_FALSE(IsStrongSecret("", 0));
  EXPECT_FALSE(IsStrongSecret(" " + good, 32));
  EXPECT_FALSE(IsStrongSecret(good + " ", 32));
  EXPECT_TRUE(IsStrongSecret(good, 32));
}

}  // namespace
}  // namespace gatehouse
