#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <iterator>

#include "store/postgres/pg_rate_limits.hpp"
#include "store/postgres/pg_schema.hpp"

namespace gatehouse::store {
namespace {

enum StatementId : std::size_t {
  kInsertUser,
  kFindUser,
  kUpdatePasswordHash,
  kRemoveUser,
  kListUsers,
  kPing,
  kAddRevocation,
  kImportUser,
  kImportRevocation,
  kLoadRevocations,
  kPruneRevocations,
  kSetUserRevokedBefore,
  kLoadUserRevocations,
  kLatestEvent,
  kEventsSince,
  kPruneEvents,
  kPruneUserRevocations,
  kIsRevoked,
  kAddSigningKey,
  kLoadSigningKeys,
  kRemoveSigningKey,
  kCreateSession,
  kRevokeUserTokens,
  kChangePassword,
  kPruneSessions,
  kSessionsRecordedSince,
  kTakeAttempt,
  kPruneAttempts,
  kStatementCount,
};

// The feed's time column is written by the database's clock, like SQLite's.
#define GH_NOW "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
// Kind 2 is RevocationEvent::Kind::kUser.
#define GH_USER_EVENT                                                               \
  "INSERT INTO revocation_events (kind, subject, value, created_at) SELECT 2, $1, " \
  "$2::bigint, " GH_NOW " FROM upsert"

// A write and its feed entry are one statement (a data-modifying CTE), so they commit
// together without a client-side transaction. The second field says whether a statement may be
// sent again after its connection died mid-call: reads and idempotent upserts may.
const pg::StatementSpec kStatements[] = {
    {"INSERT INTO users (username_key, username, password_hash, created_at) "
     "VALUES ($1, $2, $3, $4::bigint)",
     false},
    {"SELECT username, password_hash, created_at, password_version FROM users "
     "WHERE username_key = $1",
     true},
    {"UPDATE users SET password_hash = $2 WHERE username_key = $1", true},
    // The user's row stays locked until the transaction's revocation (LockUserThenRevoke).
    {"DELETE FROM users WHERE username_key = $1 RETURNING 0::bigint", false},
    {"SELECT username, created_at, username_key FROM users WHERE username_key > $1 "
     "ORDER BY username_key LIMIT $2::bigint",
     true},
    {"SELECT 1", true},
    // A re-add keeps the later expiry, so a row never goes before a token it covers expires.
    {"WITH upsert AS (INSERT INTO revocations (id, kind, expires_at) "
     "VALUES ($1, $2::smallint, $3::bigint) ON CONFLICT (id) DO UPDATE SET "
     "expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at) RETURNING 1) "
     "INSERT INTO revocation_events (kind, subject, value, created_at) "
     "SELECT $2::smallint, $1, $3::bigint, " GH_NOW " FROM upsert",
     true},
    {"INSERT INTO users (username_key, username, password_hash, created_at) "
     "VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (username_key) DO NOTHING",
     false},
    {"INSERT INTO revocations (id, kind, expires_at) VALUES ($1, $2::smallint, $3::bigint) "
     "ON CONFLICT (id) DO NOTHING",
     false},
    {"SELECT id, kind, expires_at FROM revocations WHERE expires_at > $1::bigint", true},
    {"DELETE FROM revocations WHERE expires_at <= $1::bigint", true},
    {"WITH upsert AS (INSERT INTO user_revocations (username_key, revoked_before) "
     "VALUES ($1, $2::bigint) ON CONFLICT (username_key) DO UPDATE SET "
     "revoked_before = GREATEST(user_revocations.revoked_before, EXCLUDED.revoked_before) "
     "RETURNING 1) " GH_USER_EVENT,
     true},
    {"SELECT username_key, revoked_before FROM user_revocations", true},
    {"SELECT COALESCE(MAX(seq), 0) FROM revocation_events", true},
    {"SELECT seq, subject, kind, value FROM revocation_events WHERE seq > $1::bigint "
     "ORDER BY seq LIMIT $2::bigint",
     true},
    {"DELETE FROM revocation_events WHERE created_at <= $1::bigint", true},
    {"DELETE FROM user_revocations WHERE revoked_before <= $1::bigint", true},
    // The user's cut covers a sid-less token's own second too (auth/token_service.cpp).
    {"SELECT EXISTS (SELECT 1 FROM revocations WHERE id IN ($1, $2)) OR EXISTS (SELECT 1 FROM "
     "user_revocations WHERE username_key = $3 AND (revoked_before > $4::bigint OR "
     "($2 = '' AND revoked_before = $4::bigint)))",
     true},
    {"INSERT INTO signing_keys (kid, algorithm, material, created_at) "
     "VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (kid) DO NOTHING",
     false},
    {"SELECT kid, algorithm, material, created_at FROM signing_keys WHERE algorithm = $1 "
     "ORDER BY created_at, kid",
     true},
    {"DELETE FROM signing_keys WHERE kid = $1", true},
    // FOR SHARE: a password change or removal holding the row waits for this insert to commit
    // (and then ends the session), or this waits for it and then finds another version.
    {"WITH owner AS (SELECT username_key FROM users WHERE username_key = $4 AND "
     "password_version = $5::bigint FOR SHARE) INSERT INTO sessions (sid, username_key, "
     "created_at, expires_at) SELECT $1, username_key, $2::bigint, $3::bigint FROM owner",
     false},
    // Every part runs once, whatever the final SELECT reads (data-modifying CTEs).
    {"WITH upsert AS (INSERT INTO user_revocations (username_key, revoked_before) "
     "VALUES ($1, $2::bigint) ON CONFLICT (username_key) DO UPDATE SET "
     "revoked_before = GREATEST(user_revocations.revoked_before, EXCLUDED.revoked_before) "
     "RETURNING 1), "
     "user_event AS (" GH_USER_EVENT " RETURNING 1), "
     "ended AS (DELETE FROM sessions WHERE username_key = $1 RETURNING sid, expires_at), "
     "revoked AS (INSERT INTO revocations (id, kind, expires_at) SELECT sid, 1, expires_at "
     "FROM ended ON CONFLICT (id) DO UPDATE SET "
     "expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at) RETURNING 1), "
     "session_events AS (INSERT INTO revocation_events (kind, subject, value, created_at) "
     "SELECT 1, sid, expires_at, " GH_NOW " FROM ended RETURNING 1) "
     "SELECT sid, expires_at FROM ended",
     false},
    {"UPDATE users SET password_hash = $2, password_version = password_version + 1 "
     "WHERE username_key = $1 RETURNING password_version",
     false},
    {"DELETE FROM sessions WHERE expires_at <= $1::bigint", true},
    {"SELECT value FROM store_facts WHERE name = 'sessions_recorded_since'", true},
    // Sent again after a lost connection, an attempt may count twice: the safe side.
    {pg::kTakeAttemptSql, true},
    {pg::kPruneAttemptsSql, true},
};
static_assert(std::size(kStatements) == kStatementCount, "one statement per StatementId");

#undef GH_USER_EVENT
#undef GH_NOW

std::string Str(int64_t number) { return std::to_string(number); }

Error NotFound(std::string_view what) {
  return Error{ErrorCode::kNotFound, "database: " + std::string(what) + ": no such user"};
}

// Whether the engine has LISTEN/NOTIFY (CockroachDB answers "unimplemented").
bool SupportsNotify(PGconn* conn) {
  const std::string sql = std::string("LISTEN ") + pg::kFeedChannel + "; UNLISTEN *";
  PGresult* result = PQexec(conn, sql.c_str());
  const bool supported = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  return supported;
}

StartupError BadUrl(std::string what) {
  return StartupError{StartupErrorCode::kBadSetting, std::move(what)};
}

}  // namespace

StartupStatus CheckPostgresUrl(const std::string& url) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  // libpq's message quotes the whole URI, password included: it is not passed on.
  if (message != nullptr) PQfreemem(message);
  if (options == nullptr) return BadUrl("not a valid postgresql:// URI");
  StartupStatus checked = Ok{};
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string_view keyword = option->keyword;
    const std::string_view value = option->val;
    if (keyword == "port" && (value.empty() || value.size() > 5 ||
                              value.find_first_not_of("0123456789") != std::string_view::npos ||
                              std::stoi(std::string(value)) > 65535)) {
      checked = BadUrl("the port must be a number from 1 to 65535");
    } else if (keyword == "sslmode" && value != "disable" && value != "allow" &&
               value != "prefer" && value != "require" && value != "verify-ca" &&
               value != "verify-full") {
      checked = BadUrl("sslmode must be disable, allow, prefer, require, verify-ca or verify-full");
    }
  }
  PQconninfoFree(options);
  return checked;
}

