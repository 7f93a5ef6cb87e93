#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <iterator>

#include "store/postgres/pg_rate_limits.hpp"
#include "store/postgres/pg_schema.hpp"
#include "store/postgres/pg_statements.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store {
namespace {

// Threads sending batches of rotations: while one batch waits for its commit, the next one
// gathers and goes on another connection.
constexpr int kRotationThreads = 2;

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

// The sessions a revocation of every token of the user ended (sid, expires_at).
Result<UserTokensRevoked> RevokedSessions(const pg::Rows& rows, const std::string& key,
                                          int64_t revoked_before) {
  Result<std::vector<Revocation>> sessions = pg::ReadAll(rows, &DecodeEndedSession<pg::Rows::Row>);
  if (!sessions) return sessions.error();
  return UserTokensRevoked{UserRevocation{key, revoked_before}, std::move(*sessions), 0};
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
    : Store(/*shared=*/true),
      url_(std::move(url)),
      notify_(notify),
      attempt_digest_key_(digest_key),
      pool_(url_, pool_size, {std::begin(pg::kAllStatements), std::end(pg::kAllStatements)}),
      rotations_([this](const auto& requests) { return RotateCurrent(requests); },
                 [this](const RotationRequest& request) { return RotateRefresh(request); },
                 kRotationThreads) {}

PostgresStore::~PostgresStore() = default;

void PostgresStore::Notify() {
  if (!notify_) return;
  auto lease = pool_.Acquire();
  if (!lease) return;
  const std::string sql = std::string("NOTIFY ") + pg::kFeedChannel;
  (void)(*lease)->Exec(sql.c_str());
}

Status PostgresStore::InsertUser(const UserRecord& user, const std::string& key,
                                 const AccountEvent* event) {
  auto done = WithEvent(
      event,
      [&](auto& db) {
        return db.Run(pg::kInsertUser, key, user.username, user.password_hash, user.created_at,
                      user.claims);
      },
      [](const pg::Rows&) { return true; });
  if (!done) return done.error();  // kConflict when the key is taken
  return Ok{};
}

Result<std::optional<UserRecord>> PostgresStore::SelectUser(const std::string& key) {
  auto rows = pool_.Run(pg::kFindUser, key);
  if (!rows) return rows.error();
  if (rows->Count() == 0) return std::optional<UserRecord>();
  Result<UserRecord> user = DecodeUser(pg::Rows::Row(*rows, 0));
  if (!user) return user.error();
  return std::optional<UserRecord>(std::move(*user));
}

Result<bool> PostgresStore::UpdateHash(const std::string& key, std::string_view hash) {
  auto rows = pool_.Run(pg::kUpdatePasswordHash, key, hash);
  if (!rows) return rows.error();
  return rows->Affected() != 0;
}

Result<std::optional<UserTokensRevoked>> PostgresStore::DeleteUserRevoking(
    const std::string& key, int64_t revoked_before, const AccountEvent* event) {
  return LockUserThenRevoke(key, revoked_before, event,
                            [&](pg::Connection& conn) { return conn.Run(pg::kRemoveUser, key); });
}

Result<std::optional<UserTokensRevoked>> PostgresStore::ChangeHashRevoking(
    const std::string& key, std::string_view hash, int64_t revoked_before,
    const AccountEvent* event) {
  return LockUserThenRevoke(key, revoked_before, event, [&](pg::Connection& conn) {
    return conn.Run(pg::kChangePassword, key, hash);
  });
}

Result<std::optional<UserTokensRevoked>> PostgresStore::DisableRevoking(const std::string& key,
                                                                        int64_t revoked_before,
                                                                        const AccountEvent* event) {
  return LockUserThenRevoke(key, revoked_before, event, [&](pg::Connection& conn) {
    return conn.Run(pg::kSetDisabled, key, int64_t{1});
  });
}

Result<std::optional<UserTokensRevoked>> PostgresStore::ResetHashRevoking(
    const std::string& key, const PasswordReset& reset, int64_t revoked_before,
    const AccountEvent* event) {
  return LockUserThenRevoke(key, revoked_before, event, [&](pg::Connection& conn) {
    return conn.Run(pg::kResetPassword, key, reset.hash, reset.code_hash, reset.now);
  });
}

Result<bool> PostgresStore::UpdateUser(const std::string& key, const UserUpdate& update,
                                       const AccountEvent* event) {
  auto write = [&](auto& db) {
    return update.field == UserUpdate::Field::kEnable ? db.Run(pg::kSetDisabled, key, int64_t{0})
           : update.field == UserUpdate::Field::kClaims
               ? db.Run(pg::kSetClaims, key, update.text)
               : db.Run(pg::kSetResetCode, key, update.text, update.number);
  };
  auto wrote = [](const pg::Rows& changed) { return changed.Affected() != 0; };
  // A change of claims adds a feed entry (kSetClaims).
  auto rows = update.field == UserUpdate::Field::kClaims ? WithFeedEntries(event, write, wrote)
                                                         : WithEvent(event, write, wrote);
  if (!rows) return rows.error();
  if (update.field == UserUpdate::Field::kClaims) {
    if (rows->Count() == 0) return false;
    Notify();  // its feed entry: other instances drop the user's cached claims
    return true;
  }
  return rows->Affected() != 0;
}

template <typename LockUser>
Result<std::optional<UserTokensRevoked>> PostgresStore::LockUserThenRevoke(
    const std::string& key, int64_t revoked_before, const AccountEvent* event, LockUser lock_user) {
  using Answer = Result<std::optional<UserTokensRevoked>>;
  Answer answer = pool_.Transact([&](pg::Connection& conn) -> Answer {
    if (Status turn = TakeFeedTurn(conn); !turn) return turn.error();  // before the user's row
    auto locked = lock_user(conn);
    if (!locked) return locked.error();
    if (locked->Count() == 0) return std::optional<UserTokensRevoked>();  // no such user
    const int64_t password_version = locked->Int(0, 0);
    auto ended = conn.Run(pg::kRevokeUserTokens, key, revoked_before);
    if (!ended) return ended.error();
    Result<UserTokensRevoked> revoked = RevokedSessions(*ended, key, revoked_before);
    if (!revoked) return revoked.error();
    revoked->password_version = password_version;
    if (Status recorded = RecordOn(conn, event); !recorded) return recorded.error();
    return std::optional<UserTokensRevoked>(std::move(*revoked));
  });
  if (answer && *answer) Notify();
  return answer;
}

Result<UserTokensRevoked> PostgresStore::RevokeUser(const std::string& key, int64_t revoked_before,
                                                    const AccountEvent* event) {
  auto rows = WithFeedEntries(
      event, [&](auto& db) { return db.Run(pg::kRevokeUserTokens, key, revoked_before); },
      [](const pg::Rows&) { return true; });
  if (!rows) return rows.error();
  Notify();
  return RevokedSessions(*rows, key, revoked_before);
}

Result<bool> PostgresStore::InsertSession(const SessionRecord& session, const std::string& key,
                                          int64_t password_version, const AccountEvent* event) {
  auto rows = WithEvent(
      event,
      [&](auto& db) {
        return db.Run(pg::kCreateSession, session.sid, session.created_at, session.expires_at,
                      session.client_address, session.user_agent, session.refresh_jti, key,
                      password_version);
      },
      [](const pg::Rows& written) { return written.Affected() != 0; });
  if (!rows) return rows.error();
  return rows->Affected() != 0;
}

Result<int64_t> PostgresStore::SelectSessionsRecordedSince() {
  auto rows = pool_.Run(pg::kSessionsRecordedSince);
  if (!rows) return rows.error();
  if (rows->Count() != 1) {
    return StorageError(ErrorCode::kStorageFailure, "sessions recorded since", "no row");
  }
  return rows->Int(0, 0);
}

Result<std::vector<UserRecord>> PostgresStore::SelectUsers(std::string_view after_key, int limit,
                                                           std::string_view prefix_key,
                                                           std::string_view prefix_end) {
  auto rows = prefix_key.empty()
                  ? pool_.Run(pg::kListUsers, after_key, limit)
                  : pool_.Run(pg::kListUsersWithPrefix, after_key, prefix_key, prefix_end, limit);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeListedUser<pg::Rows::Row>);
}

Status PostgresStore::Probe() {
  auto rows = pool_.Run(pg::kPing);
  if (!rows) return rows.error();
  return Ok{};
}

template <typename Row, typename RunOne>
Result<int64_t> PostgresStore::InOneTransaction(const std::vector<Row>& rows, RunOne run_one) {
  return pool_.Transact([&](pg::Connection& conn) -> Result<int64_t> {
    int64_t changed = 0;
    for (const Row& row : rows) {
      auto done = run_one(conn, row);
      if (!done) return done.error();
      changed += done->Affected();
    }
    return changed;
  });
}

Result<int64_t> PostgresStore::InsertNewUsers(const std::vector<KeyedUser>& users) {
  return InOneTransaction(users, [](pg::Connection& conn, const KeyedUser& keyed) {
    const UserRecord& user = *keyed.user;
    return conn.Run(pg::kImportUser, keyed.key, user.username, user.password_hash, user.created_at);
  });
}

Result<int64_t> PostgresStore::InsertNewRevocations(const std::vector<Revocation>& revocations) {
  return InOneTransaction(revocations, [](pg::Connection& conn, const Revocation& revocation) {
    return conn.Run(pg::kImportRevocation, revocation.id, static_cast<int64_t>(revocation.kind),
                    revocation.expires_at);
  });
}

}  // namespace gatehouse::store
