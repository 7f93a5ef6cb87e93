// Running SQL on the SQLite connection: binding a named, typed statement (store/statement.hpp),
// reading its rows, and the errors SQLite's answers become. Internal to src/store/sqlite; the
// caller holds the store's mutex for every call here.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store_rows.hpp"
#include "util/result.hpp"

namespace gatehouse::store::sqlite {

using StatementPtr = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

// kStorageFailure with `detail` as it is (no "database: " prefix).
Error Failure(std::string detail);
// The error of the statement that just failed on `db`: kStorageUnavailable when the storage
// itself fails (disk full, I/O error, file gone; logged at most every few seconds), else
// kStorageFailure. SQLite's messages name tables and columns, never bound values.
Error SqliteFailure(sqlite3* db, std::string_view what);
// Runs SQL text without parameters (BEGIN, COMMIT, PRAGMA, migrations).
Status Exec(sqlite3* db, const char* sql, std::string_view what);
// Prepares a one-off query and steps to its first row; kStorageFailure when there is none.
Result<StatementPtr> FirstRow(sqlite3* db, const char* sql);
// The same, answering SQLite's code (SQLITE_ROW when there is a row) for callers that retry.
int StepToFirstRow(sqlite3* db, const char* sql, StatementPtr& stmt);
Error FirstRowFailure(sqlite3* db, const char* sql, int rc);

int BindOne(sqlite3_stmt* stmt, int index, std::string_view text);
int BindOne(sqlite3_stmt* stmt, int index, int64_t number);

// One use of a cached statement. Resetting on every exit path keeps a half-read SELECT from
// holding its read transaction open and keeps stale bindings out of the next use.
class BoundStatement {
 public:
  // `stmt` null: the statement could not be prepared (`rc` says why); Step answers rc.
  template <typename... Args>
  BoundStatement(sqlite3_stmt* stmt, int rc, const Args&... args) : stmt_(stmt), rc_(rc) {
    int index = 0;
    ((rc_ = rc_ == SQLITE_OK ? BindOne(stmt_, ++index, args) : rc_), ...);
  }
  ~BoundStatement();
  BoundStatement(const BoundStatement&) = delete;
  BoundStatement& operator=(const BoundStatement&) = delete;

  // SQLITE_ROW, SQLITE_DONE, or the (extended) code of a preparation, binding or step failure.
  int Step() { return rc_ != SQLITE_OK ? rc_ : sqlite3_step(stmt_); }

  std::string Text(int column) const;
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_;
  int rc_;
};

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when it fails. IMMEDIATE takes the
// write lock at once, so what the body reads cannot change before it writes.
template <typename Body>
Status InImmediateTransaction(sqlite3* db, std::string_view what, Body body) {
  if (Status begun = Exec(db, "BEGIN IMMEDIATE", what); !begun) return begun;
  Status result = body();
  if (result) result = Exec(db, "COMMIT", what);
  if (!result) (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return result;
}

// Steps `select` to its end, decoding each row with `decode` (store/store_rows.hpp).
template <typename T>
Result<std::vector<T>> ReadAll(sqlite3* db, BoundStatement& select,
                               Result<T> (*decode)(const BoundStatement&), std::string_view what) {
  std::vector<T> out;
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    Result<T> row = decode(select);
    if (!row) return row.error();
    out.push_back(std::move(*row));
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db, what);
  return out;
}

}  // namespace gatehouse::store::sqlite

namespace gatehouse::store {

template <typename... Params>
sqlite::BoundStatement SqliteStore::Bind(const Statement<Params...>& statement,
                                         std::type_identity_t<Params>... args) {
  int rc = SQLITE_OK;
  sqlite3_stmt* stmt = Prepared(statement.text, rc);
  return sqlite::BoundStatement(stmt, rc, args...);
}

template <typename Body>
auto SqliteStore::Locked(Body body) -> decltype(body()) {
  // Inside a write of the group commit (a rotation's reads): the writer holds mutex_, and
  // Begin checked the file.
  if (t_inside_write) return body();
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  return body();
}

template <typename Body>
Status SqliteStore::Committed(Body body) {
  // Inside a write already: part of its savepoint, committed (or undone) with it.
  if (t_inside_write) return body();
  return group_->Run([this, &body]() -> Status { return NotingWriteFailure(body()); });
}

}  // namespace gatehouse::store