Result<std::unique_ptr<Store>> PostgresStore::Open(const std::string& url, int pool_size) {
  auto conn = pg::Pool::Connect(url);
  if (!conn) return conn.error();
  Status migrated = pg::Migrate(*conn);
  const bool notify = migrated && SupportsNotify(*conn);
  Result<pg::AttemptDigestKey> digest_key =
      migrated ? pg::LoadAttemptDigestKey(*conn) : Result<pg::AttemptDigestKey>(migrated.error());
  PQfinish(*conn);
  if (!migrated) return migrated.error();
  if (!digest_key) return digest_key.error();
  std::unique_ptr<PostgresStore> store(new PostgresStore(url, pool_size, notify, *digest_key));
  // One connection now, so that a statement this engine cannot prepare fails the start.
  if (auto lease = store->pool_.Acquire(); !lease) return lease.error();
  return std::unique_ptr<Store>(std::move(store));
}

PostgresStore::PostgresStore(std::string url, int pool_size, bool notify,
                             const pg::AttemptDigestKey& digest_key)
    : url_(std::move(url)),
      notify_(notify),
      attempt_digest_key_(digest_key),
      pool_(url_, pool_size, {std::begin(kStatements), std::end(kStatements)}) {}

PostgresStore::~PostgresStore() = default;

