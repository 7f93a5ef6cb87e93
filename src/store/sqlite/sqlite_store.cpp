#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <thread>
#include <utility>

#include "obs/logging.hpp"

namespace gatehouse::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// The store serialises every call on its own mutex, so SQLite's per-connection mutex would
// only add cost.
constexpr int kOpenFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

// Step N (1-based) takes the schema from version N-1 to N. A released step is never edited:
// databases in the field have already run it. Schema changes go in a new step at the end.
constexpr const char* kMigrations[] = {
    R"sql(
      CREATE TABLE users (
        username TEXT NOT NULL,
        username_key TEXT NOT NULL PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE revocations (
        id TEXT NOT NULL PRIMARY KEY,
        kind INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX revocations_by_expiry ON revocations (expires_at);
      CREATE TABLE user_revocations (
        username_key TEXT NOT NULL PRIMARY KEY,
        revoked_before INTEGER NOT NULL
      );
    )sql",
    // 2: a feed of revocations in commit order, so that other processes (a running server
    // when the CLI removes a user, other instances) learn of them by polling a cursor.
    R"sql(
      CREATE TABLE revocation_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        subject TEXT NOT NULL,
        kind INTEGER NOT NULL,
        value INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX revocation_events_by_time ON revocation_events (created_at);
    )sql",
    // 3: signing keys kept in the store (used when the store is shared), and pruning of
    // user revoked-before times that no longer refuse anything.
    R"sql(
      CREATE TABLE signing_keys (
        kid TEXT NOT NULL PRIMARY KEY,
        algorithm TEXT NOT NULL,
        material TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX user_revocations_by_time ON user_revocations (revoked_before);
    )sql",
    // 4: start-up reads every unexpired revocation; an index that holds the whole row serves
    // that in index order, without a random table lookup per row (1M rows: seconds saved).
    R"sql(
      DROP INDEX revocations_by_expiry;
      CREATE INDEX revocations_by_expiry ON revocations (expires_at, id, kind);
    )sql",
    // 5: sessions as records, so that revoking every token of a user can name each session
    // (its tokens of the current second included), and a password version that a login's new
    // session is checked against.
    R"sql(
      ALTER TABLE users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE sessions (
        sid TEXT NOT NULL PRIMARY KEY,
        username_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions (username_key);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
      CREATE TABLE store_facts (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL);
      -- 0 on a new database; else now, with a minute of margin for the clocks of instances
      -- that ran the previous version meanwhile.
      INSERT INTO store_facts (name, value) SELECT 'sessions_recorded_since', CASE WHEN EXISTS
        (SELECT 1 FROM users) THEN CAST(strftime('%s', 'now') AS INTEGER) + 60 ELSE 0 END;
    )sql",
};

constexpr const char* kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
constexpr const char* kSelectVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

enum StatementId : std::size_t {
  kInsertUser,
  kFindUser,
  kUpdatePasswordHash,
  kAddRevocation,
  kLoadRevocations,
  kPruneRevocations,
  kSetUserRevokedBefore,
  kLoadUserRevocations,
  kAddEvent,
  kLatestEvent,
  kEventsSince,
  kPruneEvents,
  kDeleteUser,
  kListUsers,
  kImportUser,
  kImportRevocation,
  kPruneUserRevocations,
  kIsRevoked,
  kAddSigningKey,
  kLoadSigningKeys,
  kRemoveSigningKey,
  kCreateSession,
  kUserSessions,
  kDeleteUserSessions,
  kChangePassword,
  kPruneSessions,
  kSessionsRecordedSince,
  kStatementCount,
};

