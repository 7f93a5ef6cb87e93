#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace gatehouse::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("gatehouse-store-test-" + std::to_string(random()) + std::to_string(random()));
    ASSERT_TRUE(fs::create_directory(dir_));
    path_ = (dir_ / "gatehouse.db").string();
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Opens path_, recording a test failure (and returning null) when that fails.
  std::unique_ptr<Store> OpenDatabase() {
    Result<std::unique_ptr<Store>> opened = SqliteStore::Open(path_);
    if (!opened) {
      ADD_FAILURE() << "open failed: " << opened.error().detail;
      return nullptr;
    }
    return std::move(opened).value();
  }

  fs::path dir_;
  std::string path_;
};

UserRecord MakeUser(std::string username, std::string hash = "$argon2id$v=19$m=19456,t=2,p=1$x$y") {
  return UserRecord{std::move(username), std::move(hash), 1700000000};
}

std::vector<std::string> SortedIds(const std::vector<Revocation>& revocations) {
  std::vector<std::string> ids;
  for (const Revocation& revocation : revocations) ids.push_back(revocation.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_F(SqliteStoreTest, CreateThenFindReturnsTheStoredRecord) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateUser(MakeUser("alice", "$argon2id$hash-a")));

  Result<std::optional<UserRecord>> found = store->FindUser("alice");
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "alice");
  EXPECT_EQ((*found)->password_hash, "$argon2id$hash-a");
  EXPECT_EQ((*found)->created_at, 1700000000);
}

TEST_F(SqliteStoreTest, FindOfUnknownUserReturnsNullopt) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  Result<std::optional<UserRecord>> found = store->FindUser("nobody");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_F(SqliteStoreTest, FindIgnoresCaseAndReturnsTheNameAsFirstGiven) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateUser(MakeUser("Alice")));

  for (const char* spelling : {"alice", "ALICE", "aLiCe"}) {
    Result<std::optional<UserRecord>> found = store->FindUser(spelling);
    ASSERT_TRUE(found);
    ASSERT_TRUE(found->has_value()) << spelling;
    EXPECT_EQ((*found)->username, "Alice");
  }
}

TEST_F(SqliteStoreTest, CreatingTheSameUsernameInAnotherCaseConflicts) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateUser(MakeUser("alice", "$argon2id$first")));

  Status second = store->CreateUser(MakeUser("ALICE", "$argon2id$second"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_EQ(second.error().detail.find("$argon2id$"), std::string::npos);
  EXPECT_EQ(store->FindUser("alice")->value().password_hash, "$argon2id$first");
}

TEST_F(SqliteStoreTest, ConcurrentCreatesOfOneUsernameLetExactlyOneSucceed) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  constexpr int kThreads = 50;
  std::atomic<int> succeeded{0};
  std::atomic<int> conflicted{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status created = store->CreateUser(MakeUser(i % 2 == 0 ? "bob" : "BOB"));
      if (created) {
        ++succeeded;
      } else if (created.error().code == ErrorCode::kConflict) {
        ++conflicted;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 1);
  EXPECT_EQ(conflicted.load(), kThreads - 1);
}

TEST_F(SqliteStoreTest, UpdatePasswordHashReplacesTheHash) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateUser(MakeUser("carol", "$pbkdf2-sha256$old")));

  ASSERT_TRUE(store->UpdatePasswordHash("CAROL", "$argon2id$new"));
  Result<std::optional<UserRecord>> found = store->FindUser("carol");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->password_hash, "$argon2id$new");
  EXPECT_EQ((*found)->username, "carol");
}

TEST_F(SqliteStoreTest, UpdatePasswordHashOfUnknownUserIsNotFound) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  Status updated = store->UpdatePasswordHash("ghost", "$argon2id$secret");
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(updated.error().detail.find("secret"), std::string::npos);
}

TEST_F(SqliteStoreTest, ReAddingARevocationSucceeds) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  const Revocation revocation{"jti-1", RevocationKind::kToken, 2000};
  ASSERT_TRUE(store->AddRevocation(revocation));
  ASSERT_TRUE(store->AddRevocation(revocation));

  Result<std::vector<Revocation>> loaded = store->LoadRevocations(1000);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "jti-1");
  EXPECT_EQ((*loaded)[0].kind, RevocationKind::kToken);
  EXPECT_EQ((*loaded)[0].expires_at, 2000);
}