void PostgresStore::Notify() {
  if (!notify_) return;
  auto lease = pool_.Acquire();
  if (!lease) return;
  const std::string sql = std::string("NOTIFY ") + pg::kFeedChannel;
  (void)(*lease)->Exec(sql.c_str());
}

Status PostgresStore::CreateUser(const UserRecord& user) {
  auto done = pool_.Run(kInsertUser, {UsernameKey(user.username), user.username, user.password_hash,
                                      Str(user.created_at)});
  if (!done && done.error().code == ErrorCode::kConflict) {
    return Error{ErrorCode::kConflict, "database: create user: username is taken"};
  }
  if (!done) return done.error();
  return Ok{};
}

Result<std::optional<UserRecord>> PostgresStore::FindUser(std::string_view username) {
  auto rows = pool_.Run(kFindUser, {UsernameKey(username)});
  if (!rows) return rows.error();
  if (rows->Count() == 0) return std::optional<UserRecord>();
  return std::optional<UserRecord>(
      UserRecord{rows->Text(0, 0), rows->Text(0, 1), rows->Int(0, 2), rows->Int(0, 3)});
}

Status PostgresStore::UpdatePasswordHash(std::string_view username, std::string_view hash) {
  auto rows = pool_.Run(kUpdatePasswordHash, {UsernameKey(username), std::string(hash)});
  if (!rows) return rows.error();
  if (rows->Affected() == 0) return NotFound("update password hash");
  return Ok{};
}

Result<UserTokensRevoked> PostgresStore::RemoveUser(std::string_view username,
                                                    int64_t revoked_before) {
  return LockUserThenRevoke(kRemoveUser, {UsernameKey(username)}, revoked_before, "remove user");
}

Status PostgresStore::CreateSession(const SessionRecord& session, int64_t password_version) {
  auto rows =
      pool_.Run(kCreateSession, {session.sid, Str(session.created_at), Str(session.expires_at),
                                 UsernameKey(session.username), Str(password_version)});
  if (!rows) return rows.error();
  if (rows->Affected() == 0) {
    return Error{ErrorCode::kConflict, "database: create session: the password changed"};
  }
  return Ok{};
}

namespace {

UserTokensRevoked ReadRevokedSessions(const pg::Rows& rows, std::string key,
                                      int64_t revoked_before) {
  UserTokensRevoked revoked{UserRevocation{std::move(key), revoked_before}, {}, 0};
  for (int i = 0; i < rows.Count(); ++i) {
    revoked.sessions.push_back(
        Revocation{rows.Text(i, 0), RevocationKind::kSession, rows.Int(i, 1)});
  }
  return revoked;
}

}  // namespace

Result<UserTokensRevoked> PostgresStore::RevokeUserTokens(std::string_view username,
                                                          int64_t revoked_before) {
  std::string key = UsernameKey(username);
  auto rows = pool_.Run(kRevokeUserTokens, {key, Str(revoked_before)});
  if (!rows) return rows.error();
  Notify();
  return ReadRevokedSessions(*rows, std::move(key), revoked_before);
}

Result<UserTokensRevoked> PostgresStore::ChangePassword(std::string_view username,
                                                        std::string_view hash,
                                                        int64_t revoked_before) {
  return LockUserThenRevoke(kChangePassword, {UsernameKey(username), std::string(hash)},
                            revoked_before, "change password");
}

