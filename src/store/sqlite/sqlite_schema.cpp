// Opening the SQLite store: the file, the connection's settings and the schema migrations.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <thread>
#include <utility>

#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gatehouse::store {
namespace {

using sqlite::Exec;
using sqlite::Failure;
using sqlite::FirstRow;
using sqlite::FirstRowFailure;
using sqlite::StatementPtr;
using sqlite::StepToFirstRow;

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
    // 6: sessions users can see and end (API.md §10): their latest use, the current refresh
    // token of a rotating session and how many rotations it has seen; the used refresh tokens
    // of the reuse interval with their sealed answers; account events (§12).
    R"sql(
      ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN refresh_jti TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
      UPDATE sessions SET last_used_at = created_at;
      CREATE INDEX sessions_by_last_use ON sessions (last_used_at);
      CREATE TABLE refresh_uses (
        jti TEXT NOT NULL PRIMARY KEY,
        sid TEXT NOT NULL,
        used_at INTEGER NOT NULL,
        sealed_answer TEXT NOT NULL
      );
      CREATE INDEX refresh_uses_by_time ON refresh_uses (used_at);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        username TEXT NOT NULL,
        sid TEXT NOT NULL,
        client_address TEXT NOT NULL,
        user_agent TEXT NOT NULL
      );
    )sql",
    // 7: administration (API.md §12): a disabled flag that refuses new sessions, per-user claims
    // merged into access tokens (compact JSON), and the SHA-256 of the user's one pending
    // password-reset code with its expiry ('' and 0: none).
    R"sql(
      ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE users ADD COLUMN reset_code_hash TEXT NOT NULL DEFAULT '';
      ALTER TABLE users ADD COLUMN reset_expires_at INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 8: the event log read by filters (GET /admin/events: type, username without regard to
    // ASCII case) and pruned by time (events.retention).
    R"sql(
      ALTER TABLE events ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
      UPDATE events SET username_key = lower(username);
      CREATE INDEX events_by_time ON events (at);
      CREATE INDEX events_by_user ON events (username_key, id);
      CREATE INDEX events_by_type ON events (type, id);
    )sql",
    // webhook delivery (API.md §12): per URL (by digest), the last event delivered and who
    // delivers it until when.
    R"sql(
      CREATE TABLE webhook_cursors (
        url_key TEXT NOT NULL PRIMARY KEY,
        delivered INTEGER NOT NULL,
        owner TEXT NOT NULL,
        lease_until INTEGER NOT NULL
      );
    )sql",
    // 10: an event row costs one B-tree, not four. GET /admin/events walks the rowid from its
    // cursor and tests type and user on each row (SQLite never used the by-type and by-user
    // indexes for its "empty matches any" filters), and retention prunes from the oldest id
    // (kPruneAccountEvents), so these indexes were only written. Measured on /logout/access:
    // the event row's insert was a sixth of the writer thread's time.
    R"sql(
      DROP INDEX IF EXISTS events_by_time;
      DROP INDEX IF EXISTS events_by_user;
      DROP INDEX IF EXISTS events_by_type;
    )sql",
};

constexpr const char* kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
constexpr const char* kSelectVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

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

// Each write of a batch runs inside its own savepoint (sqlite_batch.cpp), so that a failed one
// fails alone. SQLite keeps the original of every page a savepoint changes in a statement
// journal, which it moves to a temporary file past 64 KiB: a revocation with its feed and event
// rows changes about 16 pages, so its journal went to that file page by page (measured on
// /logout/access: 2.7 times the bytes written, 36 KB a logout instead of 14 KB). 4 MiB keeps the
// journal of any ordinary write in memory; a larger one (removing a user with thousands of
// sessions) still spills, so memory stays bounded. The setting is process-wide and only takes
// before SQLite initializes, which the first open does: this runs before each open, once.
void KeepStatementJournalsInMemory() {
  static const int configured = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
  (void)configured;  // SQLITE_MISUSE if SQLite was already initialized: only slower writes
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
  //
  // A checkpoint copies the WAL's pages into the database file, on the writer's thread, at the
  // commit that takes the WAL past wal_autocheckpoint pages. At SQLite's default (1,000 pages,
  // 4 MiB) it wrote the same hot pages (the last leaves of the feed and the events, the upper
  // levels of each index) into the file every 4 MiB of writes. At 10,000 pages it does so a
  // tenth as often: measured on /logout/access (SQLite, 64 connections), 10,000 to 11,500 a
  // second became 14,700 to 15,300; 20,000 and 40,000 pages did no better. Never checkpointing
  // was slower than the default: a growing WAL allocates new blocks, a reset one reuses its own.
  // journal_size_limit cuts the file back to that size after a larger transaction.
  return Exec(db,
              "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
              "PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 41943040",
              "configure");
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
  return sqlite::InImmediateTransaction(db, "migration",
                                        [db]() { return ApplyPendingMigrations(db); });
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
  KeepStatementJournalsInMemory();
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, kOpenFlags, nullptr);
  // The store owns the handle from here on, even when the open failed: it must be closed.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  if (rc != SQLITE_OK) return with_path(Failure(std::string("open: ") + sqlite3_errmsg(db)));
  if (Status configured = Configure(db); !configured) return with_path(configured.error());
  if (Status migrated = Migrate(db); !migrated) return with_path(migrated.error());
  Result<FileIdentity> identity = FileIdentity::Of(path);
  if (!identity) return identity.error();
  store->file_ = std::move(*identity);
  store->group_ =
      std::make_unique<GroupCommit>(static_cast<BatchTransaction&>(*store), "gh-sqlite-write");
  return std::unique_ptr<Store>(std::move(store));
}

int64_t SqliteStore::LatestSchemaVersion() { return static_cast<int64_t>(std::size(kMigrations)); }

Result<int64_t> SqliteStore::ReadSchemaVersion(const std::string& path) {
  KeepStatementJournalsInMemory();
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

SqliteStore::SqliteStore(sqlite3* db) : Store(/*shared=*/false), db_(db) {}

SqliteStore::~SqliteStore() {
  group_.reset();  // commits what is queued while the connection is still open
  for (const auto& [text, stmt] : prepared_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

sqlite3_stmt* SqliteStore::Prepared(const StatementText& statement, int& rc) {
  if (auto found = prepared_.find(&statement); found != prepared_.end()) return found->second;
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v3(db_, statement.sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return nullptr;  // tried again at the next use
  prepared_.emplace(&statement, stmt);
  return stmt;
}

}  // namespace gatehouse::store
