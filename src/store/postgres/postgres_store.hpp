// The PostgreSQL backend of the storage contract (store/store.hpp), for several instances
// sharing one database. Every call borrows a connection from a pool (`pool_size`); each write
// is one statement (a CTE where a row and its feed entry go together), committed with
// PostgreSQL's default synchronous commit before the call returns. Revocation feed writes
// NOTIFY the feed's channel so other instances poll at once.
// Thread safety: any method from any thread; calls block on the network, so never call them
// from an I/O thread.
#pragma once

#include <memory>
#include <string>

#include "store/postgres/feed_listener.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/postgres/pg_rate_limits.hpp"
#include "store/store.hpp"

namespace gatehouse::store {

// The PostgreSQL half of CheckDatabaseUrl (store.hpp).
StartupStatus CheckPostgresUrl(const std::string& url);

class PostgresStore final : public Store {
 public:
  // Connects, migrates the schema and prepares the pool. kStorageUnavailable when the server
  // cannot be reached, kStorageFailure for anything else; the detail hides the password.
  static Result<std::unique_ptr<Store>> Open(const std::string& url, int pool_size);
  ~PostgresStore() override;

  Status CreateUser(const UserRecord& user) override;
  Result<std::optional<UserRecord>> FindUser(std::string_view username) override;
  Status UpdatePasswordHash(std::string_view username, std::string_view hash) override;
  Result<UserTokensRevoked> RemoveUser(std::string_view username, int64_t revoked_before) override;
  Result<std::vector<UserRecord>> ListUsers(std::string_view after_key, int limit) override;
  Status Ping() override;

  Status CreateSession(const SessionRecord& session, int64_t password_version) override;
  Result<UserTokensRevoked> RevokeUserTokens(std::string_view username,
                                             int64_t revoked_before) override;
  Result<UserTokensRevoked> ChangePassword(std::string_view username, std::string_view hash,
                                           int64_t revoked_before) override;
  Result<int64_t> PruneSessions(int64_t now) override;
  Result<int64_t> SessionsRecordedSince() override;

  Status AddRevocation(const Revocation& revocation) override;
  Result<int64_t> ImportUsers(const std::vector<UserRecord>& users) override;
  Result<int64_t> ImportRevocations(const std::vector<Revocation>& revocations) override;
  Result<std::vector<Revocation>> LoadRevocations(int64_t now) override;
  Result<int64_t> PruneRevocations(int64_t now) override;

  Status SetUserRevokedBefore(const UserRevocation& revocation) override;
  Result<std::vector<UserRevocation>> LoadUserRevocations() override;

  Result<int64_t> LatestRevocationEvent() override;
  Result<std::vector<RevocationEvent>> RevocationsSince(int64_t seq, int limit) override;
  Result<int64_t> PruneRevocationEvents(int64_t before) override;
  Result<int64_t> PruneUserRevocations(int64_t before) override;

  Result<bool> IsRevoked(std::string_view jti, std::string_view sid, std::string_view username,
                         int64_t issued_at) override;
  // LISTEN/NOTIFY where the engine has it; false (poll only) where it does not.
  std::unique_ptr<FeedWatch> WatchRevocationFeed(std::function<void()> on_new_events) override;

  Result<bool> AddSigningKey(const StoredKey& key) override;
  Result<std::vector<StoredKey>> LoadSigningKeys(std::string_view algorithm) override;
  Status RemoveSigningKey(std::string_view kid) override;
  bool IsShared() const override { return true; }
  Result<int64_t> TakeAttempt(std::string_view key, RateLimit limit, int64_t now_ms,
                              int attempts) override;
  Result<int64_t> PruneAttempts(int64_t now_ms) override;

 private:
  PostgresStore(std::string url, int pool_size, bool notify,
                const pg::AttemptDigestKey& digest_key);
  // Wakes the other instances after a feed write. Best effort: they poll anyway.
  void Notify();
  // Runs statement `index` once per row inside one transaction on one connection.
  // Runs `first` (a statement on the user's row that locks it, one row or none) and then the
  // revocation of every token of the user, in one transaction: the revocation's snapshot is
  // taken after the row lock, so it sees every session recorded before it.
  Result<UserTokensRevoked> LockUserThenRevoke(std::size_t first,
                                               const std::vector<std::string>& params,
                                               int64_t revoked_before, std::string_view what);
  template <typename Row, typename Params>
  Result<int64_t> ImportRows(const std::vector<Row>& rows, std::size_t index, Params params);

  const std::string url_;
  const bool notify_;  // whether the engine has NOTIFY (PostgreSQL yes, CockroachDB no)
  pg::AttemptDigestKey attempt_digest_key_;  // shared by every instance; see pg_rate_limits
  pg::Pool pool_;
};

}  // namespace gatehouse::store