constexpr const char* kStatementSql[] = {
    "INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
    "SELECT username, password_hash, created_at, password_version FROM users "
    "WHERE username_key = ?",
    "UPDATE users SET password_hash = ? WHERE username_key = ?",
    // A re-add keeps the later expiry, so a row never goes before a token it covers expires.
    "INSERT INTO revocations (id, kind, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
    "SET expires_at = MAX(expires_at, excluded.expires_at)",
    "SELECT id, kind, expires_at FROM revocations WHERE expires_at > ?",
    "DELETE FROM revocations WHERE expires_at <= ?",
    "INSERT INTO user_revocations (username_key, revoked_before) VALUES (?, ?) ON CONFLICT "
    "(username_key) DO UPDATE SET revoked_before = MAX(revoked_before, excluded.revoked_before)",
    "SELECT username_key, revoked_before FROM user_revocations",
    "INSERT INTO revocation_events (subject, kind, value, created_at) "
    "VALUES (?, ?, ?, CAST(strftime('%s', 'now') AS INTEGER))",
    "SELECT COALESCE(MAX(seq), 0) FROM revocation_events",
    "SELECT seq, subject, kind, value FROM revocation_events WHERE seq > ? ORDER BY seq LIMIT ?",
    "DELETE FROM revocation_events WHERE created_at <= ?",
    "DELETE FROM users WHERE username_key = ?",
    "SELECT username, created_at, username_key FROM users WHERE username_key > ? "
    "ORDER BY username_key LIMIT ?",
    "INSERT OR IGNORE INTO users (username, username_key, password_hash, created_at) "
    "VALUES (?, ?, ?, ?)",
    "INSERT OR IGNORE INTO revocations (id, kind, expires_at) VALUES (?, ?, ?)",
    "DELETE FROM user_revocations WHERE revoked_before <= ?",
    // The user's cut covers a sid-less token's own second too (auth/token_service.cpp).
    "SELECT EXISTS (SELECT 1 FROM revocations WHERE id IN (?1, ?2)) OR EXISTS (SELECT 1 FROM "
    "user_revocations WHERE username_key = ?3 AND (revoked_before > ?4 OR "
    "(?2 = '' AND revoked_before = ?4)))",
    "INSERT OR IGNORE INTO signing_keys (kid, algorithm, material, created_at) VALUES (?, ?, ?, ?)",
    "SELECT kid, algorithm, material, created_at FROM signing_keys WHERE algorithm = ? "
    "ORDER BY created_at, kid",
    "DELETE FROM signing_keys WHERE kid = ?",
    "INSERT INTO sessions (sid, username_key, created_at, expires_at) SELECT ?, username_key, "
    "?, ? FROM users WHERE username_key = ? AND password_version = ?",
    "SELECT sid, expires_at FROM sessions WHERE username_key = ?",
    "DELETE FROM sessions WHERE username_key = ?",
    "UPDATE users SET password_hash = ?, password_version = password_version + 1 "
    "WHERE username_key = ? RETURNING password_version",
    "DELETE FROM sessions WHERE expires_at <= ?",
    "SELECT value FROM store_facts WHERE name = 'sessions_recorded_since'",
};
static_assert(std::size(kStatementSql) == kStatementCount, "one SQL text per StatementId");

using StatementPtr = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

Error Failure(std::string detail) { return Error{ErrorCode::kStorageFailure, std::move(detail)}; }

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

