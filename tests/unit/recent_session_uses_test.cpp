#include "store/recent_session_uses.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::store {
namespace {

TEST(RecentSessionUsesTest, TheSameUseInTheSameSecondIsClaimedOnce) {
  RecentSessionUses uses;
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  EXPECT_FALSE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  EXPECT_TRUE(uses.Claim("sid-b", 100, "10.0.0.1", "curl"));  // another session
}

TEST(RecentSessionUsesTest, AnotherClientOrSecondIsANewUse) {
  RecentSessionUses uses;
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.2", "curl"));
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.2", "firefox"));
  EXPECT_FALSE(uses.Claim("sid-a", 100, "10.0.0.2", "firefox"));
  EXPECT_TRUE(uses.Claim("sid-a", 101, "10.0.0.2", "firefox"));
  EXPECT_FALSE(uses.Claim("sid-a", 101, "10.0.0.2", "firefox"));
  // a thread late with an older second is never filtered (its write changes nothing anyway)
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.2", "firefox"));
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.2", "firefox"));
}

TEST(RecentSessionUsesTest, AForgottenUseIsNewAgain) {
  RecentSessionUses uses;
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  uses.Forget("sid-a");  // its write failed
  EXPECT_TRUE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  EXPECT_FALSE(uses.Claim("sid-a", 100, "10.0.0.1", "curl"));
  uses.Forget("sid-unknown");
}

TEST(RecentSessionUsesTest, PastItsBoundEveryUseIsNew) {
  RecentSessionUses uses;
  for (std::size_t i = 0; i < RecentSessionUses::kMaxRemembered; ++i) {
    ASSERT_TRUE(uses.Claim("sid-" + std::to_string(i), 7, "a", "b"));
  }
  EXPECT_FALSE(uses.Claim("sid-0", 7, "a", "b"));
  EXPECT_TRUE(uses.Claim("sid-extra", 7, "a", "b"));
  EXPECT_TRUE(uses.Claim("sid-extra", 7, "a", "b"));  // not remembered: written each time
  EXPECT_TRUE(uses.Claim("sid-extra", 8, "a", "b"));  // a new second starts afresh
  EXPECT_FALSE(uses.Claim("sid-extra", 8, "a", "b"));
}

}  // namespace
}  // namespace gatehouse::store
