// The SQLite store's group commit (store/group_commit.hpp): the steps of one batch, run on the
// store's writer thread.
#include <sqlite3.h>

#include <utility>

#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "util/clock.hpp"

namespace gatehouse::store {

void SqliteStore::Exclusive(const std::function<void()>& batch) {
  {
    std::lock_guard lock(mutex_);
    batch();
  }
  // After mutex_ is released: the woken reader of the feed takes it at once.
  if (std::exchange(feed_committed_, false)) {
    std::lock_guard lock(feed_signal_mutex_);
    if (feed_signal_) feed_signal_();
  }
}

Status SqliteStore::Begin() {
  if (Status file = file_.Check(); !file) return NotingWriteFailure(file.error());
  batch_changed_rows_ = false;
  batch_appended_feed_ = false;
  // IMMEDIATE takes the write lock at once, so what a write reads cannot change before it writes.
  return NotingWriteFailure(sqlite::Exec(db_, "BEGIN IMMEDIATE", "begin"));
}

Status SqliteStore::Savepoint() {
  changes_at_savepoint_ = sqlite3_total_changes64(db_);
  return sqlite::Exec(db_, "SAVEPOINT write", "savepoint");
}

Status SqliteStore::ReleaseSavepoint() {
  Status released = sqlite::Exec(db_, "RELEASE write", "release savepoint");
  if (released && sqlite3_total_changes64(db_) != changes_at_savepoint_) {
    batch_changed_rows_ = true;
  }
  return released;
}

bool SqliteStore::RollbackToSavepoint() {
  // SQLite ends the whole transaction by itself on some errors (I/O, full disk, out of memory).
  if (sqlite3_get_autocommit(db_) != 0) return false;
  const int rolled_back =
      sqlite3_exec(db_, "ROLLBACK TO write; RELEASE write", nullptr, nullptr, nullptr);
  return rolled_back == SQLITE_OK && sqlite3_get_autocommit(db_) == 0;
}

Status SqliteStore::Commit() {
  // synchronous=FULL: the WAL is fsync'd before COMMIT returns.
  if (Status committed = sqlite::Exec(db_, "COMMIT", "commit"); !committed) {
    return NotingWriteFailure(std::move(committed));
  }
  // Committed into a file that is no longer at the path is lost: never acknowledged.
  if (Status file = file_.Check(); !file) return NotingWriteFailure(std::move(file));
  // Only a commit that changed rows has shown that writes reach the disk again: an empty one
  // (a batch whose every write failed alone) writes nothing.
  if (batch_changed_rows_ &&
      CoarseMonotonicNs() - write_failed_at_ns_.load(std::memory_order_relaxed) >=
          kWritesSettleNs) {
    writes_failing_.store(false, std::memory_order_relaxed);
  }
  if (batch_appended_feed_) feed_committed_ = true;
  return Ok{};
}

Status SqliteStore::NotingWriteFailure(Status status) {
  if (!status && status.error().code == ErrorCode::kStorageUnavailable) {
    write_failed_at_ns_.store(CoarseMonotonicNs(), std::memory_order_relaxed);
    writes_failing_.store(true, std::memory_order_relaxed);
  }
  return status;
}

void SqliteStore::Rollback() {
  if (sqlite3_get_autocommit(db_) == 0) {
    (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace gatehouse::store