Result<UserTokensRevoked> PostgresStore::LockUserThenRevoke(std::size_t first,
                                                            const std::vector<std::string>& params,
                                                            int64_t revoked_before,
                                                            std::string_view what) {
  auto lease = pool_.Acquire();
  if (!lease) return lease.error();
  pg::Connection& conn = **lease;
  if (auto begun = conn.Exec("BEGIN"); !begun) return begun.error();
  auto fail = [&conn](Error error) -> Result<UserTokensRevoked> {
    (void)conn.Exec("ROLLBACK");
    return error;
  };
  auto locked = conn.Run(first, params);
  if (!locked) return fail(locked.error());
  if (locked->Count() == 0) return fail(NotFound(what));
  const int64_t password_version = locked->Int(0, 0);
  auto ended = conn.Run(kRevokeUserTokens, {params[0], Str(revoked_before)});
  if (!ended) return fail(ended.error());
  UserTokensRevoked revoked = ReadRevokedSessions(*ended, params[0], revoked_before);
  revoked.password_version = password_version;
  if (auto committed = conn.Exec("COMMIT"); !committed) return committed.error();
  Notify();
  return revoked;
}

Result<int64_t> PostgresStore::PruneSessions(int64_t now) {
  auto rows = pool_.Run(kPruneSessions, {Str(now)});
  if (!rows) return rows.error();
  return rows->Affected();
}

Result<std::vector<UserRecord>> PostgresStore::ListUsers(std::string_view after_key, int limit) {
  auto rows = pool_.Run(kListUsers, {std::string(after_key), Str(limit)});
  if (!rows) return rows.error();
  std::vector<UserRecord> users;
  users.reserve(static_cast<std::size_t>(rows->Count()));
  for (int i = 0; i < rows->Count(); ++i) {
    users.push_back(UserRecord{rows->Text(i, 0), {}, rows->Int(i, 1)});
  }
  return users;
}

Status PostgresStore::Ping() {
  auto rows = pool_.Run(kPing, {});
  if (!rows) return rows.error();
  return Ok{};
}

Status PostgresStore::AddRevocation(const Revocation& revocation) {
  auto rows = pool_.Run(kAddRevocation, {revocation.id, Str(static_cast<int64_t>(revocation.kind)),
                                         Str(revocation.expires_at)});
  if (!rows) return rows.error();
  Notify();
  return Ok{};
}

template <typename Row, typename Params>
Result<int64_t> PostgresStore::ImportRows(const std::vector<Row>& rows, std::size_t index,
                                          Params params) {
  auto lease = pool_.Acquire();
  if (!lease) return lease.error();
  pg::Connection& conn = **lease;
  if (auto begun = conn.Exec("BEGIN"); !begun) return begun.error();
  int64_t inserted = 0;
  for (const Row& row : rows) {
    auto done = conn.Run(index, params(row));
    if (!done) {
      (void)conn.Exec("ROLLBACK");
      return done.error();
    }
    inserted += done->Affected();
  }
  if (auto committed = conn.Exec("COMMIT"); !committed) return committed.error();
  return inserted;
}

Result<int64_t> PostgresStore::ImportUsers(const std::vector<UserRecord>& users) {
  return ImportRows(users, kImportUser, [](const UserRecord& user) {
    return std::vector<std::string>{UsernameKey(user.username), user.username, user.password_hash,
                                    Str(user.created_at)};
  });
}

Result<int64_t> PostgresStore::ImportRevocations(const std::vector<Revocation>& revocations) {
  return ImportRows(revocations, kImportRevocation, [](const Revocation& revocation) {
    return std::vector<std::string>{revocation.id, Str(static_cast<int64_t>(revocation.kind)),
                                    Str(revocation.expires_at)};
  });
}

Result<std::vector<Revocation>> PostgresStore::LoadRevocations(int64_t now) {
  auto rows = pool_.Run(kLoadRevocations, {Str(now)});
  if (!rows) return rows.error();
  std::vector<Revocation> revocations;
  revocations.reserve(static_cast<std::size_t>(rows->Count()));
  for (int i = 0; i < rows->Count(); ++i) {
    const int64_t kind = rows->Int(i, 1);
    if (kind != 0 && kind != 1) {
      return Error{ErrorCode::kStorageFailure, "database: load revocations: unknown kind"};
    }
    revocations.push_back(
        Revocation{rows->Text(i, 0), static_cast<RevocationKind>(kind), rows->Int(i, 2)});
  }
  return revocations;
}

Result<int64_t> PostgresStore::PruneRevocations(int64_t now) {
  auto rows = pool_.Run(kPruneRevocations, {Str(now)});
  if (!rows) return rows.error();
  return rows->Affected();
}

Status PostgresStore::SetUserRevokedBefore(const UserRevocation& revocation) {
  auto rows = pool_.Run(kSetUserRevokedBefore,
                        {UsernameKey(revocation.username_key), Str(revocation.revoked_before)});
  if (!rows) return rows.error();
  Notify();
  return Ok{};
}

