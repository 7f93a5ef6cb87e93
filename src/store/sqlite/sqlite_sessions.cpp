// The SQLite store's sessions as users see them (API.md §10): listing, ending one, ending the
// idle ones, recording a use, and the rows of refresh-token rotation.
#include <sqlite3.h>

#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_statements.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gatehouse::store {

using sqlite::BoundStatement;
using sqlite::SqliteFailure;

namespace {

// The first row a select answers, or nullopt when none.
template <typename T>
Result<std::optional<T>> FirstOrNone(sqlite3* db, BoundStatement& select,
                                     Result<T> (*decode)(const BoundStatement&),
                                     std::string_view what) {
  Result<std::vector<T>> rows = sqlite::ReadAll(db, select, decode, what);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

}  // namespace

Result<std::vector<SessionRecord>> SqliteStore::SelectSessions(const std::string& key, int64_t now,
                                                               int64_t idle_since) {
  return Locked([&]() -> Result<std::vector<SessionRecord>> {
    BoundStatement select = Bind(sqlite::kListSessions, key, now, idle_since);
    return sqlite::ReadAll(db_, select, &DecodeSession<BoundStatement>, "list sessions");
  });
}

Result<std::optional<SessionRecord>> SqliteStore::SelectSession(std::string_view sid) {
  return Locked([&]() -> Result<std::optional<SessionRecord>> {
    BoundStatement select = Bind(sqlite::kFindSession, sid);
    return FirstOrNone(db_, select, &DecodeSession<BoundStatement>, "find session");
  });
}

// Revokes each ended session by sid (with its feed entry); inside the caller's transaction.
Status SqliteStore::RevokeEndedLocked(BoundStatement& ended, std::vector<Revocation>& out) {
  Result<std::vector<Revocation>> sessions =
      sqlite::ReadAll(db_, ended, &DecodeEndedSession<BoundStatement>, "end sessions");
  if (!sessions) return sessions.error();
  for (const Revocation& session : *sessions) {
    if (auto added = AddRevocationLocked(session, "revoke session"); !added) return added.error();
  }
  out = std::move(*sessions);
  return Ok{};
}

Result<std::optional<Revocation>> SqliteStore::DeleteSession(const std::string& key,
                                                             std::string_view sid,
                                                             const AccountEvent* event) {
  std::vector<Revocation> ended;
  Status done = Committed([&]() -> Status {
    ended.clear();  // a batch retried after a failure runs its bodies again
    {
      BoundStatement remove = Bind(sqlite::kDeleteSession, key, sid);
      if (Status revoked = RevokeEndedLocked(remove, ended); !revoked) return revoked;
    }
    return ended.empty() ? Status(Ok{}) : RecordLocked(event);
  });
  if (!done) return done.error();
  if (ended.empty()) return std::optional<Revocation>();
  return std::optional<Revocation>(std::move(ended.front()));
}

Result<std::vector<Revocation>> SqliteStore::DeleteIdleSessions(int64_t idle_since) {
  std::vector<Revocation> ended;
  Status done = Committed([&]() -> Status {
    ended.clear();
    BoundStatement remove = Bind(sqlite::kDeleteIdleSessions, idle_since);
    return RevokeEndedLocked(remove, ended);
  });
  if (!done) return done.error();
  return ended;
}

Result<bool> SqliteStore::UpdateSessionUse(std::string_view sid, const SessionUse& use,
                                           int64_t idle_since) {
  bool found = false;
  Status done = Committed([&]() -> Status {
    BoundStatement update =
        Bind(sqlite::kTouchSession, sid, use.at, use.client_address, use.user_agent, idle_since);
    if (update.Step() != SQLITE_DONE) return SqliteFailure(db_, "record session use");
    found = sqlite3_changes64(db_) != 0;
    return Ok{};
  });
  if (!done) return done.error();
  return found;
}

Result<std::optional<RefreshUse>> SqliteStore::SelectRefreshUse(std::string_view jti) {
  return Locked([&]() -> Result<std::optional<RefreshUse>> {
    BoundStatement select = Bind(sqlite::kFindRefreshUse, jti);
    return FirstOrNone(db_, select, &DecodeRefreshUse<BoundStatement>, "find refresh use");
  });
}

Result<bool> SqliteStore::CompareAndRotate(const RotationRequest& request,
                                           std::string_view expected_jti) {
  bool rotated = false;
  Status done = Committed([&]() -> Status {
    rotated = false;
    {
      BoundStatement update =
          Bind(sqlite::kRotateSession, request.sid, expected_jti, request.new_jti, request.use.at,
               request.use.client_address, request.use.user_agent, request.idle_since);
      if (update.Step() != SQLITE_DONE) return SqliteFailure(db_, "rotate refresh token");
      if (sqlite3_changes64(db_) == 0) return Ok{};  // lost the compare: commits nothing
    }
    BoundStatement use = Bind(sqlite::kAddRefreshUse, request.presented_jti, request.sid,
                              request.use.at, request.sealed_answer);
    if (use.Step() != SQLITE_DONE) return SqliteFailure(db_, "record refresh use");
    rotated = true;
    return Ok{};
  });
  if (!done) return done.error();
  return rotated;
}

}  // namespace gatehouse::store
