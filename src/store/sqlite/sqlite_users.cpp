// The SQLite store's users and sessions.
#include <sqlite3.h>

#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_statements.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store_rows.hpp"
#include "util/clock.hpp"

namespace gatehouse::store {

using sqlite::BoundStatement;
using sqlite::SqliteFailure;

Status SqliteStore::InsertUser(const UserRecord& user, const std::string& key,
                               const AccountEvent* event) {
  return Committed([&]() -> Status {
    BoundStatement insert = Bind(sqlite::kInsertUser, user.username, key, user.password_hash,
                                 user.created_at, user.claims);
    const int rc = insert.Step();
    if (rc == SQLITE_DONE) return RecordLocked(event);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
      return Error{ErrorCode::kConflict, "taken"};  // Store::CreateUser says what
    }
    return SqliteFailure(db_, "create user");
  });
}

Result<std::optional<UserRecord>> SqliteStore::SelectUser(const std::string& key) {
  return Locked([&]() -> Result<std::optional<UserRecord>> {
    BoundStatement select = Bind(sqlite::kFindUser, key);
    const int rc = select.Step();
    if (rc == SQLITE_DONE) return std::optional<UserRecord>();
    if (rc != SQLITE_ROW) return SqliteFailure(db_, "find user");
    Result<UserRecord> user = DecodeUser(select);
    if (!user) return user.error();
    return std::optional<UserRecord>(std::move(*user));
  });
}

Result<bool> SqliteStore::UpdateHash(const std::string& key, std::string_view hash) {
  bool updated = false;
  Status done = Committed([&]() -> Status {
    BoundStatement update = Bind(sqlite::kUpdatePasswordHash, hash, key);
    if (update.Step() != SQLITE_DONE) return SqliteFailure(db_, "update password hash");
    updated = sqlite3_changes64(db_) != 0;
    return Ok{};
  });
  if (!done) return done.error();
  return updated;
}

Result<std::optional<UserTokensRevoked>> SqliteStore::DeleteUserRevoking(
    const std::string& key, int64_t revoked_before, const AccountEvent* event) {
  std::optional<UserTokensRevoked> revoked;
  Status done = Committed([&]() -> Status {
    revoked.reset();
    BoundStatement remove = Bind(sqlite::kDeleteUser, key);
    if (remove.Step() != SQLITE_DONE) return SqliteFailure(db_, "remove user");
    if (sqlite3_changes64(db_) == 0) return Ok{};
    if (Status ended = RevokeUserLocked(key, revoked_before, revoked.emplace()); !ended) {
      return ended;
    }
    return RecordLocked(event);
  });
  if (!done) return done.error();
  return revoked;
}

Result<std::optional<UserTokensRevoked>> SqliteStore::ChangeHashRevoking(
    const std::string& key, std::string_view hash, int64_t revoked_before,
    const AccountEvent* event) {
  return UpdateThenRevoke("change password", key, revoked_before, event,
                          [&] { return Bind(sqlite::kChangePassword, hash, key); });
}

Result<std::optional<UserTokensRevoked>> SqliteStore::DisableRevoking(const std::string& key,
                                                                      int64_t revoked_before,
                                                                      const AccountEvent* event) {
  return UpdateThenRevoke("disable user", key, revoked_before, event,
                          [&] { return Bind(sqlite::kSetDisabled, 1, key); });
}

Result<std::optional<UserTokensRevoked>> SqliteStore::ResetHashRevoking(const std::string& key,
                                                                        const PasswordReset& reset,
                                                                        int64_t revoked_before,
                                                                        const AccountEvent* event) {
  return UpdateThenRevoke("reset password", key, revoked_before, event, [&] {
    return Bind(sqlite::kResetPassword, reset.hash, key, reset.code_hash, reset.now);
  });
}

