// FindCookie over well-formed and hostile Cookie headers: it never fails, never reads past its
// bound and never mistakes one cookie for another.
#include "util/cookie_header.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse {
namespace {

TEST(FindCookie, FindsTheNamedCookieAmongOthers) {
  EXPECT_EQ(FindCookie("a=1; access_token_cookie=tok; csrf_access_token=c", "access_token_cookie"),
            "tok");
  EXPECT_EQ(FindCookie("access_token_cookie=tok", "access_token_cookie"), "tok");
  EXPECT_EQ(FindCookie("a=1;b=2", "b"), "2");
}

TEST(FindCookie, TheFirstOfTwoSameNamedCookiesWins) {
  EXPECT_EQ(FindCookie("x=first; x=second", "x"), "first");
}

TEST(FindCookie, NamesAreExactAndCaseSensitive) {
  EXPECT_EQ(FindCookie("xaccess_token_cookie=1; Access_Token_Cookie=2", "access_token_cookie"), "");
  EXPECT_EQ(FindCookie("access_token_cookiex=1", "access_token_cookie"), "");
}

TEST(FindCookie, QuotedValueIsUnquoted) { EXPECT_EQ(FindCookie("x=\"v\"", "x"), "v"); }

TEST(FindCookie, HostileHeadersFindNothingAndNeverFail) {
  const std::string hostile[] = {"",        ";",
                                 ";;;;",    "=",
                                 "==",      "x",
                                 "x;",      "=x",
                                 "\"",      "x=\"",
                                 "; =;",    std::string(1, '\0'),
                                 "x\0=1",   "\xff\xfe=\x80",
                                 " ; ; ; ", "x=; x=2"};
  for (const std::string& header : hostile) {
    EXPECT_EQ(FindCookie(header, "access_token_cookie"), "") << header;
  }
  EXPECT_EQ(FindCookie("x=; x=2", "x"), "");  // the first, empty, is the one
}

TEST(FindCookie, AValueOverTheBoundIsAbsent) {
  const std::string big = "x=" + std::string(kMaxCookieValueBytes + 1, 'a');
  EXPECT_EQ(FindCookie(big, "x"), "");
  const std::string fits = "x=" + std::string(kMaxCookieValueBytes, 'a');
  EXPECT_EQ(FindCookie(fits, "x").size(), kMaxCookieValueBytes);
}

TEST(FindCookie, NothingPastTheHeaderBoundIsRead) {
  std::string header(kMaxCookieHeaderBytes - 2, ';');
  header += "x=1";  // starts inside the bound, ends past it: cut to "x"
  EXPECT_EQ(FindCookie(header, "x"), "");
  std::string many;
  while (many.size() < 4 * kMaxCookieHeaderBytes) many += "a=b;";
  EXPECT_EQ(FindCookie(many + "x=1", "x"), "");
}

}  // namespace
}  // namespace gatehouse
