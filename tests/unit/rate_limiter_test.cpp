// The token buckets of auth::RateLimiter: counting, refill, give-back, and the byte bound with
// its eviction order (API.md §8: the limiters are bounded in bytes, not entries).
#include "auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::auth {
namespace {

constexpr int64_t kStart = 1'000'000;

LimiterKey Key(const std::string& name) { return LimiterKeyOf(name, "192.0.2.1"); }

TEST(RateLimiterTest, AllowsTheBurstThenRefusesWithTheWholeSecondsToWait) {
  RateLimiter limiter(RateLimit{3, 60});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take(Key("alice"), kStart), 0) << i;
  EXPECT_EQ(limiter.Take(Key("alice"), kStart), 20);  // one token per 20 s
}

TEST(RateLimiterTest, ARefusalTakesNothing) {
  RateLimiter limiter(RateLimit{1, 10});
  EXPECT_EQ(limiter.Take(Key("alice"), kStart), 0);
  EXPECT_EQ(limiter.Take(Key("alice"), kStart + 5000), 5);
  EXPECT_EQ(limiter.Take(Key("alice"), kStart + 9000), 1);
  EXPECT_EQ(limiter.Take(Key("alice"), kStart + 10000), 0);
}

TEST(RateLimiterTest, GiveBackReturnsOneAttempt) {
  RateLimiter limiter(RateLimit{1, 900});
  EXPECT_EQ(limiter.Take(Key("alice"), kStart), 0);
  limiter.GiveBack(Key("alice"), kStart);
  EXPECT_EQ(limiter.Take(Key("alice"), kStart), 0);
  EXPECT_GT(limiter.Take(Key("alice"), kStart), 0);
}

TEST(RateLimiterTest, KeysIgnoreUsernameCaseButNotAddress) {
  EXPECT_EQ(LimiterKeyOf("Alice", "192.0.2.1"), LimiterKeyOf("aLICE", "192.0.2.1"));
  EXPECT_NE(LimiterKeyOf("alice", "192.0.2.1"), LimiterKeyOf("alice", "192.0.2.2"));
  // The parts are framed: moving bytes between them makes another key.
  EXPECT_NE(LimiterKeyOf("a b", "c"), LimiterKeyOf("a", "b c"));
  // The per-user limits pass no address: a null empty view (UBSan checks the memcpy).
  EXPECT_EQ(LimiterKeyOf("alice", std::string_view()), LimiterKeyOf("ALICE", ""));
}

TEST(RateLimiterTest, LongKeysAreDigestedLikeShortOnes) {
  const std::string long_name(16384, 'X');
  EXPECT_EQ(LimiterKeyOf(long_name, "192.0.2.1"),
            LimiterKeyOf(std::string(16384, 'x'), "192.0.2.1"));
  EXPECT_NE(LimiterKeyOf(long_name, "192.0.2.1"), LimiterKeyOf(long_name + "x", "192.0.2.1"));
}

TEST(RateLimiterTest, MemoryIsCapacityTimesThirtyTwoBytesWhateverTheKeys) {
  RateLimiter limiter(RateLimit{10, 900}, 4096);
  EXPECT_EQ(limiter.Capacity(), 4096u);
  EXPECT_EQ(limiter.MemoryBytes(), 4096u * 32);
  const std::string big(16384, 'u');
  for (int i = 0; i < 20000; ++i) limiter.Take(Key(big + std::to_string(i)), kStart);
  EXPECT_LE(limiter.Size(kStart), limiter.Capacity());
  EXPECT_EQ(limiter.MemoryBytes(), 4096u * 32);
}

TEST(RateLimiterTest, CapacityRoundsUpToWholeSets) {
  RateLimiter limiter(RateLimit{10, 900}, 1);
  EXPECT_EQ(limiter.Capacity(), RateLimiter::kShards * RateLimiter::kWays);
}

TEST(RateLimiterTest, AFloodOfNewKeysDoesNotResetADrainedBucket) {
  // The smallest table (one set per shard): a flood of single attempts passes through every
  // set many times over, and each time the drained bucket is the last to go.
  RateLimiter limiter(RateLimit{5, 900}, 1);
  const LimiterKey victim = Key("victim");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(limiter.Take(victim, kStart), 0);
  for (int i = 0; i < 50000; ++i) limiter.Take(Key("flood" + std::to_string(i)), kStart + 1);
  EXPECT_GT(limiter.Take(victim, kStart + 2), 0);
}

TEST(RateLimiterTest, FullBucketsGiveWayFirst) {
  // A key given back its attempt is full again: it is dropped before any key still counting.
  RateLimiter limiter(RateLimit{2, 900}, 1);
  const LimiterKey counting = Key("counting");
  ASSERT_EQ(limiter.Take(counting, kStart), 0);
  for (int i = 0; i < 50000; ++i) {
    const LimiterKey key = Key("ok" + std::to_string(i));
    limiter.Take(key, kStart);
    limiter.GiveBack(key, kStart);
  }
  ASSERT_EQ(limiter.Take(counting, kStart), 0);
  EXPECT_GT(limiter.Take(counting, kStart), 0);
}

TEST(RateLimiterTest, ADisabledLimitAllowsEverything) {
  RateLimiter limiter(RateLimit{});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take(Key("alice"), kStart), 0);
}

}  // namespace
}  // namespace gatehouse::auth
