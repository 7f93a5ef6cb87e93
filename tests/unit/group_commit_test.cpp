// Group commit on the real SQLite store (store/group_commit.hpp): writes that arrive together
// share transactions, each is visible and durable (still there in a fresh open) once answered,
// and a write that fails in a batch fails alone.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"
#include "unit/sqlite_store_fixture.hpp"

namespace gatehouse::store {
namespace {

constexpr int64_t kFarFuture = 4102444800;  // 2100-01-01

// The SQLite store's fixture (a fresh database file per test), with what these tests read.
class GroupCommitTest : public SqliteStoreTest {
 protected:
  std::set<std::string> RevokedIds(Store& store) {
    Result<std::vector<Revocation>> loaded = store.LoadRevocations(0);
    EXPECT_TRUE(loaded) << loaded.error().detail;
    std::set<std::string> ids;
    if (loaded) {
      for (const Revocation& revocation : *loaded) ids.insert(revocation.id);
    }
    return ids;
  }
};

// Counts the answers of SubmitRevocation and lets a test wait for all of them.
struct Answers {
  std::mutex mutex;
  std::condition_variable all_in;
  int ok = 0;
  int failed = 0;
  void Record(const Status& status) {
    std::lock_guard lock(mutex);
    ++(status ? ok : failed);
    all_in.notify_all();
  }
  void WaitFor(int count) {
    std::unique_lock lock(mutex);
    all_in.wait(lock, [&] { return ok + failed == count; });
  }
};

TEST_F(GroupCommitTest, ConcurrentSubmittedRevocationsShareTransactionsAndAreAllDurable) {
  constexpr int kWrites = 2000;
  std::set<std::string> acknowledged;
  {
    std::unique_ptr<Store> store = OpenDatabase();
    ASSERT_TRUE(store);
    Answers answers;
    std::mutex acknowledged_mutex;
    for (int i = 0; i < kWrites; ++i) {
      std::string id = "jti-" + std::to_string(i);
      store->SubmitRevocation(Revocation{id, RevocationKind::kToken, kFarFuture},
                              [&, id](Status stored) {
                                if (stored) {
                                  std::lock_guard lock(acknowledged_mutex);
                                  acknowledged.insert(id);
                                }
                                answers.Record(stored);
                              });
    }
    answers.WaitFor(kWrites);
    EXPECT_EQ(answers.ok, kWrites);
    const GroupCommit::Counts counts = store->DurableWriteCounts();
    EXPECT_EQ(counts.writes, static_cast<uint64_t>(kWrites));
    EXPECT_LT(counts.batches, counts.writes / 4) << "writes arriving together share a commit";
    EXPECT_EQ(RevokedIds(*store), acknowledged);  // visible to the same store
    Result<std::vector<RevocationEvent>> feed = store->RevocationsSince(0, kWrites + 1);
    ASSERT_TRUE(feed);
    EXPECT_EQ(feed->size(), static_cast<std::size_t>(kWrites));  // each with its feed entry
  }
  std::unique_ptr<Store> reopened = OpenDatabase();  // what is on disk, after the store is gone
  ASSERT_TRUE(reopened);
  EXPECT_EQ(RevokedIds(*reopened), acknowledged);
}

TEST_F(GroupCommitTest, BlockingWritesFromManyThreadsShareTransactions) {
  std::unique_ptr<Store> store = OpenDatabase();
  ASSERT_TRUE(store);
  constexpr int kThreads = 32;
  constexpr int kEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store->AddRevocation(Revocation{id, RevocationKind::kSession, kFarFuture})) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(RevokedIds(*store).size(), static_cast<std::size_t>(kThreads * kEach));
  const GroupCommit::Counts counts = store->DurableWriteCounts();
  EXPECT_EQ(counts.writes, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LT(counts.batches, counts.writes);
}

// Creating one username from many threads at once puts conflicting inserts into the same
// batches as revocations: each conflict is undone in its own savepoint, and everything else
// of its batch commits.
TEST_F(GroupCommitTest, AFailedWriteFailsAloneAndItsBatchCommits) {
  std::unique_ptr<Store> store = OpenDatabase();
  ASSERT_TRUE(store);
  constexpr int kThreads = 16;
  constexpr int kRevocations = 500;
  Answers answers;
  std::atomic<int> created{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Status made = store->CreateUser(UserRecord{"Same", "$argon2id$x", 1, 0}, UsernameKey("Same"));
      if (made) {
        ++created;
      } else if (made.error().code == ErrorCode::kConflict) {
        ++conflicts;
      } else {
        ++other;
      }
    });
  }
  for (int i = 0; i < kRevocations; ++i) {
    store->SubmitRevocation(Revocation{"r" + std::to_string(i), RevocationKind::kToken, kFarFuture},
                            [&answers](Status stored) { answers.Record(stored); });
  }
  for (std::thread& thread : threads) thread.join();
  answers.WaitFor(kRevocations);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(answers.ok, kRevocations);
  EXPECT_EQ(RevokedIds(*store).size(), static_cast<std::size_t>(kRevocations));
  Result<std::optional<UserRecord>> found = store->FindUser(UsernameKey("same"));
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->has_value());
  const GroupCommit::Counts counts = store->DurableWriteCounts();
  EXPECT_LT(counts.batches, counts.writes);
}

}  // namespace
}  // namespace gatehouse::store
