#include "store/sqlite/sqlite_statement.hpp"

#include <atomic>

#include "obs/logging.hpp"

namespace gatehouse::store::sqlite {
namespace {

// Errors of the storage itself rather than of the statement: the disk is full, failing or
// gone, the file cannot be (re)opened or written. Nothing was written; the client may retry.
bool StorageIsFailing(int code) {
  switch (code & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

}  // namespace

Error Failure(std::string detail) { return Error{ErrorCode::kStorageFailure, std::move(detail)}; }

namespace {

// What SqliteFailure and Exec share: storage errors are kStorageUnavailable (and logged),
// others kStorageFailure.
Error Classified(sqlite3* db, std::string_view what, std::string_view message) {
  if (!StorageIsFailing(sqlite3_extended_errcode(db))) {
    return StorageError(ErrorCode::kStorageFailure, what, message);
  }
  Error error = StorageError(ErrorCode::kStorageUnavailable, what, message);
  // Logged at most every few seconds: under load every write fails the same way.
  static std::atomic<int64_t> last_logged{0};
  if (obs::LogDue(last_logged, 5)) {
    obs::Error("storage unavailable: writing the database fails", {{"error", error.detail}});
  }
  return error;
}

}  // namespace

Error SqliteFailure(sqlite3* db, std::string_view what) {
  return Classified(db, what, sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return Ok{};
  // A COMMIT on a full disk fails here: it must read as "storage unavailable" (503), not 500.
  Error error = Classified(db, what, message != nullptr ? message : sqlite3_errmsg(db));
  sqlite3_free(message);
  return error;
}

int StepToFirstRow(sqlite3* db, const char* sql, StatementPtr& stmt) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  stmt.reset(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  return rc;
}

Error FirstRowFailure(sqlite3* db, const char* sql, int rc) {
  return Failure(std::string(sql) + ": " + (rc == SQLITE_DONE ? "no row" : sqlite3_errmsg(db)));
}

Result<StatementPtr> FirstRow(sqlite3* db, const char* sql) {
  StatementPtr stmt(nullptr, &sqlite3_finalize);
  const int rc = StepToFirstRow(db, sql, stmt);
  if (rc == SQLITE_ROW) return stmt;
  return FirstRowFailure(db, sql, rc);
}

int BindOne(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A null data pointer would bind SQL NULL instead of the empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

int BindOne(sqlite3_stmt* stmt, int index, int64_t number) {
  return sqlite3_bind_int64(stmt, index, number);
}

BoundStatement::~BoundStatement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string BoundStatement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return text != nullptr ? std::string(text, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace gatehouse::store::sqlite