TEST_F(SqliteStoreTest, ReAddingARevocationKeepsTheLaterExpiry) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AddRevocation({"sid-1", RevocationKind::kSession, 3000}));
  ASSERT_TRUE(store->AddRevocation({"sid-1", RevocationKind::kSession, 2000}));

  Result<std::vector<Revocation>> loaded = store->LoadRevocations(2500);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].expires_at, 3000);
  EXPECT_EQ((*loaded)[0].kind, RevocationKind::kSession);
}

TEST_F(SqliteStoreTest, LoadRevocationsReturnsOnlyUnexpiredRows) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AddRevocation({"expired", RevocationKind::kToken, 999}));
  ASSERT_TRUE(store->AddRevocation({"expires-now", RevocationKind::kToken, 1000}));
  ASSERT_TRUE(store->AddRevocation({"live-token", RevocationKind::kToken, 1001}));
  ASSERT_TRUE(store->AddRevocation({"live-session", RevocationKind::kSession, 5000}));

  Result<std::vector<Revocation>> loaded = store->LoadRevocations(1000);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(SortedIds(*loaded), (std::vector<std::string>{"live-session", "live-token"}));
}

TEST_F(SqliteStoreTest, PruneRevocationsDeletesExpiredRowsAndCountsThem) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AddRevocation({"old-1", RevocationKind::kToken, 500}));
  ASSERT_TRUE(store->AddRevocation({"old-2", RevocationKind::kSession, 1000}));
  ASSERT_TRUE(store->AddRevocation({"live", RevocationKind::kToken, 1001}));

  Result<int64_t> pruned = store->PruneRevocations(1000);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 2);
  Result<std::vector<Revocation>> remaining = store->LoadRevocations(0);
  ASSERT_TRUE(remaining);
  EXPECT_EQ(SortedIds(*remaining), (std::vector<std::string>{"live"}));
  EXPECT_EQ(*store->PruneRevocations(1000), 0);
}

TEST_F(SqliteStoreTest, UserRevokedBeforeKeepsTheLaterTime) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->SetUserRevokedBefore({"dave", 2000}));
  ASSERT_TRUE(store->SetUserRevokedBefore({"dave", 1500}));
  ASSERT_TRUE(store->SetUserRevokedBefore({"erin", 100}));
  ASSERT_TRUE(store->SetUserRevokedBefore({"erin", 300}));

  Result<std::vector<UserRevocation>> loaded = store->LoadUserRevocations();
  ASSERT_TRUE(loaded);
  std::map<std::string, int64_t> by_user;
  for (const UserRevocation& revocation : *loaded) {
    by_user[revocation.username_key] = revocation.revoked_before;
  }
  EXPECT_EQ(by_user, (std::map<std::string, int64_t>{{"dave", 2000}, {"erin", 300}}));
}

TEST_F(SqliteStoreTest, UserRevokedBeforeKeyIgnoresCase) {
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->SetUserRevokedBefore({"Frank", 10}));
  ASSERT_TRUE(store->SetUserRevokedBefore({"frank", 20}));

  Result<std::vector<UserRevocation>> loaded = store->LoadUserRevocations();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].username_key, "frank");
  EXPECT_EQ((*loaded)[0].revoked_before, 20);
}

TEST_F(SqliteStoreTest, DataPersistsAcrossCloseAndReopen) {
  {
    auto store = OpenDatabase();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->CreateUser(MakeUser("Grace", "$argon2id$g")));
    ASSERT_TRUE(store->AddRevocation({"jti-9", RevocationKind::kToken, 9000}));
    ASSERT_TRUE(store->SetUserRevokedBefore({"grace", 42}));
  }
  auto store = OpenDatabase();
  ASSERT_TRUE(store);
  Result<std::optional<UserRecord>> found = store->FindUser("grace");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "Grace");
  EXPECT_EQ((*found)->password_hash, "$argon2id$g");
  EXPECT_EQ(SortedIds(*store->LoadRevocations(0)), (std::vector<std::string>{"jti-9"}));
  ASSERT_EQ(store->LoadUserRevocations()->size(), 1u);
  EXPECT_EQ(store->LoadUserRevocations()->at(0).revoked_before, 42);
}

