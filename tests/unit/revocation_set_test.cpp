#include "auth/revocation_set.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "auth/passwords.hpp"

namespace gatehouse::auth {
namespace {

class RevocationSetTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto()); }
  RevocationSet set;
};

TEST_F(RevocationSetTest, EmptySetRevokesNothing) {
  EXPECT_FALSE(set.IsRevoked("6a4b8a4e-1f0e-4c7a-9d2b-3f5e6a7b8c9d"));
  EXPECT_EQ(set.Size(), 0u);
}

TEST_F(RevocationSetTest, RevokedIdIsFound) {
  set.Revoke("jti-1", 1000);
  EXPECT_TRUE(set.IsRevoked("jti-1"));
}

TEST_F(RevocationSetTest, OtherIdsAreNotRevoked) {
  set.Revoke("jti-1", 1000);
  EXPECT_FALSE(set.IsRevoked("jti-2"));
  EXPECT_FALSE(set.IsRevoked("JTI-1"));
  EXPECT_FALSE(set.IsRevoked("jti-1 "));
  EXPECT_FALSE(set.IsRevoked(""));
}

TEST_F(RevocationSetTest, EmptyIdCanBeRevoked) {
  set.Revoke("", 1000);
  EXPECT_TRUE(set.IsRevoked(""));
  EXPECT_FALSE(set.IsRevoked("x"));
}

TEST_F(RevocationSetTest, SizeCountsDistinctIds) {
  set.Revoke("a", 1000);
  set.Revoke("b", 1000);
  set.Revoke("c", 1000);
  EXPECT_EQ(set.Size(), 3u);
}

TEST_F(RevocationSetTest, RevokingTheSameIdTwiceCountsOnce) {
  set.Revoke("a", 1000);
  set.Revoke("a", 2000);
  EXPECT_EQ(set.Size(), 1u);
}

TEST_F(RevocationSetTest, SizeDoesNotCountUserRevocations) {
  set.RevokeUserBefore("alice", 1000);
  EXPECT_EQ(set.Size(), 0u);
}

TEST_F(RevocationSetTest, PruneRemovesOnlyExpiredAndReturnsCount) {
  set.Revoke("past", 999);
  set.Revoke("now", 1000);
  set.Revoke("future", 1001);
  EXPECT_EQ(set.Prune(1000), 2u);
  EXPECT_FALSE(set.IsRevoked("past"));
  EXPECT_FALSE(set.IsRevoked("now"));
  EXPECT_TRUE(set.IsRevoked("future"));
  EXPECT_EQ(set.Size(), 1u);
}

TEST_F(RevocationSetTest, PruneBeforeAnyExpiryRemovesNothing) {
  set.Revoke("a", 1000);
  set.Revoke("b", 2000);
  EXPECT_EQ(set.Prune(999), 0u);
  EXPECT_EQ(set.Size(), 2u);
}

TEST_F(RevocationSetTest, PruneOfEmptySetReturnsZero) { EXPECT_EQ(set.Prune(1'000'000), 0u); }

TEST_F(RevocationSetTest, PruneTwiceRemovesOnlyOnce) {
  set.Revoke("a", 1000);
  EXPECT_EQ(set.Prune(1000), 1u);
  EXPECT_EQ(set.Prune(1000), 0u);
}

TEST_F(RevocationSetTest, PruneManyAcrossShards) {
  for (int i = 0; i < 500; ++i) set.Revoke("id-" + std::to_string(i), i % 2 == 0 ? 100 : 200);
  EXPECT_EQ(set.Size(), 500u);
  EXPECT_EQ(set.Prune(150), 250u);
  EXPECT_EQ(set.Size(), 250u);
  EXPECT_FALSE(set.IsRevoked("id-0"));
  EXPECT_TRUE(set.IsRevoked("id-1"));
}

TEST_F(RevocationSetTest, RevokingAgainKeepsTheLaterExpiry) {
  set.Revoke("a", 2000);
  set.Revoke("a", 1000);  // an earlier expiry must not shorten the revocation
  EXPECT_EQ(set.Prune(1500), 0u);
  EXPECT_TRUE(set.IsRevoked("a"));
  EXPECT_EQ(set.Prune(2000), 1u);
  EXPECT_FALSE(set.IsRevoked("a"));
}