// SQLite's messages name tables and columns, never bound values, so no secret leaks here.
Error SqliteFailure(sqlite3* db, std::string_view what) {
  std::string detail = "database: " + std::string(what) + ": " + sqlite3_errmsg(db);
  if (!StorageIsFailing(sqlite3_extended_errcode(db))) return Failure(std::move(detail));
  // Logged at most every few seconds: under load every write fails the same way.
  static std::atomic<int64_t> last_logged{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_logged.load(std::memory_order_relaxed);
  if (now - last >= 5 && last_logged.compare_exchange_strong(last, now)) {
    obs::Error("storage unavailable: writing the database fails", {{"error", detail}});
  }
  return Error{ErrorCode::kStorageUnavailable, std::move(detail)};
}

int BindOne(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A null data pointer would bind SQL NULL instead of the empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

int BindOne(sqlite3_stmt* stmt, int index, int64_t number) {
  return sqlite3_bind_int64(stmt, index, number);
}

// One use of a cached statement. Resetting on every exit path keeps a half-read SELECT from
// holding its read transaction open and keeps stale bindings out of the next use.
class BoundStatement {
 public:
  template <typename... Args>
  explicit BoundStatement(sqlite3_stmt* stmt, const Args&... args) : stmt_(stmt) {
    int index = 0;
    ((rc_ = rc_ == SQLITE_OK ? BindOne(stmt_, ++index, args) : rc_), ...);
  }
  ~BoundStatement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  BoundStatement(const BoundStatement&) = delete;
  BoundStatement& operator=(const BoundStatement&) = delete;

  // SQLITE_ROW, SQLITE_DONE, or the (extended) code of a binding or step failure.
  int Step() { return rc_ != SQLITE_OK ? rc_ : sqlite3_step(stmt_); }

  std::string Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return text != nullptr ? std::string(text, static_cast<std::size_t>(size)) : std::string();
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return Ok{};
  std::string detail =
      std::string(what) + ": " + (message != nullptr ? message : sqlite3_errmsg(db));
  sqlite3_free(message);
  return Failure(std::move(detail));
}

// Prepares a one-off query into `stmt` and steps to its first row; answers SQLite's code
// (SQLITE_ROW when there is one).
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

// Prepares a one-off query and steps to its first row.
Result<StatementPtr> FirstRow(sqlite3* db, const char* sql) {
  StatementPtr stmt(nullptr, &sqlite3_finalize);
  const int rc = StepToFirstRow(db, sql, stmt);
  if (rc == SQLITE_ROW) return stmt;
  return FirstRowFailure(db, sql, rc);
}

// Checked up front because SQLite only says "unable to open database file".
Status CheckParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Ok{};
  std::error_code error;
  if (std::filesystem::is_directory(parent, error)) return Ok{};
  return Failure("directory '" + parent.string() + "' does not exist (create it first)");
}

// SQLite would create the file world-readable and it holds password hashes. SQLite gives
// the -wal and -shm files the mode of the database file, so they stay private too.
// Answers whether it created the file.
Result<bool> CreatePrivateFileIfMissing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  if (errno == EEXIST) return false;
  return Failure("create file: " + std::generic_category().message(errno));
}

// Switching a new file to WAL reads it under a shared lock, then needs an exclusive one. When
// several connections do that at once, SQLite answers SQLITE_BUSY to all but one without
// calling the busy handler (waiting there could deadlock), so the switch is retried here, with
// the statement finalized in between to drop its shared lock, for as long as the busy timeout.
// Answers the journal mode in force afterwards.
Result<std::string> SwitchToWal(sqlite3* db) {
  constexpr const char* kSql = "PRAGMA journal_mode = WAL";
  using std::chrono::steady_clock;
  const steady_clock::time_point give_up =
      steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    StatementPtr stmt(nullptr, &sqlite3_finalize);
    const int rc = StepToFirstRow(db, kSql, stmt);
    if (rc == SQLITE_ROW) {
      const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
      return std::string(mode != nullptr ? mode : "");
    }
    const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
    if (!busy || steady_clock::now() >= give_up) return FirstRowFailure(db, kSql, rc);
    stmt.reset();  // drops the shared lock before the next try
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status Configure(sqlite3* db) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // The pragma answers with the mode in force: where WAL is impossible (no shared memory)
  // SQLite silently keeps the old mode, and the guarantees above would not hold.
  Result<std::string> mode = SwitchToWal(db);
  if (!mode) return mode.error();
  if (*mode != "wal") return Failure("cannot use WAL journal mode (got '" + *mode + "')");
  // FULL fsyncs the WAL at every commit: a revocation survives power loss once it returns.
  return Exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "configure");
}

Status ApplyPendingMigrations(sqlite3* db) {
  if (Status created = Exec(db, kCreateVersionTable, "create schema_version"); !created) {
    return created;
  }
  Result<StatementPtr> row = FirstRow(db, kSelectVersion);
  if (!row) return row.error();
  const int64_t version = sqlite3_column_int64(row->get(), 0);
  row->reset();  // an open statement would lock the tables that a step drops ("table is locked")
  const int64_t latest = SqliteStore::LatestSchemaVersion();
  if (version > latest) {
    return Failure("schema version " + std::to_string(version) +
                   " is newer than this build supports (" + std::to_string(latest) + ")");
  }
  if (version == latest) return Ok{};
  for (int64_t step = version; step < latest; ++step) {
    const std::string what = "migration " + std::to_string(step + 1);
    if (Status applied = Exec(db, kMigrations[step], what); !applied) return applied;
  }
  const std::string record =
      "DELETE FROM schema_version; INSERT INTO schema_version (version) "
      "VALUES (" +
      std::to_string(latest) + ")";
  return Exec(db, record.c_str(), "record schema version");
}

