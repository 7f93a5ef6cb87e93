// The PostgreSQL backend of the storage contract (store/store.hpp), for several instances
// sharing one database. Every call borrows a connection from a pool (`pool_size`); each write
// is one statement (a CTE where a row and its feed entry go together), committed with
// PostgreSQL's default synchronous commit before the call returns; a write with its account
// event, the revocations of a user and a rotation are one transaction (pg::Pool::Transact), and
// so is every write of feed entries, which takes the feed's turn first (pg::kTakeFeedTurn).
// Revocation feed writes NOTIFY the feed's channel so other instances poll at once.
// Thread safety: any method from any thread; calls block on the network, so never call them
// from an I/O thread.
#pragma once

#include <memory>
#include <string>

#include "store/postgres/feed_listener.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/postgres/pg_rate_limits.hpp"
#include "store/rotation_batches.hpp"
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

 private:
  PostgresStore(std::string url, int pool_size, bool notify,
                const pg::AttemptDigestKey& digest_key);

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
  void QueueRotation(const RotationRequest& request, RotationDone done) override;
  GroupCommit::Counts WriteCounts() const override { return rotations_.counts(); }
  // RotationBatches' statement: the compare-and-set of every request's current token, one commit.
  Result<std::vector<bool>> RotateCurrent(const std::vector<const RotationRequest*>& requests);
  // The sessions a statement ending sessions (... SELECT sid, expires_at FROM ended) ended;
  // wakes the other instances when there were any.
  Result<std::vector<Revocation>> EndedAndNotified(Result<pg::Rows> rows);
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

  Status InsertRevocation(const Revocation& revocation, const AccountEvent* event) override;
  Status InsertEvent(const AccountEvent& event) override;
  Result<std::vector<StoredEvent>> SelectAccountEvents(const EventQuery& query) override;
  Result<int64_t> SelectLastEventId() override;
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
  // LISTEN/NOTIFY where the engine has it; nullptr (poll only) where it does not.
  std::unique_ptr<FeedWatch> StartFeedWatch(std::function<void()> on_new_events) override;

  Result<bool> InsertSigningKey(const StoredKey& key) override;
  Result<std::vector<StoredKey>> SelectSigningKeys(std::string_view algorithm) override;
  Status DeleteSigningKey(std::string_view kid) override;
  Result<std::optional<int64_t>> LeaseWebhookCursor(std::string_view url_key,
                                                    std::string_view owner, int64_t now_ms,
                                                    int64_t lease_until_ms) override;
  Result<bool> UpdateWebhookCursor(std::string_view url_key, std::string_view owner,
                                   int64_t delivered, int64_t lease_until_ms) override;
  Result<int64_t> TakeSharedAttempt(std::string_view key, RateLimit limit, int64_t now_ms,
                                    int attempts) override;

  // Wakes the other instances after a feed write. Best effort: they poll anyway.
  void Notify();
  // Runs `lock_user` (a statement on the user's row that locks it and answers one row, the
  // password version, or none) and then the revocation of every token of the user, in one
  // transaction: the revocation's snapshot is taken after the row lock, so it sees every
  // session recorded before it. nullopt (rolled back) when there is no such user.
  template <typename LockUser>
  Result<std::optional<UserTokensRevoked>> LockUserThenRevoke(const std::string& key,
                                                              int64_t revoked_before,
                                                              const AccountEvent* event,
                                                              LockUser lock_user);
  // Runs `write(conn)` and, when `event` is set and `wrote(rows)` says the write changed
  // something, records the event, in one transaction (pg::Pool::Transact: run again on a fresh
  // connection when the connection is lost before COMMIT).
  template <typename Write, typename Wrote>
  Result<pg::Rows> WithEvent(const AccountEvent* event, Write write, Wrote wrote);
  // WithEvent for a write that adds revocation feed entries: the transaction takes the feed's
  // turn (pg::kTakeFeedTurn) before `write`, so its entries become visible in `seq` order.
  template <typename Write, typename Wrote>
  Result<pg::Rows> WithFeedEntries(const AccountEvent* event, Write write, Wrote wrote);
  // kTakeFeedTurn on `conn`: the first statement of every transaction writing feed entries.
  static Status TakeFeedTurn(pg::Connection& conn);
  // kAddAccountEvent on `conn` (nothing when null).
  static Status RecordOn(pg::Connection& conn, const AccountEvent* event);
  // Runs `run_one(connection, row)` for each row inside one transaction on one connection;
  // answers how many rows the runs changed.
  template <typename Row, typename RunOne>
  Result<int64_t> InOneTransaction(const std::vector<Row>& rows, RunOne run_one);

  const std::string url_;
  const bool notify_;  // whether the engine has NOTIFY (PostgreSQL yes, CockroachDB no)
  pg::AttemptDigestKey attempt_digest_key_;  // shared by every instance; see pg_rate_limits
  pg::Pool pool_;
  RotationBatches rotations_;  // after pool_: its threads stop before the pool goes
};

template <typename Write, typename Wrote>
Result<pg::Rows> PostgresStore::WithEvent(const AccountEvent* event, Write write, Wrote wrote) {
  return pool_.Transact([&](pg::Connection& conn) -> Result<pg::Rows> {
    Result<pg::Rows> rows = write(conn);
    if (!rows || !wrote(*rows)) return rows;
    if (Status recorded = RecordOn(conn, event); !recorded) return recorded.error();
    return rows;
  });
}

template <typename Write, typename Wrote>
Result<pg::Rows> PostgresStore::WithFeedEntries(const AccountEvent* event, Write write,
                                                Wrote wrote) {
  return WithEvent(
      event,
      [&](pg::Connection& conn) -> Result<pg::Rows> {
        if (Status turn = TakeFeedTurn(conn); !turn) return turn.error();
        return write(conn);
      },
      wrote);
}

}  // namespace gatehouse::store
