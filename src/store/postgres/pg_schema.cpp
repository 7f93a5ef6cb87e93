#include "store/postgres/pg_schema.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <iterator>
#include <string>
#include <thread>

namespace gatehouse::store::pg {
namespace {

// Step N (1-based) takes the schema from version N-1 to N. A released step is never edited.
// Sized for 10 million users and 100 thousand revocations a day: every lookup is by primary
// key, start-up and pruning use the time indexes, nothing scans a whole table. Username keys
// sort by byte ("C"), as in SQLite, whatever the database's default collation.
constexpr const char* kMigrations[] = {
    R"sql(
      CREATE TABLE users (
        username_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE revocations (
        id TEXT NOT NULL PRIMARY KEY,
        kind SMALLINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX revocations_by_expiry ON revocations (expires_at);
      CREATE TABLE user_revocations (
        username_key TEXT NOT NULL PRIMARY KEY,
        revoked_before BIGINT NOT NULL
      );
      CREATE INDEX user_revocations_by_time ON user_revocations (revoked_before);
      CREATE TABLE revocation_events (
        seq BIGSERIAL PRIMARY KEY,
        kind SMALLINT NOT NULL,
        subject TEXT NOT NULL,
        value BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX revocation_events_by_time ON revocation_events (created_at);
      CREATE TABLE signing_keys (
        kid TEXT NOT NULL PRIMARY KEY,
        algorithm TEXT NOT NULL,
        material TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
    )sql",
    // 2: sessions as records, so that revoking every token of a user can name each session
    // (its tokens of the current second included), and a password version that a login's new
    // session is checked against (under a share lock of the user's row).
    R"sql(
      ALTER TABLE users ADD COLUMN password_version BIGINT NOT NULL DEFAULT 0;
      CREATE TABLE sessions (
        sid TEXT NOT NULL PRIMARY KEY,
        username_key TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions (username_key);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
      CREATE TABLE store_facts (name TEXT NOT NULL PRIMARY KEY, value BIGINT NOT NULL);
      -- 0 on a new database; else now, with a minute of margin for the clocks of instances
      -- that ran the previous version meanwhile.
      INSERT INTO store_facts (name, value) SELECT 'sessions_recorded_since', CASE WHEN EXISTS
        (SELECT 1 FROM users) THEN CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 60 ELSE 0 END;
    )sql",
    // 3: brute-force counters shared by every instance (store/postgres/pg_rate_limits.hpp). A row
    // is 16 bytes of key and three numbers whatever the client sent; full_at (unix ms) is when
    // the bucket is full again, after which the row is pruned. The digest key is drawn here, in
    // the migration's transaction, so every instance reads the same one; gen_random_uuid() is
    // built in since PostgreSQL 13 and draws from the server's strong random source.
    R"sql(
      CREATE TABLE rate_limits (
        key BYTEA NOT NULL PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated_at BIGINT NOT NULL,
        full_at BIGINT NOT NULL
      );
      CREATE INDEX rate_limits_by_full_at ON rate_limits (full_at);
      CREATE TABLE rate_limit_key (
        id INT NOT NULL PRIMARY KEY,
        key BYTEA NOT NULL
      );
      INSERT INTO rate_limit_key (id, key) VALUES (1, decode(replace(
        gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
    )sql",
    // 4: sessions users can see and end (API.md §10): their latest use, the current refresh
    // token of a rotating session and how many rotations it has seen; the used refresh tokens
    // of the reuse interval with their sealed answers; account events (§12), numbered from a
    // counter row whose lock is held to commit, so ids increase in commit order.
    R"sql(
      ALTER TABLE sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN refresh_jti TEXT NOT NULL DEFAULT '';
      ALTER TABLE sessions ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
      UPDATE sessions SET last_used_at = created_at;
      CREATE INDEX sessions_by_last_use ON sessions (last_used_at);
      CREATE TABLE refresh_uses (
        jti TEXT NOT NULL PRIMARY KEY,
        sid TEXT NOT NULL,
        used_at BIGINT NOT NULL,
        sealed_answer TEXT NOT NULL
      );
      CREATE INDEX refresh_uses_by_time ON refresh_uses (used_at);
      CREATE TABLE events (
        id BIGINT NOT NULL PRIMARY KEY,
        type TEXT NOT NULL,
        at BIGINT NOT NULL,
        username TEXT NOT NULL,
        sid TEXT NOT NULL,
        client_address TEXT NOT NULL,
        user_agent TEXT NOT NULL
      );
      INSERT INTO store_facts (name, value) VALUES ('last_event_id', 0);
    )sql",
    // 5: administration (API.md §12): a disabled flag that refuses new sessions, per-user claims
    // merged into access tokens (compact JSON), and the SHA-256 of the user's one pending
    // password-reset code with its expiry ('' and 0: none).
    R"sql(
      ALTER TABLE users ADD COLUMN disabled SMALLINT NOT NULL DEFAULT 0;
      ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE users ADD COLUMN reset_code_hash TEXT NOT NULL DEFAULT '';
      ALTER TABLE users ADD COLUMN reset_expires_at BIGINT NOT NULL DEFAULT 0;
    )sql",
    // 6: the event log read by filters (GET /admin/events: type, username without regard to
    // ASCII case) and pruned by time (events.retention).
    R"sql(
      ALTER TABLE events ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
      UPDATE events SET username_key = lower(username);
      CREATE INDEX events_by_time ON events (at);
      CREATE INDEX events_by_user ON events (username_key, id);
      CREATE INDEX events_by_type ON events (type, id);
    )sql",
    // webhook delivery (API.md §12): per URL (by digest), the last event delivered and which
    // instance delivers it until when (one at a time: the lease).
    R"sql(
      CREATE TABLE webhook_cursors (
        url_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        delivered BIGINT NOT NULL,
        owner TEXT NOT NULL,
        lease_until BIGINT NOT NULL
      );
    )sql",
};

constexpr const char* kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version (id INT NOT NULL PRIMARY KEY, version BIGINT NOT "
    "NULL)";
constexpr const char* kSeedVersionRow =
    "INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING";
constexpr int kBootstrapAttempts = 5;

Error Failure(std::string detail) {
  return Error{ErrorCode::kStorageFailure, "database: " + std::move(detail)};
}

Status Exec(PGconn* conn, const char* sql, std::string_view what) {
  PGresult* result = PQexec(conn, sql);
  const ExecStatusType status = PQresultStatus(result);
  std::string message;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    message = primary ? primary : PQerrorMessage(conn);
  }
  PQclear(result);
  if (message.empty()) return Ok{};
  const ErrorCode code =
      PQstatus(conn) == CONNECTION_OK ? ErrorCode::kStorageFailure : ErrorCode::kStorageUnavailable;
  return Error{code, "database: " + std::string(what) + ": " + message};
}

// Two instances creating the version table at the same moment can collide inside PostgreSQL's
// catalog (a unique violation on pg_type) even with IF NOT EXISTS; the loser tries again.
Status Bootstrap(PGconn* conn) {
  Status created = Ok{};
  for (int attempt = 0; attempt < kBootstrapAttempts; ++attempt) {
    created = Exec(conn, kCreateVersionTable, "create schema_version");
    if (created) created = Exec(conn, kSeedVersionRow, "seed schema_version");
    if (created || created.error().code == ErrorCode::kStorageUnavailable) return created;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * (attempt + 1)));
  }
  return created;
}

Result<int64_t> LockedVersion(PGconn* conn) {
  PGresult* result = PQexec(conn, "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE");
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
  const int64_t version = ok ? std::stoll(PQgetvalue(result, 0, 0)) : 0;
  PQclear(result);
  if (!ok) return Failure(std::string("read schema version: ") + PQerrorMessage(conn));
  return version;
}

Status ApplyPending(PGconn* conn) {
  auto version = LockedVersion(conn);
  if (!version) return version.error();
  const int64_t latest = LatestSchemaVersion();
  if (*version > latest) {
    return Failure("schema version " + std::to_string(*version) +
                   " is newer than this build supports (" + std::to_string(latest) + ")");
  }
  for (int64_t step = *version; step < latest; ++step) {
    const std::string what = "migration " + std::to_string(step + 1);
    if (Status applied = Exec(conn, kMigrations[step], what); !applied) return applied;
  }
  if (*version == latest) return Ok{};
  const std::string record =
      "UPDATE schema_version SET version = " + std::to_string(latest) + " WHERE id = 1";
  return Exec(conn, record.c_str(), "record schema version");
}

}  // namespace

int64_t LatestSchemaVersion() { return static_cast<int64_t>(std::size(kMigrations)); }

Status Migrate(PGconn* conn) {
  if (Status ready = Bootstrap(conn); !ready) return ready;
  if (Status begun = Exec(conn, "BEGIN", "begin migration"); !begun) return begun;
  Status result = ApplyPending(conn);
  if (result) result = Exec(conn, "COMMIT", "commit migration");
  if (!result) PQclear(PQexec(conn, "ROLLBACK"));
  return result;
}

}  // namespace gatehouse::store::pg