// One transaction: the user's row is updated (the statement returns the password version; no
// row: nothing written, nullopt), then every token of the user is revoked and `event` recorded.
template <typename BindUpdate>
Result<std::optional<UserTokensRevoked>> SqliteStore::UpdateThenRevoke(std::string_view what,
                                                                       const std::string& key,
                                                                       int64_t revoked_before,
                                                                       const AccountEvent* event,
                                                                       BindUpdate bind_update) {
  std::optional<UserTokensRevoked> revoked;
  Status done = Committed([&]() -> Status {
    revoked.reset();  // a retried batch runs the body again
    int64_t password_version = 0;
    {
      BoundStatement update = bind_update();
      const int rc = update.Step();
      if (rc == SQLITE_DONE) return Ok{};  // no such user (or condition)
      if (rc != SQLITE_ROW) return SqliteFailure(db_, what);
      password_version = update.Int(0);
    }
    revoked.emplace().password_version = password_version;
    if (Status ended = RevokeUserLocked(key, revoked_before, *revoked); !ended) return ended;
    return RecordLocked(event);
  });
  if (!done) return done.error();
  return revoked;
}

Result<bool> SqliteStore::UpdateUser(const std::string& key, const UserUpdate& update,
                                     const AccountEvent* event) {
  bool updated = false;
  Status done = Committed([&]() -> Status {
    updated = false;
    BoundStatement statement = update.field == UserUpdate::Field::kEnable
                                   ? Bind(sqlite::kSetDisabled, 0, key)
                               : update.field == UserUpdate::Field::kClaims
                                   ? Bind(sqlite::kSetClaims, update.text, key)
                                   : Bind(sqlite::kSetResetCode, update.text, update.number, key);
    const int rc = statement.Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteFailure(db_, "update user");
    // Enabling returns the row it changed; the other updates only count it.
    updated = rc == SQLITE_ROW || sqlite3_changes64(db_) != 0;
    return updated ? RecordLocked(event) : Status(Ok{});
  });
  if (!done) return done.error();
  return updated;
}

Result<UserTokensRevoked> SqliteStore::RevokeUser(const std::string& key, int64_t revoked_before,
                                                  const AccountEvent* event) {
  UserTokensRevoked revoked;
  Status done = Committed([&]() -> Status {
    revoked = UserTokensRevoked{};
    if (Status ended = RevokeUserLocked(key, revoked_before, revoked); !ended) return ended;
    return RecordLocked(event);
  });
  if (!done) return done.error();
  return revoked;
}

Status SqliteStore::RevokeUserLocked(const std::string& key, int64_t revoked_before,
                                     UserTokensRevoked& out) {
  out.user = UserRevocation{key, revoked_before};
  {
    BoundStatement upsert = Bind(sqlite::kSetUserRevokedBefore, key, revoked_before);
    if (upsert.Step() != SQLITE_DONE) return SqliteFailure(db_, "set user revoked-before");
  }
  if (Status appended = AppendEvent(RevocationEvent::Kind::kUser, key, revoked_before); !appended) {
    return appended;
  }
  {
    BoundStatement select = Bind(sqlite::kUserSessions, key);
    Result<std::vector<Revocation>> sessions =
        sqlite::ReadAll(db_, select, &DecodeEndedSession<BoundStatement>, "list user sessions");
    if (!sessions) return sessions.error();
    out.sessions = std::move(*sessions);
  }
  for (const Revocation& session : out.sessions) {
    if (auto added = AddRevocationLocked(session, "revoke session"); !added) return added.error();
  }
  BoundStatement forget = Bind(sqlite::kDeleteUserSessions, key);
  if (forget.Step() != SQLITE_DONE) return SqliteFailure(db_, "delete user sessions");
  return Ok{};
}

