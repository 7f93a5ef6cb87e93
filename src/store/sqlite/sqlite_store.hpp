// The SQLite backend of the storage contract (store/store.hpp).
// One connection in WAL mode with synchronous=FULL: every write is fsync'd before the call
// returns (or its WriteDone runs). Writes are group-committed (store/group_commit.hpp): each
// runs on the store's writer thread in a savepoint of a transaction shared with the writes that
// arrived with it, and the batch's one COMMIT (one fsync) makes them all durable.
// Thread safety: all calls are serialised on one mutex, so any method may be called from
// several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "store/group_commit.hpp"
#include "store/sqlite/file_identity.hpp"
#include "store/statement.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

// Opaque SQLite handles; sqlite3.h stays inside src/store/sqlite/.
struct sqlite3;
struct sqlite3_stmt;

namespace gatehouse::store {
namespace sqlite {
class BoundStatement;
}  // namespace sqlite

class SqliteStore final : public Store, private BatchTransaction {
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

 private:
  explicit SqliteStore(sqlite3* db);

  Status InsertUser(const UserRecord& user, const std::string& key,
                    const AccountEvent* event) override;
  Result<std::optional<UserRecord>> SelectUser(const std::string& key) override;
  Result<bool> UpdateHash(const std::string& key, std::string_view hash) override;
  Result<std::optional<UserTokensRevoked>> DeleteUserRevoking(const std::string& key,
                                                              int64_t revoked_before,
                                                              const AccountEvent* event) override;
  Result<std::optional<UserTokensRevoked>> ChangeHashRevoking(const std::string& key,
                                                              std::string_view hash,
                                                              int64_t revoked_before,
                                                              const AccountEvent* event) override;
  Result<UserTokensRevoked> RevokeUser(const std::string& key, int64_t revoked_before,
                                       const AccountEvent* event) override;
  Result<bool> InsertSession(const SessionRecord& session, const std::string& key,
                             int64_t password_version, const AccountEvent* event) override;
  Result<int64_t> SelectSessionsRecordedSince() override;
  Result<std::vector<SessionRecord>> SelectSessions(const std::string& key, int64_t now,
                                                    int64_t idle_since) override;
  Result<std::optional<Revocation>> DeleteSession(const std::string& key, std::string_view sid,
                                                  const AccountEvent* event) override;
  Result<std::vector<Revocation>> DeleteIdleSessions(int64_t idle_since) override;
  Result<bool> UpdateSessionUse(std::string_view sid, const SessionUse& use,
                                int64_t idle_since) override;
  Result<std::optional<SessionRecord>> SelectSession(std::string_view sid) override;
  Result<std::optional<RefreshUse>> SelectRefreshUse(std::string_view jti) override;
  Result<bool> CompareAndRotate(const RotationRequest& request,
                                std::string_view expected_jti) override;
  Result<std::vector<UserRecord>> SelectUsers(std::string_view after_key, int limit,
                                              std::string_view prefix_key,
                                              std::string_view prefix_end) override;
  Result<std::optional<UserTokensRevoked>> DisableRevoking(const std::string& key,
                                                           int64_t revoked_before,
                                                           const AccountEvent* event) override;
  Result<bool> UpdateUser(const std::string& key, const UserUpdate& update,
                          const AccountEvent* event) override;
  Result<std::optional<UserTokensRevoked>> ResetHashRevoking(const std::string& key,
                                                             const PasswordReset& reset,
                                                             int64_t revoked_before,
                                                             const AccountEvent* event) override;
  Result<int64_t> InsertNewUsers(const std::vector<KeyedUser>& users) override;
  Status Probe() override;
  Status StillReachable() const override;

  Status InsertRevocation(const Revocation& revocation, const AccountEvent* event) override;
  void QueueRevocation(const Revocation& revocation, WriteDone done,
                       const AccountEvent* event) override;
  Status InsertEvent(const AccountEvent& event) override;
  Result<std::vector<StoredEvent>> SelectAccountEvents(const EventQuery& query) override;
  Result<int64_t> SelectLastEventId() override;
  void QueueRotation(const RotationRequest& request, RotationDone done) override;
  GroupCommit::Counts WriteCounts() const override;
  bool FeedSerializedByEngine() const override { return true; }
  Result<int64_t> InsertNewRevocations(const std::vector<Revocation>& revocations) override;
  Result<std::vector<Revocation>> SelectRevocations(int64_t now) override;
  Status UpsertUserRevokedBefore(const std::string& key, int64_t revoked_before) override;
  Result<int64_t> KeepFirstFact(const std::string& name, int64_t value) override;
  Result<std::vector<UserRevocation>> SelectUserRevocations() override;
  Result<int64_t> SelectLatestEvent() override;
  Result<std::vector<RevocationEvent>> SelectEventsSince(int64_t seq, int limit) override;
  Result<bool> SelectRevoked(std::string_view jti, std::string_view sid, const std::string& key,
                             int64_t issued_at) override;
  Result<int64_t> DeleteExpired(Expiring what, int64_t before) override;
  // This process is the only writer: a commit whose batch appended to the feed signals
  // (after the commit, outside mutex_), so that its revocations reach the streams at once.
  std::unique_ptr<FeedWatch> StartFeedWatch(std::function<void()> on_new_events) override;
  class CommitFeedWatch;

