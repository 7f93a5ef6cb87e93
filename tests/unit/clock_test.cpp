#include "util/clock.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <random>
#include <string>

namespace gatehouse {
namespace {

// The C library's answer, which Rfc3339 replaced on the hot path.
std::string Strftime(int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

TEST(Rfc3339, KnownInstants) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339(951782400), "2000-02-29T00:00:00Z");  // a leap day of a century year
  EXPECT_EQ(Rfc3339(1795996799), "2026-11-29T23:59:59Z");
  EXPECT_EQ(Rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(Rfc3339(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(Rfc3339(-62135596800), "0001-01-01T00:00:00Z");  // four digits, as RFC 3339 wants
}

TEST(Rfc3339, MatchesGmtimeAndStrftimeFromYear1000To9999) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> instants(-30610224000, 253402300799);
  for (int i = 0; i < 200000; ++i) {
    const int64_t instant = instants(random);
    ASSERT_EQ(Rfc3339(instant), Strftime(instant)) << instant;
  }
}

TEST(Rfc3339, OutsideFourDigitYearsFallsBackToTheCLibrary) {
  EXPECT_EQ(Rfc3339(253402300800), Strftime(253402300800));  // year 10000
  EXPECT_EQ(Rfc3339(-62167219201), Strftime(-62167219201));  // before year 0
}

}  // namespace
}  // namespace gatehouse