TEST_F(RevocationSetTest, PruneLeavesUserRevocations) {
  set.RevokeUserBefore("alice", 100);
  set.Prune(1'000'000);
  EXPECT_EQ(set.UserRevokedBefore("alice"), 100);
}

TEST_F(RevocationSetTest, UserRevokedBeforeIsZeroForUnknownUser) {
  EXPECT_EQ(set.UserRevokedBefore("nobody"), 0);
  set.RevokeUserBefore("alice", 100);
  EXPECT_EQ(set.UserRevokedBefore("nobody"), 0);
}

TEST_F(RevocationSetTest, UserRevokedBeforeReturnsTheTime) {
  set.RevokeUserBefore("alice", 1'700'000'123);
  EXPECT_EQ(set.UserRevokedBefore("alice"), 1'700'000'123);
}

TEST_F(RevocationSetTest, RevokeUserBeforeKeepsTheMaximum) {
  set.RevokeUserBefore("alice", 500);
  set.RevokeUserBefore("alice", 300);
  EXPECT_EQ(set.UserRevokedBefore("alice"), 500);
  set.RevokeUserBefore("alice", 700);
  EXPECT_EQ(set.UserRevokedBefore("alice"), 700);
}

TEST_F(RevocationSetTest, UserKeysAreExact) {
  // Callers pass store::UsernameKey (lower-cased); the set itself compares bytes.
  set.RevokeUserBefore("alice", 500);
  EXPECT_EQ(set.UserRevokedBefore("Alice"), 0);
  EXPECT_EQ(set.UserRevokedBefore("alic"), 0);
}

TEST_F(RevocationSetTest, UserRevocationsAreIndependentOfIdRevocations) {
  set.RevokeUserBefore("alice", 500);
  EXPECT_FALSE(set.IsRevoked("alice"));
  set.Revoke("bob", 1000);
  EXPECT_EQ(set.UserRevokedBefore("bob"), 0);
}

TEST_F(RevocationSetTest, ConcurrentRevokeAndLookupFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  std::latch start(kThreads);
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        set.Revoke(id, 1000 + i);
        if (!set.IsRevoked(id)) ++missing;
        // Look up what another thread may be writing at the same moment.
        set.IsRevoked("t" + std::to_string((t + 1) % kThreads) + "-" + std::to_string(i));
        set.RevokeUserBefore("user" + std::to_string(i % 16), i);
        set.UserRevokedBefore("user" + std::to_string((i + 1) % 16));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(set.Size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(set.IsRevoked("t" + std::to_string(t) + "-" + std::to_string(i)));
    }
  }
  // Every thread's last RevokeUserBefore for "user15" was i = kPerThread - 1.
  EXPECT_EQ(set.UserRevokedBefore("user15"), kPerThread - 1);
}

TEST_F(RevocationSetTest, ConcurrentPruneWhileRevoking) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::latch start(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        set.Revoke("t" + std::to_string(t) + "-" + std::to_string(i), i % 2 == 0 ? 10 : 5000);
      }
    });
  }
  std::size_t pruned = 0;
  start.arrive_and_wait();
  for (int i = 0; i < 50; ++i) pruned += set.Prune(100);
  for (auto& thread : threads) thread.join();
  pruned += set.Prune(100);
  EXPECT_EQ(pruned, static_cast<std::size_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(set.Size(), static_cast<std::size_t>(kThreads * kPerThread / 2));
}

TEST_F(RevocationSetTest, FollowsAlwaysUntilFollowingIsRequired) {
  EXPECT_TRUE(set.IsFollowing());
  set.MarkFollowed(0);  // a successful read long ago changes nothing when not required
  EXPECT_TRUE(set.IsFollowing());
}

TEST_F(RevocationSetTest, RequiredFollowingLapsesWithoutARecentSuccessfulRead) {
  set.RequireFollowing(1000);
  EXPECT_TRUE(set.IsFollowing());
  set.MarkFollowed(RevocationSet::CoarseMillis() - 1001);  // the last read began too long ago
  EXPECT_FALSE(set.IsFollowing());
  set.MarkFollowed(RevocationSet::CoarseMillis());
  EXPECT_TRUE(set.IsFollowing());
}

}  // namespace
}  // namespace gatehouse::auth