  Result<bool> InsertSigningKey(const StoredKey& key) override;
  Result<std::vector<StoredKey>> SelectSigningKeys(std::string_view algorithm) override;
  Status DeleteSigningKey(std::string_view kid) override;
  Result<std::optional<int64_t>> LeaseWebhookCursor(std::string_view url_key,
                                                    std::string_view owner, int64_t now_ms,
                                                    int64_t lease_until_ms) override;
  Result<bool> UpdateWebhookCursor(std::string_view url_key, std::string_view owner,
                                   int64_t delivered, int64_t lease_until_ms) override;

  // Binds `args` to `statement`, prepared on first use and cached (see sqlite_statement.hpp).
  // Caller holds mutex_.
  template <typename... Params>
  sqlite::BoundStatement Bind(const Statement<Params...>& statement,
                              std::type_identity_t<Params>... args);
  sqlite3_stmt* Prepared(const StatementText& statement, int& rc);
  // Checks the file, then runs `body` with mutex_ held.
  template <typename Body>
  auto Locked(Body body) -> decltype(body());
  // True on the writer thread while it runs a write that makes its own store calls (a
  // rotation, QueueRotation): Locked and Committed then run their bodies in that write.
  static inline thread_local bool t_inside_write = false;
  // Every write goes through here: `body` (its statements) runs on the writer thread, with
  // mutex_ held, in its own savepoint of the batch's transaction; returns once that transaction
  // is durable. A new kind of write joins the group commit by being written this way.
  template <typename Body>
  Status Committed(Body body);

  // BatchTransaction: the steps of one group commit, on the writer thread.
  void Exclusive(const std::function<void()>& batch) override;
  Status Begin() override;
  Status Savepoint() override;
  Status ReleaseSavepoint() override;
  bool RollbackToSavepoint() override;
  Status Commit() override;
  void Rollback() override;
  Status AppendEvent(RevocationEvent::Kind kind, std::string_view subject, int64_t value);
  // Records an account event (nothing when null), inside a transaction the caller holds.
  Status RecordLocked(const AccountEvent* event);
  // Adds (or extends) a revocation and its feed entry, inside a transaction the caller holds.
  // Answers whether it changed anything: a revocation already there with an expiry as late
  // gets no second feed entry.
  Result<bool> AddRevocationLocked(const Revocation& revocation, std::string_view what);
  // AddRevocationLocked, then the event only when it changed anything: a write that changes
  // nothing records no event.
  Status AddRevocationRecordingLocked(const Revocation& revocation, const AccountEvent* event);
  // Revokes each session a DELETE ... RETURNING sid, expires_at ended; fills `out`. Inside a
  // transaction the caller holds.
  Status RevokeEndedLocked(sqlite::BoundStatement& ended, std::vector<Revocation>& out);
  // Runs the UPDATE ... RETURNING password_version that `bind_update` binds, then (when it
  // touched a row) RevokeUserLocked, in one transaction. Takes mutex_.
  template <typename BindUpdate>
  Result<std::optional<UserTokensRevoked>> UpdateThenRevoke(std::string_view what,
                                                            const std::string& key,
                                                            int64_t revoked_before,
                                                            const AccountEvent* event,
                                                            BindUpdate bind_update);
  // RevokeUser's writes, inside a transaction the caller holds (with mutex_).
  Status RevokeUserLocked(const std::string& key, int64_t revoked_before, UserTokensRevoked& out);

  // Notes a failure for want of storage (a full disk, the file gone) of a transaction step or
  // of one write's own statements; Probe then answers by a write until a commit that changed
  // rows, kWritesSettleNs after the last failure, clears it (Commit).
  Status NotingWriteFailure(Status status);

  // On a nearly full disk small commits still fit between failing ones: a success clears the
  // failure only once no write has failed for this long, so /readyz does not flap (a load
  // balancer checks every few seconds).
  static constexpr int64_t kWritesSettleNs = 5'000'000'000;

  std::mutex mutex_;  // guards db_ and every statement in prepared_
  std::atomic<bool> writes_failing_{false};
  std::atomic<int64_t> write_failed_at_ns_{0};  // CoarseMonotonicNs of the last such failure
  // The writer thread's: whether a write of the current batch changed rows, and the connection's
  // change count when the current write's savepoint began.
  bool batch_changed_rows_ = false;
  int64_t changes_at_savepoint_ = 0;
  // The writer thread's: a write of the current batch appended to the revocation feed (also
  // when its savepoint was then undone: a signal too many only polls once more), and a commit
  // of such a batch is durable and not signalled yet.
  bool batch_appended_feed_ = false;
  bool feed_committed_ = false;
  // The feed watch's signal (empty: none); feed_signal_mutex_ keeps it from running once the
  // watch is gone.
  std::mutex feed_signal_mutex_;
  std::function<void()> feed_signal_;
  sqlite3* db_;
  FileIdentity file_;  // the file opened; checked before every call and every acknowledged write
  // StillReachable's last stat() of file_ (CLOCK_MONOTONIC_COARSE nanoseconds) and its answer.
  mutable std::atomic<int64_t> reachable_checked_at_{0};
  mutable std::atomic<bool> reachable_{true};
  std::unordered_map<const StatementText*, sqlite3_stmt*> prepared_;
  // Made once the schema is migrated; stopped first in the destructor, before db_ closes.
  std::unique_ptr<GroupCommit> group_;
};

}  // namespace gatehouse::store
