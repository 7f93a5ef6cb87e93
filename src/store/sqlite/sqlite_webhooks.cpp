// SQLite: the webhook delivery cursors (store/store.hpp). One process writes a SQLite file, so
// the lease only keeps a second server started on the same file from delivering twice.
#include <sqlite3.h>

#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_statements.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gatehouse::store {

using sqlite::BoundStatement;
using sqlite::SqliteFailure;

Result<std::optional<int64_t>> SqliteStore::LeaseWebhookCursor(std::string_view url_key,
                                                               std::string_view owner,
                                                               int64_t now_ms,
                                                               int64_t lease_until_ms) {
  std::optional<int64_t> cursor;
  Status done = Committed([&]() -> Status {
    BoundStatement create = Bind(sqlite::kCreateWebhookCursor, url_key);
    if (create.Step() != SQLITE_DONE) return SqliteFailure(db_, "create webhook cursor");
    BoundStatement lease =
        Bind(sqlite::kLeaseWebhookCursor, url_key, owner, now_ms, lease_until_ms);
    int rc = lease.Step();
    if (rc == SQLITE_ROW) {
      cursor = lease.Int(0);
      rc = lease.Step();
    }
    if (rc != SQLITE_DONE) return SqliteFailure(db_, "lease webhook cursor");
    return Ok{};
  });
  if (!done) return done.error();
  return cursor;
}

Result<bool> SqliteStore::UpdateWebhookCursor(std::string_view url_key, std::string_view owner,
                                              int64_t delivered, int64_t lease_until_ms) {
  bool held = false;
  Status done = Committed([&]() -> Status {
    BoundStatement advance =
        Bind(sqlite::kAdvanceWebhookCursor, url_key, owner, delivered, lease_until_ms);
    if (advance.Step() != SQLITE_DONE) return SqliteFailure(db_, "advance webhook cursor");
    held = sqlite3_changes64(db_) != 0;
    return Ok{};
  });
  if (!done) return done.error();
  return held;
}

}  // namespace gatehouse::store