Status Migrate(sqlite3* db) {
  // IMMEDIATE takes the write lock before the version is read, so two processes opening a
  // new file at once cannot both apply the same step.
  if (Status begun = Exec(db, "BEGIN IMMEDIATE", "begin migration"); !begun) return begun;
  Status result = ApplyPendingMigrations(db);
  if (result) result = Exec(db, "COMMIT", "commit migration");
  if (!result) (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return result;
}

std::optional<RevocationKind> ToRevocationKind(int64_t value) {
  switch (value) {
    case static_cast<int64_t>(RevocationKind::kToken):
      return RevocationKind::kToken;
    case static_cast<int64_t>(RevocationKind::kSession):
      return RevocationKind::kSession;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<std::unique_ptr<Store>> SqliteStore::Open(
    const std::string& path, const std::function<void(const std::string&)>& on_new_database) {
  const auto with_path = [&path](const Error& error) {
    return Failure("database '" + path + "': " + error.detail);
  };
  if (Status checked = CheckParentDirectory(path); !checked) return with_path(checked.error());
  Result<bool> created = CreatePrivateFileIfMissing(path);
  if (!created) return with_path(created.error());
  // A missing file may be a first start, or a data_dir that went away or a wrong path: say so.
  if (*created && on_new_database) on_new_database(path);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, kOpenFlags, nullptr);
  // The store owns the handle from here on, even when the open failed: it must be closed.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  if (rc != SQLITE_OK) return with_path(Failure(std::string("open: ") + sqlite3_errmsg(db)));
  if (Status configured = Configure(db); !configured) return with_path(configured.error());
  if (Status migrated = Migrate(db); !migrated) return with_path(migrated.error());
  if (Status prepared = store->PrepareStatements(); !prepared) {
    return with_path(prepared.error());
  }
  Result<FileIdentity> identity = FileIdentity::Of(path);
  if (!identity) return identity.error();
  store->file_ = std::move(*identity);
  return std::unique_ptr<Store>(std::move(store));
}

int64_t SqliteStore::LatestSchemaVersion() { return static_cast<int64_t>(std::size(kMigrations)); }

Result<int64_t> SqliteStore::ReadSchemaVersion(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return Failure("database '" + path + "': open: " + sqlite3_errmsg(raw));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  Result<StatementPtr> exists = FirstRow(
      raw, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return Failure("database '" + path + "': " + exists.error().detail);
  if (sqlite3_column_int64(exists->get(), 0) == 0) return int64_t{0};
  Result<StatementPtr> row = FirstRow(raw, kSelectVersion);
  if (!row) return Failure("database '" + path + "': " + row.error().detail);
  return static_cast<int64_t>(sqlite3_column_int64(row->get(), 0));
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteStore::PrepareStatements() {
  statements_.reserve(kStatementCount);
  for (const char* sql : kStatementSql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Failure(std::string("prepare: ") + sqlite3_errmsg(db_));
    statements_.push_back(stmt);
  }
  return Ok{};
}

Status SqliteStore::CreateUser(const UserRecord& user) {
  const std::string key = UsernameKey(user.username);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement insert(statements_[kInsertUser], user.username, key, user.password_hash,
                        user.created_at);
  const int rc = insert.Step();
  if (rc == SQLITE_DONE) return file_.Check();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Error{ErrorCode::kConflict, "database: create user: username is taken"};
  }
  return SqliteFailure(db_, "create user");
}

Result<std::optional<UserRecord>> SqliteStore::FindUser(std::string_view username) {
  const std::string key = UsernameKey(username);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kFindUser], key);
  const int rc = select.Step();
  if (rc == SQLITE_DONE) return std::optional<UserRecord>();
  if (rc != SQLITE_ROW) return SqliteFailure(db_, "find user");
  return std::optional<UserRecord>(
      UserRecord{select.Text(0), select.Text(1), select.Int(2), select.Int(3)});
}

Status SqliteStore::UpdatePasswordHash(std::string_view username, std::string_view hash) {
  const std::string key = UsernameKey(username);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement update(statements_[kUpdatePasswordHash], hash, key);
  if (update.Step() != SQLITE_DONE) return SqliteFailure(db_, "update password hash");
  if (sqlite3_changes64(db_) == 0) {
    return Error{ErrorCode::kNotFound, "database: update password hash: no such user"};
  }
  return file_.Check();
}

template <typename Body>
Status SqliteStore::InTransaction(std::string_view what, Body body) {
  if (Status begun = Exec(db_, "BEGIN IMMEDIATE", what); !begun) return begun;
  Status result = body();
  if (result) result = Exec(db_, "COMMIT", what);
  if (!result) (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  // Committed into a file that is no longer at the path is lost: never acknowledged.
  if (result) result = file_.Check();
  return result;
}

Status SqliteStore::AppendEvent(RevocationEvent::Kind kind, std::string_view subject,
                                int64_t value) {
  BoundStatement insert(statements_[kAddEvent], subject, static_cast<int64_t>(kind), value);
  if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "append revocation event");
  return Ok{};
}

Status SqliteStore::AddRevocation(const Revocation& revocation) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  return InTransaction("add revocation", [&]() -> Status {
    BoundStatement insert(statements_[kAddRevocation], revocation.id,
                          static_cast<int64_t>(revocation.kind), revocation.expires_at);
    if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "add revocation");
    return AppendEvent(static_cast<RevocationEvent::Kind>(revocation.kind), revocation.id,
                       revocation.expires_at);
  });
}

