// The SQLite backend of the storage contract (store/store.hpp).
// One connection in WAL mode with synchronous=FULL: every write is fsync'd before the call
// returns. Thread safety: all calls are serialised on one mutex, so any method may be called
// from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/file_identity.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

// Opaque SQLite handles; sqlite3.h stays inside src/store/sqlite/*.cpp.
struct sqlite3;
struct sqlite3_stmt;

namespace gatehouse::store {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database file at `path` and applies pending migrations. The parent
  // directory must exist. Fails with kStorageFailure and a readable detail.
  // Calls `on_new_database` (if set) with the path when it had to create the file. Every later
  // call fails with kStorageUnavailable once the file at `path` is no longer the one opened
  // (deleted, replaced): see store/sqlite/file_identity.hpp.
  static Result<std::unique_ptr<Store>> Open(
      const std::string& path, const std::function<void(const std::string&)>& on_new_database = {});

  // The schema version this build migrates to.
  static int64_t LatestSchemaVersion();
  // Reads the schema version of an existing database (0 when it was never migrated), without
  // migrating it. For diagnostics and tests.
  static Result<int64_t> ReadSchemaVersion(const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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
  // SQLite has no notifications: the feed is polled.
  std::unique_ptr<FeedWatch> WatchRevocationFeed(std::function<void()> on_new_events) override;

  Result<bool> AddSigningKey(const StoredKey& key) override;
  Result<std::vector<StoredKey>> LoadSigningKeys(std::string_view algorithm) override;
  Status RemoveSigningKey(std::string_view kid) override;
  // One file, one machine: keys stay in data_dir files and memory is the truth.
  bool IsShared() const override { return false; }
  // One process per database file: its server counts attempts in memory (auth::RateLimiter).
  Result<int64_t> TakeAttempt(std::string_view, RateLimit, int64_t, int) override { return 0; }
  Result<int64_t> PruneAttempts(int64_t) override { return 0; }

 private:
  explicit SqliteStore(sqlite3* db);
  Status PrepareStatements();
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it fails). Caller holds mutex_.
  template <typename Body>
  Status InTransaction(std::string_view what, Body body);
  Status AppendEvent(RevocationEvent::Kind kind, std::string_view subject, int64_t value);
  // RevokeUserTokens' writes, inside a transaction the caller holds (with mutex_).
  Status RevokeUserTokensLocked(const std::string& key, int64_t revoked_before,
                                UserTokensRevoked& out);

  std::mutex mutex_;  // guards db_ and every statement in statements_
  sqlite3* db_;
  FileIdentity file_;  // the file opened; checked before every call and every acknowledged write
  std::vector<sqlite3_stmt*> statements_;  // indexed by the statement ids in the .cpp
};

}  // namespace gatehouse::store
