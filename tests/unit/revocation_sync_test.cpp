// RevocationSync on PostgreSQL: feed entries that commit out of sequence order are still
// applied, and a write on one store wakes a watcher on another. Needs GATEHOUSE_TEST_PG_URL
// (scripts/test sets it); skipped without.
#include "auth/revocation_sync.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace gatehouse::auth {
namespace {

constexpr int64_t kNow = 1'900'000'000;
constexpr int64_t kLifetime = 3600;

bool Exec(PGconn* conn, const char* sql) {
  PGresult* result = PQexec(conn, sql);
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  return ok;
}

class PostgresSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("GATEHOUSE_TEST_PG_URL");
    if (base == nullptr || *base == '\0') GTEST_SKIP() << "GATEHOUSE_TEST_PG_URL is not set";
    base_ = base;
    name_ = "gh_sync_" + std::to_string(std::random_device()());
    admin_ = PQconnectdb((base_ + "postgres").c_str());
    ASSERT_EQ(PQstatus(admin_), CONNECTION_OK) << PQerrorMessage(admin_);
    ASSERT_TRUE(Exec(admin_, ("CREATE DATABASE " + name_).c_str())) << PQerrorMessage(admin_);
    auto opened = store::OpenStore(base_ + name_);
    ASSERT_TRUE(opened) << opened.error().detail;
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    if (admin_ != nullptr) {
      Exec(admin_, ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str());
      PQfinish(admin_);
    }
  }

  std::string base_, name_;
  PGconn* admin_ = nullptr;
  std::unique_ptr<store::Store> store_;
};

TEST_F(PostgresSyncTest, AnEntryCommittedAfterAHigherNumberedOneIsStillApplied) {
  RevocationSet revocations;
  RevocationSync sync(
      *store_, revocations, [] { return kNow; }, kLifetime);
  ASSERT_TRUE(sync.LoadAll());

  // A transaction takes the next feed number and stays open...
  PGconn* slow = PQconnectdb((base_ + name_).c_str());
  ASSERT_EQ(PQstatus(slow), CONNECTION_OK);
  ASSERT_TRUE(Exec(slow, "BEGIN"));
  ASSERT_TRUE(Exec(slow,
                   "INSERT INTO revocation_events (kind, subject, value, created_at) "
                   "VALUES (0, 'late-jti', 1900003600, 1900000000)"));
  // ...while a later number commits and is polled.
  ASSERT_TRUE(store_->AddRevocation({"early-jti", store::RevocationKind::kToken, kNow + 60}));
  ASSERT_TRUE(sync.PollOnce());
  EXPECT_TRUE(revocations.IsRevoked("early-jti"));
  EXPECT_FALSE(revocations.IsRevoked("late-jti"));

  ASSERT_TRUE(Exec(slow, "COMMIT"));
  PQfinish(slow);
  auto applied = sync.PollOnce();
  ASSERT_TRUE(applied);
  EXPECT_EQ(*applied, 1);  // only the late entry: the early one is not applied twice
  EXPECT_TRUE(revocations.IsRevoked("late-jti"));
}

TEST_F(PostgresSyncTest, PollingDuringConcurrentWritesOnTwoStoresMissesNothing) {
  auto other = store::OpenStore(base_ + name_);
  ASSERT_TRUE(other) << other.error().detail;
  RevocationSet revocations;
  RevocationSync sync(
      *store_, revocations, [] { return kNow; }, kLifetime);
  ASSERT_TRUE(sync.LoadAll());
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 40;
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      store::Store& store = w % 2 == 0 ? *store_ : **other;
      for (int n = 0; n < kPerWriter; ++n) {
        const std::string id = "w" + std::to_string(w) + "-" + std::to_string(n);
        if (!store.AddRevocation({id, store::RevocationKind::kToken, kNow + 60})) {
          ADD_FAILURE() << "write " << id;
        }
      }
      --writers_left;
    });
  }
  // Poll while the writers race (their numbers commit out of order), then once more.
  // A failed poll is recorded, not returned from: the writers must be joined either way.
  bool polls_ok = true;
  while (writers_left > 0 && polls_ok) {
    polls_ok = sync.PollOnce().ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& writer : writers) writer.join();
  ASSERT_TRUE(polls_ok) << "a poll failed while the writers raced";
  ASSERT_TRUE(sync.PollOnce());
  int missing = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int n = 0; n < kPerWriter; ++n) {
      missing += revocations.IsRevoked("w" + std::to_string(w) + "-" + std::to_string(n)) ? 0 : 1;
    }
  }
  EXPECT_EQ(missing, 0);
}

TEST_F(PostgresSyncTest, ARevocationOnOneStoreWakesTheWatcherOfAnother) {
  auto other = store::OpenStore(base_ + name_);
  ASSERT_TRUE(other) << other.error().detail;
  std::atomic<int> signals{0};
  auto watch = (*other)->WatchRevocationFeed([&signals] { ++signals; });
  ASSERT_NE(watch, nullptr);
  // The listener signals once when it connects; wait for that, then count the next one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (signals == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(signals.load(), 1);
  const int before = signals;
  ASSERT_TRUE(store_->AddRevocation({"jti-1", store::RevocationKind::kToken, kNow + 60}));
  while (signals == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(signals.load(), before);
}

}  // namespace
}  // namespace gatehouse::auth