Result<int64_t> SqliteStore::ImportUsers(const std::vector<UserRecord>& users) {
  int64_t inserted = 0;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  Status done = InTransaction("import users", [&]() -> Status {
    for (const UserRecord& user : users) {
      BoundStatement insert(statements_[kImportUser], user.username, UsernameKey(user.username),
                            user.password_hash, user.created_at);
      if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "import user");
      inserted += sqlite3_changes64(db_);
    }
    return Ok{};
  });
  if (!done) return done.error();
  return inserted;
}

Result<int64_t> SqliteStore::ImportRevocations(const std::vector<Revocation>& revocations) {
  int64_t inserted = 0;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  Status done = InTransaction("import revocations", [&]() -> Status {
    for (const Revocation& revocation : revocations) {
      BoundStatement insert(statements_[kImportRevocation], revocation.id,
                            static_cast<int64_t>(revocation.kind), revocation.expires_at);
      if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "import revocation");
      inserted += sqlite3_changes64(db_);
    }
    return Ok{};
  });
  if (!done) return done.error();
  return inserted;
}

Result<UserTokensRevoked> SqliteStore::RemoveUser(std::string_view username,
                                                  int64_t revoked_before) {
  const std::string key = UsernameKey(username);
  UserTokensRevoked revoked;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  Status done = InTransaction("remove user", [&]() -> Status {
    BoundStatement remove(statements_[kDeleteUser], key);
    if (remove.Step() != SQLITE_DONE) return SqliteFailure(db_, "remove user");
    if (sqlite3_changes64(db_) == 0) {
      return Error{ErrorCode::kNotFound, "database: remove user: no such user"};
    }
    return RevokeUserTokensLocked(key, revoked_before, revoked);
  });
  if (!done) return done.error();
  return revoked;
}

Status SqliteStore::CreateSession(const SessionRecord& session, int64_t password_version) {
  const std::string key = UsernameKey(session.username);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement insert(statements_[kCreateSession], session.sid, session.created_at,
                        session.expires_at, key, password_version);
  if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "create session");
  if (sqlite3_changes64(db_) == 0) {
    return Error{ErrorCode::kConflict, "database: create session: the password changed"};
  }
  return file_.Check();
}