Result<bool> SqliteStore::InsertSession(const SessionRecord& session, const std::string& key,
                                        int64_t password_version, const AccountEvent* event) {
  bool recorded = false;
  Status done = Committed([&]() -> Status {
    BoundStatement insert = Bind(sqlite::kCreateSession, session.sid, session.created_at,
                                 session.expires_at, session.client_address, session.user_agent,
                                 session.refresh_jti, key, password_version);
    if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "create session");
    recorded = sqlite3_changes64(db_) != 0;
    return recorded ? RecordLocked(event) : Status(Ok{});
  });
  if (!done) return done.error();
  return recorded;
}

Result<int64_t> SqliteStore::SelectSessionsRecordedSince() {
  return Locked([&]() -> Result<int64_t> {
    BoundStatement select = Bind(sqlite::kSessionsRecordedSince);
    if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "sessions recorded since");
    return select.Int(0);
  });
}

Result<std::vector<UserRecord>> SqliteStore::SelectUsers(std::string_view after_key, int limit,
                                                         std::string_view prefix_key,
                                                         std::string_view prefix_end) {
  return Locked([&]() -> Result<std::vector<UserRecord>> {
    BoundStatement select = prefix_key.empty() ? Bind(sqlite::kListUsers, after_key, limit)
                                               : Bind(sqlite::kListUsersWithPrefix, after_key,
                                                      prefix_key, prefix_end, limit);
    return sqlite::ReadAll(db_, select, &DecodeListedUser<BoundStatement>, "list users");
  });
}

Result<int64_t> SqliteStore::InsertNewUsers(const std::vector<KeyedUser>& users) {
  int64_t inserted = 0;
  Status done = Committed([&]() -> Status {
    inserted = 0;
    for (const KeyedUser& keyed : users) {
      const UserRecord& user = *keyed.user;
      BoundStatement insert =
          Bind(sqlite::kImportUser, user.username, keyed.key, user.password_hash, user.created_at);
      if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "import user");
      inserted += sqlite3_changes64(db_);
    }
    return Ok{};
  });
  if (!done) return done.error();
  return inserted;
}

// Lock-free: file_ is set once at open, and Present() only reads it. A non-rotating refresh
// asks on the I/O thread, and a stat() per refresh (a path walk in the kernel) was about 8%
// of its time: the answer is reused for kReachableReuse, so a file that goes is noticed within
// that time (docs/api.md). Writes still check the file each time (Committed).
Status SqliteStore::StillReachable() const {
  constexpr int64_t kReachableReuse = 10'000'000;  // nanoseconds
  const int64_t now_ns = CoarseMonotonicNs();
  if (now_ns - reachable_checked_at_.load(std::memory_order_relaxed) >= kReachableReuse) {
    reachable_.store(file_.Present(), std::memory_order_relaxed);
    reachable_checked_at_.store(now_ns, std::memory_order_relaxed);
  }
  if (reachable_.load(std::memory_order_relaxed)) return Ok{};
  return StorageError(ErrorCode::kStorageUnavailable, "check file",
                      "the database file was deleted or replaced");
}

Status SqliteStore::Probe() {
  // A read succeeds on a full disk: once a write has failed for want of storage, only a write
  // tells when it works again (one row, and only while writes fail). Before that, a disk found
  // full (one statvfs()) is not ready either, without waiting for a write to fail.
  if (writes_failing_.load(std::memory_order_relaxed)) {
    Status probed = Committed([&]() -> Status {
      return sqlite::Exec(db_,
                          "INSERT OR REPLACE INTO store_facts (name, value) "
                          "VALUES ('write_probe', 0)",
                          "write probe");
    });
    if (!probed || !writes_failing_.load(std::memory_order_relaxed)) return probed;
    return StorageError(ErrorCode::kStorageUnavailable, "write probe",
                        "a write failed for want of storage less than 5 s ago");
  }
  return Locked([&]() -> Status {
    if (Status room = file_.CheckRoom(); !room) return room;
    return sqlite::Exec(db_, "SELECT 1", "ping");
  });
}

}  // namespace gatehouse::store
