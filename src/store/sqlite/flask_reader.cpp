#include "store/sqlite/flask_reader.hpp"

#include <sqlite3.h>

#include <memory>

namespace gatehouse::store {
namespace {

using Database = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;
using Statement = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

Error NotFlask(const std::string& path, const std::string& why) {
  return Error{ErrorCode::kBadRequest, path + " is not a Flask service database: " + why};
}

Result<Database> OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  // Read-only and no create: a mistyped path must not leave an empty database behind.
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  Database db(raw, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return NotFlask(path, sqlite3_errmsg(raw));
  return db;
}

Result<Statement> Prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  Statement stmt(raw, &sqlite3_finalize);
  // "no such table/column" and "file is not a database" both surface here.
  if (rc != SQLITE_OK) return NotFlask(path, sqlite3_errmsg(db));
  return stmt;
}

std::string Column(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text != nullptr
             ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
             : std::string();
}

template <typename Row, typename Make>
Status Stream(const std::string& path, const char* sql, int batch_size, Make make_row,
              const std::function<Status(const std::vector<Row>&)>& on_batch) {
  auto db = OpenReadOnly(path);
  if (!db) return db.error();
  auto stmt = Prepare(db->get(), path, sql);
  if (!stmt) return stmt.error();
  std::vector<Row> batch;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    batch.push_back(make_row(stmt->get()));
    if (static_cast<int>(batch.size()) < batch_size) continue;
    if (Status handled = on_batch(batch); !handled) return handled;
    batch.clear();
  }
  if (rc != SQLITE_DONE) return NotFlask(path, sqlite3_errmsg(db->get()));
  if (!batch.empty()) return on_batch(batch);
  return Ok{};
}

}  // namespace

Result<FlaskCounts> CountFlaskRows(const std::string& path) {
  auto db = OpenReadOnly(path);
  if (!db) return db.error();
  FlaskCounts counts;
  const std::pair<const char*, int64_t*> queries[] = {
      {"SELECT COUNT(*), MIN(LENGTH(username)), MIN(LENGTH(password)) FROM users", &counts.users},
      {"SELECT COUNT(*), MIN(LENGTH(jti)), 0 FROM revoked_tokens", &counts.revoked_tokens},
  };
  for (const auto& [sql, count] : queries) {
    auto stmt = Prepare(db->get(), path, sql);
    if (!stmt) return stmt.error();
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) return NotFlask(path, sqlite3_errmsg(db->get()));
    *count = sqlite3_column_int64(stmt->get(), 0);
  }
  return counts;
}

Status ReadFlaskUsers(const std::string& path, int batch_size,
                      const std::function<Status(const std::vector<FlaskUser>&)>& on_batch) {
  return Stream<FlaskUser>(
      path, "SELECT username, password FROM users ORDER BY rowid", batch_size,
      [](sqlite3_stmt* stmt) {
        return FlaskUser{Column(stmt, 0), Column(stmt, 1)};
      },
      on_batch);
}

Status ReadFlaskRevokedJtis(
    const std::string& path, int batch_size,
    const std::function<Status(const std::vector<std::string>&)>& on_batch) {
  return Stream<std::string>(
      path, "SELECT jti FROM revoked_tokens ORDER BY rowid", batch_size,
      [](sqlite3_stmt* stmt) { return Column(stmt, 0); }, on_batch);
}

Result<std::vector<std::string>> ReadFlaskCaseCollisions(const std::string& path) {
  // NOCASE folds ASCII only, as gatehouse's username keys do.
  constexpr const char* kSql =
      "SELECT username FROM users WHERE username COLLATE NOCASE IN "
      "(SELECT username FROM users GROUP BY username COLLATE NOCASE HAVING COUNT(*) > 1) "
      "ORDER BY username COLLATE NOCASE, rowid";
  std::vector<std::string> names;
  Status read = Stream<std::string>(
      path, kSql, 1000, [](sqlite3_stmt* stmt) { return Column(stmt, 0); },
      [&names](const std::vector<std::string>& batch) {
        names.insert(names.end(), batch.begin(), batch.end());
        return Status(Ok{});
      });
  if (!read) return read.error();
  return names;
}

}  // namespace gatehouse::store
