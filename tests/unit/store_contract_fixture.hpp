// The fixture and helpers of the storage contract tests (store_contract*_test.cpp): each test
// gets a fresh, empty store on every backend (see store_contract_test.cpp). Included by one
// translation unit per test file; everything here is internal to that unit.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPgUrlVariable = "GATEHOUSE_TEST_PG_URL";
constexpr int kPoolSize = 4;  // fewer connections than the 8 threads of the concurrency tests
constexpr int kThreads = 8;

inline std::string RandomHex() {
  std::random_device random;
  std::mt19937_64 generator((static_cast<uint64_t>(random()) << 32) ^ random());
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

inline std::string ShellQuote(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Runs one statement with psql against `url`; false (and psql's output in `output`) on failure.
inline bool RunPsql(const std::string& url, const std::string& sql, std::string& output) {
  const std::string command =
      "psql -X -q -v ON_ERROR_STOP=1 -d " + ShellQuote(url) + " -c " + ShellQuote(sql) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    output = "popen failed";
    return false;
  }
  char buffer[512];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, read);
  return ::pclose(pipe) == 0;
}

template <typename T>
inline std::string Why(const Result<T>& result) {
  return result ? std::string() : result.error().detail;
}

inline int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

UserRecord MakeUser(std::string username, std::string hash = "$argon2id$v=19$m=19456,t=2,p=1$x$y",
                    int64_t created_at = 1700000000) {
  return UserRecord{std::move(username), std::move(hash), created_at};
}

// The store takes the key its caller made once per request; these tests make it here.
inline Status CreateUser(Store& store, const UserRecord& user) {
  return store.CreateUser(user, UsernameKey(user.username));
}

// Runs body(i) for i in [0, kThreads) on as many threads, released at once; returns when all
// have finished.
inline void RunTogether(const std::function<void(int)>& body) {
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

// kThreads creates at once, thread i creating user_of(i) through store_of(i): exactly one
// succeeds and every other one is a conflict.
inline void ExpectExactlyOneCreateWins(const std::function<Store&(int)>& store_of,
                                       const std::function<UserRecord(int)>& user_of,
                                       std::string_view name) {
  std::atomic<int> succeeded{0};
  std::atomic<int> conflicted{0};
  RunTogether([&](int i) {
    Status created = CreateUser(store_of(i), user_of(i));
    if (created) {
      ++succeeded;
    } else if (created.error().code == ErrorCode::kConflict) {
      ++conflicted;
    } else {
      ADD_FAILURE() << "thread " << i << ": " << created.error().detail;
    }
  });
  EXPECT_EQ(succeeded.load(), 1) << name;
  EXPECT_EQ(conflicted.load(), kThreads - 1) << name;
}

inline std::vector<std::string> SortedIds(const std::vector<Revocation>& revocations) {
  std::vector<std::string> ids;
  for (const Revocation& revocation : revocations) ids.push_back(revocation.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

inline std::map<std::string, int64_t> ByUser(const std::vector<UserRevocation>& revocations) {
  std::map<std::string, int64_t> by_user;
  for (const UserRevocation& revocation : revocations) {
    by_user[revocation.username_key] = revocation.revoked_before;
  }
  return by_user;
}

inline const char* KindName(RevocationEvent::Kind kind) {
  switch (kind) {
    case RevocationEvent::Kind::kToken:
      return "token";
    case RevocationEvent::Kind::kSession:
      return "session";
    case RevocationEvent::Kind::kUser:
      return "user";
  }
  return "unknown";
}

// "<kind> <subject> <value>" per event, so that a mismatch prints readably.
inline std::vector<std::string> Describe(const std::vector<RevocationEvent>& events) {
  std::vector<std::string> lines;
  for (const RevocationEvent& event : events) {
    lines.push_back(std::string(KindName(event.kind)) + " " + event.subject + " " +
                    std::to_string(event.value));
  }
  return lines;
}

inline std::vector<std::string> Usernames(const std::vector<UserRecord>& users) {
  std::vector<std::string> names;
  for (const UserRecord& user : users) names.push_back(user.username);
  return names;
}

inline std::vector<std::string> Kids(const std::vector<StoredKey>& keys) {
  std::vector<std::string> kids;
  for (const StoredKey& key : keys) kids.push_back(key.kid);
  return kids;
}

const std::string kPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFq6lT9wSgR2mWmR0Q2sJ2b8rPp3s2I1v4X1rJ0Uo0cX\n"
    "-----END PRIVATE KEY-----\n";

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool IsPostgres() const { return GetParam() == "postgresql"; }

  void SetUp() override {
    if (!IsPostgres()) {
      dir_ = fs::temp_directory_path() / ("gatehouse-contract-" + RandomHex());
      ASSERT_TRUE(fs::create_directory(dir_));
    } else {
      const char* base = std::getenv(kPgUrlVariable);
      if (base == nullptr || *base == '\0') {
        GTEST_SKIP() << kPgUrlVariable
                     << " is not set: PostgreSQL contract tests skipped (set it to a base URL "
                        "such as postgresql://gatehouse:gatehouse@127.0.0.1:55432/)";
      }
      pg_base_ = base;
      if (pg_base_.back() != '/') pg_base_ += '/';
    }
    url_ = CreateEmptyDatabase();
    ASSERT_FALSE(url_.empty());
    store_ = OpenDatabase();
    ASSERT_TRUE(store_);
  }

  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
    for (const std::string& database : databases_) {
      // An autovacuum worker in the database (a superuser's process, which FORCE may not end)
      // fails the drop now and then: it leaves within moments, so the drop is tried again.
      std::string output;
      bool dropped = false;
      for (int attempt = 0; attempt < 20 && !dropped; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
        output.clear();
        dropped = RunPsql(pg_base_ + "postgres",
                          "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)", output);
      }
      EXPECT_TRUE(dropped) << "DROP DATABASE " << database << " failed: " << output;
    }
  }

  // A new, empty database (SQLite: a file name in dir_; PostgreSQL: CREATE DATABASE), dropped
  // after the test. Returns its URL, or "" after recording a failure.
  std::string CreateEmptyDatabase() {
    if (!IsPostgres()) {
      return "sqlite://" + (dir_ / ("gatehouse-" + RandomHex() + ".db")).string();
    }
    const std::string database = "gh_test_" + RandomHex();
    std::string output;
    if (!RunPsql(pg_base_ + "postgres", "CREATE DATABASE " + database, output)) {
      ADD_FAILURE() << "CREATE DATABASE " << database << " failed: " << output;
      return "";
    }
    databases_.push_back(database);
    return pg_base_ + database;
  }

  // Opens one more store on this test's database, recording a failure (and returning null)
  // when that fails.
  std::unique_ptr<Store> OpenDatabase() {
    Result<std::unique_ptr<Store>> opened = OpenStore(url_, StoreOptions{kPoolSize});
    if (!opened) {
      ADD_FAILURE() << "open failed: " << opened.error().detail;
      return nullptr;
    }
    return std::move(opened).value();
  }

  std::vector<RevocationEvent> AllEvents() {
    Result<std::vector<RevocationEvent>> events = store_->RevocationsSince(0, 1000);
    EXPECT_TRUE(events) << Why(events);
    return events ? *events : std::vector<RevocationEvent>{};
  }

  fs::path dir_;
  std::string pg_base_;
  std::vector<std::string> databases_;  // PostgreSQL databases to drop
  std::string url_;
  std::unique_ptr<Store> store_;
};

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& backend) {
  return backend.param;
}

inline SessionRecord MakeSession(std::string sid, std::string username, int64_t expires_at = 9000) {
  return SessionRecord{std::move(sid), std::move(username), 1000, expires_at, 1000, {}, {}, {}, 0};
}

inline Status CreateSession(Store& store, const SessionRecord& session, int64_t password_version) {
  return store.CreateSession(session, UsernameKey(session.username), password_version);
}

inline std::vector<std::string> Sids(const UserTokensRevoked& revoked) {
  return SortedIds(revoked.sessions);
}

}  // namespace
}  // namespace gatehouse::store