Status SqliteStore::RevokeUserTokensLocked(const std::string& key, int64_t revoked_before,
                                           UserTokensRevoked& out) {
  out.user = UserRevocation{key, revoked_before};
  BoundStatement upsert(statements_[kSetUserRevokedBefore], key, revoked_before);
  if (upsert.Step() != SQLITE_DONE) return SqliteFailure(db_, "set user revoked-before");
  if (Status appended = AppendEvent(RevocationEvent::Kind::kUser, key, revoked_before); !appended) {
    return appended;
  }
  {
    BoundStatement select(statements_[kUserSessions], key);
    int rc = SQLITE_OK;
    while ((rc = select.Step()) == SQLITE_ROW) {
      out.sessions.push_back(Revocation{select.Text(0), RevocationKind::kSession, select.Int(1)});
    }
    if (rc != SQLITE_DONE) return SqliteFailure(db_, "list user sessions");
  }
  for (const Revocation& session : out.sessions) {
    BoundStatement insert(statements_[kAddRevocation], session.id,
                          static_cast<int64_t>(session.kind), session.expires_at);
    if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "revoke session");
    if (Status appended =
            AppendEvent(RevocationEvent::Kind::kSession, session.id, session.expires_at);
        !appended) {
      return appended;
    }
  }
  BoundStatement forget(statements_[kDeleteUserSessions], key);
  if (forget.Step() != SQLITE_DONE) return SqliteFailure(db_, "delete user sessions");
  return Ok{};
}

Result<UserTokensRevoked> SqliteStore::RevokeUserTokens(std::string_view username,
                                                        int64_t revoked_before) {
  const std::string key = UsernameKey(username);
  UserTokensRevoked revoked;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  Status done = InTransaction("revoke user tokens", [&]() -> Status {
    return RevokeUserTokensLocked(key, revoked_before, revoked);
  });
  if (!done) return done.error();
  return revoked;
}

Result<UserTokensRevoked> SqliteStore::ChangePassword(std::string_view username,
                                                      std::string_view hash,
                                                      int64_t revoked_before) {
  const std::string key = UsernameKey(username);
  UserTokensRevoked revoked;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  Status done = InTransaction("change password", [&]() -> Status {
    {
      BoundStatement update(statements_[kChangePassword], hash, key);
      const int rc = update.Step();
      if (rc == SQLITE_DONE) {
        return Error{ErrorCode::kNotFound, "database: change password: no such user"};
      }
      if (rc != SQLITE_ROW) return SqliteFailure(db_, "change password");
      revoked.password_version = update.Int(0);
    }
    return RevokeUserTokensLocked(key, revoked_before, revoked);
  });
  if (!done) return done.error();
  return revoked;
}

Result<int64_t> SqliteStore::PruneSessions(int64_t now) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement prune(statements_[kPruneSessions], now);
  if (prune.Step() != SQLITE_DONE) return SqliteFailure(db_, "prune sessions");
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Result<std::vector<UserRecord>> SqliteStore::ListUsers(std::string_view after_key, int limit) {
  std::vector<UserRecord> users;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kListUsers], after_key, static_cast<int64_t>(limit));
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    users.push_back(UserRecord{select.Text(0), {}, select.Int(1)});
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db_, "list users");
  return users;
}

Status SqliteStore::Ping() {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  return Exec(db_, "SELECT 1", "ping");
}

Result<std::vector<Revocation>> SqliteStore::LoadRevocations(int64_t now) {
  std::vector<Revocation> revocations;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kLoadRevocations], now);
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    const std::optional<RevocationKind> kind = ToRevocationKind(select.Int(1));
    if (!kind) {
      return Failure("database: load revocations: unknown kind " + std::to_string(select.Int(1)));
    }
    revocations.push_back(Revocation{select.Text(0), *kind, select.Int(2)});
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db_, "load revocations");
  return revocations;
}