Result<std::vector<UserRevocation>> PostgresStore::LoadUserRevocations() {
  auto rows = pool_.Run(kLoadUserRevocations, {});
  if (!rows) return rows.error();
  std::vector<UserRevocation> revocations;
  for (int i = 0; i < rows->Count(); ++i) {
    revocations.push_back(UserRevocation{rows->Text(i, 0), rows->Int(i, 1)});
  }
  return revocations;
}

Result<int64_t> PostgresStore::LatestRevocationEvent() {
  auto rows = pool_.Run(kLatestEvent, {});
  if (!rows) return rows.error();
  return rows->Int(0, 0);
}

Result<std::vector<RevocationEvent>> PostgresStore::RevocationsSince(int64_t seq, int limit) {
  auto rows = pool_.Run(kEventsSince, {Str(seq), Str(limit)});
  if (!rows) return rows.error();
  std::vector<RevocationEvent> events;
  events.reserve(static_cast<std::size_t>(rows->Count()));
  for (int i = 0; i < rows->Count(); ++i) {
    const int64_t kind = rows->Int(i, 2);
    if (kind < 0 || kind > 2) {
      return Error{ErrorCode::kStorageFailure, "database: revocation event of unknown kind"};
    }
    events.push_back(RevocationEvent{rows->Int(i, 0), static_cast<RevocationEvent::Kind>(kind),
                                     rows->Text(i, 1), rows->Int(i, 3)});
  }
  return events;
}

Result<int64_t> PostgresStore::PruneRevocationEvents(int64_t before) {
  auto rows = pool_.Run(kPruneEvents, {Str(before)});
  if (!rows) return rows.error();
  return rows->Affected();
}

Result<int64_t> PostgresStore::PruneUserRevocations(int64_t before) {
  auto rows = pool_.Run(kPruneUserRevocations, {Str(before)});
  if (!rows) return rows.error();
  return rows->Affected();
}

Result<bool> PostgresStore::IsRevoked(std::string_view jti, std::string_view sid,
                                      std::string_view username, int64_t issued_at) {
  auto rows = pool_.Run(
      kIsRevoked, {std::string(jti), std::string(sid), UsernameKey(username), Str(issued_at)});
  if (!rows) return rows.error();
  return rows->Text(0, 0) == "t";
}

std::unique_ptr<FeedWatch> PostgresStore::WatchRevocationFeed(std::function<void()> on_new_events) {
  if (!notify_) return nullptr;
  return std::make_unique<pg::FeedListener>(url_, std::move(on_new_events));
}

Result<bool> PostgresStore::AddSigningKey(const StoredKey& key) {
  auto rows =
      pool_.Run(kAddSigningKey, {key.kid, key.algorithm, key.material, Str(key.created_at)});
  if (!rows) return rows.error();
  return rows->Affected() == 1;
}

Result<std::vector<StoredKey>> PostgresStore::LoadSigningKeys(std::string_view algorithm) {
  auto rows = pool_.Run(kLoadSigningKeys, {std::string(algorithm)});
  if (!rows) return rows.error();
  std::vector<StoredKey> keys;
  for (int i = 0; i < rows->Count(); ++i) {
    keys.push_back(
        StoredKey{rows->Text(i, 0), rows->Text(i, 1), rows->Text(i, 2), rows->Int(i, 3)});
  }
  return keys;
}

Status PostgresStore::RemoveSigningKey(std::string_view kid) {
  auto rows = pool_.Run(kRemoveSigningKey, {std::string(kid)});
  if (!rows) return rows.error();
  return Ok{};
}

Result<int64_t> PostgresStore::SessionsRecordedSince() {
  auto rows = pool_.Run(kSessionsRecordedSince, {});
  if (!rows) return rows.error();
  if (rows->Count() != 1) {
    return Error{ErrorCode::kStorageFailure, "database: sessions recorded since: no row"};
  }
  return rows->Int(0, 0);
}

Result<int64_t> PostgresStore::TakeAttempt(std::string_view key, RateLimit limit, int64_t now_ms,
                                           int attempts) {
  if (!limit.enabled()) return 0;
  auto rows = pool_.Run(kTakeAttempt,
                        pg::TakeAttemptParams(attempt_digest_key_, key, limit, now_ms, attempts));
  if (!rows) return rows.error();
  const bool has_row = rows->Count() == 1;
  return pg::WaitSeconds(has_row, has_row ? std::stod(rows->Text(0, 0)) : 0.0);
}

Result<int64_t> PostgresStore::PruneAttempts(int64_t now_ms) {
  auto rows = pool_.Run(kPruneAttempts, {Str(now_ms)});
  if (!rows) return rows.error();
  return rows->Affected();
}

}  // namespace gatehouse::store
