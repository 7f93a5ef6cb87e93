// The fixture of the SQLite store's tests (sqlite_store_test.cpp, group_commit_test.cpp): a
// fresh directory per test, the database file path_ in it, removed afterwards.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "store/sqlite/sqlite_store.hpp"
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

}  // namespace
}  // namespace gatehouse::store
