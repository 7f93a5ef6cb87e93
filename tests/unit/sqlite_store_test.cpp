// SQLite-only behaviour: files, modes, schema-version reads, directories, sqlite:// URLs.
// Everything a backend must do is in store_contract_test.cpp, which runs against SQLite too.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "store/store.hpp"
#include "unit/sqlite_store_fixture.hpp"

namespace gatehouse::store {
namespace {

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

TEST(OpenStoreTest, UnreachablePostgresqlIsUnavailableWithoutEchoingThePassword) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  Result<std::unique_ptr<Store>> opened = OpenStore("postgresql://admin:hunter2@127.0.0.1:1/gate");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kStorageUnavailable);
  EXPECT_NE(opened.error().detail.find("postgresql://admin:***@127.0.0.1:1/gate"),
            std::string::npos)
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

TEST(CheckDatabaseUrlTest, AcceptsSqliteAndPostgresqlUrls) {
  for (const char* url : {"sqlite://./gatehouse.db", "postgresql://u:p@127.0.0.1:5432/db",
                          "postgres://u@db.example/gate?sslmode=require"}) {
    EXPECT_TRUE(CheckDatabaseUrl(url)) << url;
  }
}

TEST(CheckDatabaseUrlTest, RefusesMalformedUrlsWithoutEchoingThePassword) {
  for (const char* url :
       {"mysql://u:hunter2@h/db", "sqlite://", "postgresql://u:hunter2@127.0.0.1:notaport/db",
        "postgresql://u:hunter2@h:5432/db?sslmode=bogus", "postgresql://u:hunter2@[::1/db"}) {
    StartupStatus checked = CheckDatabaseUrl(url);
    ASSERT_FALSE(checked) << url;
    EXPECT_EQ(checked.error().code, StartupErrorCode::kBadSetting) << url;
    EXPECT_EQ(checked.error().detail.find("hunter2"), std::string::npos) << url;
  }
}

TEST(UsernameKeyTest, LowerCasesAsciiLettersOnly) {
  EXPECT_EQ(UsernameKey("AbC-Z_09").str(), "abc-z_09");
  EXPECT_EQ(UsernameKey("\xC3\x84rger").str(), "\xC3\x84rger");  // "Ärger": UTF-8 bytes untouched
  EXPECT_EQ(UsernameKey("").str(), "");
}

}  // namespace
}  // namespace gatehouse::store