TEST_F(SqliteStoreTest, ReopeningAnExistingDatabaseKeepsItsSchemaVersion) {
  ASSERT_TRUE(OpenDatabase());
  Result<int64_t> first = SqliteStore::ReadSchemaVersion(path_);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(*first, SqliteStore::LatestSchemaVersion());

  // Migration 1 uses plain CREATE TABLE: re-running it would make this open fail.
  ASSERT_TRUE(OpenDatabase());
  Result<int64_t> second = SqliteStore::ReadSchemaVersion(path_);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(*second, SqliteStore::LatestSchemaVersion());
}

TEST_F(SqliteStoreTest, NewDatabaseFileIsPrivateToItsOwner) {
  ASSERT_TRUE(OpenDatabase());
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, OpeningInAMissingDirectoryFails) {
  const std::string path = (dir_ / "missing" / "gatehouse.db").string();
  Result<std::unique_ptr<Store>> opened = SqliteStore::Open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kStorageFailure);
  EXPECT_NE(opened.error().detail.find("does not exist"), std::string::npos)
      << opened.error().detail;
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(SqliteStoreTest, AFileThatIsNotSqliteFailsCleanly) {
  const std::string garbage(4096, 'x');
  std::ofstream(path_, std::ios::binary) << garbage;

  Result<std::unique_ptr<Store>> opened = SqliteStore::Open(path_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kStorageFailure);
  EXPECT_NE(opened.error().detail.find("not a database"), std::string::npos)
      << opened.error().detail;
  std::ifstream in(path_, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), garbage);
}

TEST_F(SqliteStoreTest, OpenStoreAcceptsAnAbsoluteSqliteUrl) {
  ASSERT_EQ(path_.front(), '/');
  Result<std::unique_ptr<Store>> opened = OpenStore("sqlite://" + path_);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_TRUE(fs::exists(path_));
}

TEST_F(SqliteStoreTest, OpenStoreAcceptsARelativeSqliteUrl) {
  const fs::path relative = fs::relative(path_, fs::current_path());
  ASSERT_TRUE(relative.is_relative());
  Result<std::unique_ptr<Store>> opened = OpenStore("sqlite://" + relative.string());
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_TRUE(fs::exists(path_));
}

TEST(OpenStoreTest, RejectsPostgresqlWithoutEchoingTheUrl) {
  Result<std::unique_ptr<Store>> opened = OpenStore("postgresql://admin:hunter2@db.local/gate");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kStorageFailure);
  EXPECT_NE(opened.error().detail.find("unsupported scheme 'postgresql'"), std::string::npos)
      << opened.error().detail;
  EXPECT_EQ(opened.error().detail.find("hunter2"), std::string::npos);
}

TEST(OpenStoreTest, RejectsGarbageUrls) {
  for (const char* url : {"", "gatehouse.db", "sqlite:", "sqlite:/x.db", "sqlite://", "://x",
                          "mysql://x", "user:pass@host/db"}) {
    Result<std::unique_ptr<Store>> opened = OpenStore(url);
    ASSERT_FALSE(opened) << url;
    EXPECT_EQ(opened.error().code, ErrorCode::kStorageFailure) << url;
    EXPECT_FALSE(opened.error().detail.empty()) << url;
    EXPECT_EQ(opened.error().detail.find("pass"), std::string::npos) << url;
  }
}

TEST(UsernameKeyTest, LowerCasesAsciiLettersOnly) {
  EXPECT_EQ(UsernameKey("AbC-Z_09"), "abc-z_09");
  EXPECT_EQ(UsernameKey("\xC3\x84rger"), "\xC3\x84rger");  // "Ärger": UTF-8 bytes untouched
  EXPECT_EQ(UsernameKey(""), "");
}

}  // namespace
}  // namespace gatehouse::store