Result<int64_t> SqliteStore::PruneRevocations(int64_t now) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement prune(statements_[kPruneRevocations], now);
  if (prune.Step() != SQLITE_DONE) return SqliteFailure(db_, "prune revocations");
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Status SqliteStore::SetUserRevokedBefore(const UserRevocation& revocation) {
  // Normalised again so a caller passing the username as typed still hits the same row.
  const std::string key = UsernameKey(revocation.username_key);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  return InTransaction("set user revoked-before", [&]() -> Status {
    BoundStatement upsert(statements_[kSetUserRevokedBefore], key, revocation.revoked_before);
    if (upsert.Step() != SQLITE_DONE) return SqliteFailure(db_, "set user revoked-before");
    return AppendEvent(RevocationEvent::Kind::kUser, key, revocation.revoked_before);
  });
}

Result<std::vector<UserRevocation>> SqliteStore::LoadUserRevocations() {
  std::vector<UserRevocation> revocations;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kLoadUserRevocations]);
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    revocations.push_back(UserRevocation{select.Text(0), select.Int(1)});
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db_, "load user revocations");
  return revocations;
}

Result<int64_t> SqliteStore::LatestRevocationEvent() {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kLatestEvent]);
  if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "latest revocation event");
  return select.Int(0);
}

Result<std::vector<RevocationEvent>> SqliteStore::RevocationsSince(int64_t seq, int limit) {
  std::vector<RevocationEvent> events;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kEventsSince], seq, static_cast<int64_t>(limit));
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    const int64_t kind = select.Int(2);
    if (kind < 0 || kind > 2) return Failure("database: revocation event of unknown kind");
    events.push_back(RevocationEvent{select.Int(0), static_cast<RevocationEvent::Kind>(kind),
                                     select.Text(1), select.Int(3)});
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db_, "revocations since");
  return events;
}

Result<int64_t> SqliteStore::PruneRevocationEvents(int64_t before) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement prune(statements_[kPruneEvents], before);
  if (prune.Step() != SQLITE_DONE) return SqliteFailure(db_, "prune revocation events");
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Result<int64_t> SqliteStore::PruneUserRevocations(int64_t before) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement prune(statements_[kPruneUserRevocations], before);
  if (prune.Step() != SQLITE_DONE) return SqliteFailure(db_, "prune user revocations");
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Result<bool> SqliteStore::IsRevoked(std::string_view jti, std::string_view sid,
                                    std::string_view username, int64_t issued_at) {
  const std::string key = UsernameKey(username);
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kIsRevoked], jti, sid, key, issued_at);
  if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "is revoked");
  return select.Int(0) != 0;
}

std::unique_ptr<FeedWatch> SqliteStore::WatchRevocationFeed(std::function<void()>) {
  return nullptr;
}

Result<bool> SqliteStore::AddSigningKey(const StoredKey& key) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement insert(statements_[kAddSigningKey], key.kid, key.algorithm, key.material,
                        key.created_at);
  if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "add signing key");
  const bool added = sqlite3_changes64(db_) != 0;
  if (Status file = file_.Check(); !file) return file.error();
  return added;
}

Result<std::vector<StoredKey>> SqliteStore::LoadSigningKeys(std::string_view algorithm) {
  std::vector<StoredKey> keys;
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kLoadSigningKeys], algorithm);
  int rc = SQLITE_OK;
  while ((rc = select.Step()) == SQLITE_ROW) {
    keys.push_back(StoredKey{select.Text(0), select.Text(1), select.Text(2), select.Int(3)});
  }
  if (rc != SQLITE_DONE) return SqliteFailure(db_, "load signing keys");
  return keys;
}

Status SqliteStore::RemoveSigningKey(std::string_view kid) {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement remove(statements_[kRemoveSigningKey], kid);
  if (remove.Step() != SQLITE_DONE) return SqliteFailure(db_, "remove signing key");
  return Ok{};
}

Result<int64_t> SqliteStore::SessionsRecordedSince() {
  std::lock_guard lock(mutex_);
  if (Status file = file_.Check(); !file) return file.error();
  BoundStatement select(statements_[kSessionsRecordedSince]);
  if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "sessions recorded since");
  return select.Int(0);
}

}  // namespace gatehouse::store
