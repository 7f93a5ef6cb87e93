// The SQLite store's revocations, revocation feed, pruning and signing keys.
#include <sqlite3.h>

#include <memory>
#include <utility>

#include "store/event_rows.hpp"
#include "store/sqlite/sqlite_statement.hpp"
#include "store/sqlite/sqlite_statements.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gatehouse::store {

using sqlite::BoundStatement;
using sqlite::SqliteFailure;

Status SqliteStore::AppendEvent(RevocationEvent::Kind kind, std::string_view subject,
                                int64_t value) {
  BoundStatement insert = Bind(sqlite::kAddEvent, subject, static_cast<int64_t>(kind), value);
  if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "append revocation event");
  batch_appended_feed_ = true;  // every write runs on the writer thread (Committed)
  return Ok{};
}

Status SqliteStore::RecordLocked(const AccountEvent* event) {
  if (event == nullptr || !kWriteEventRows) return Ok{};
  BoundStatement insert =
      Bind(sqlite::kAddAccountEvent, event->type, event->at_ms, event->username, event->sid,
           event->client_address, event->user_agent, event->username_key);
  if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "record event");
  return Ok{};
}

Status SqliteStore::InsertEvent(const AccountEvent& event) {
  if (!kWriteEventRows) return Ok{};
  return Committed([&]() { return RecordLocked(&event); });
}

Result<std::vector<StoredEvent>> SqliteStore::SelectAccountEvents(const EventQuery& query) {
  return Locked([&]() -> Result<std::vector<StoredEvent>> {
    BoundStatement select =
        Bind(sqlite::kListAccountEvents, query.after, query.type, query.username_key, query.limit);
    return sqlite::ReadAll(db_, select, &DecodeAccountEvent<BoundStatement>, "list events");
  });
}

Result<int64_t> SqliteStore::SelectLastEventId() {
  return Locked([&]() -> Result<int64_t> {
    BoundStatement select = Bind(sqlite::kLastEventId);
    if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "last event id");
    return select.Int(0);
  });
}

Result<bool> SqliteStore::AddRevocationLocked(const Revocation& revocation, std::string_view what) {
  {
    BoundStatement insert = Bind(sqlite::kAddRevocation, revocation.id,
                                 static_cast<int64_t>(revocation.kind), revocation.expires_at);
    if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, what);
  }
  if (sqlite3_changes(db_) == 0) return false;
  // Token and session revocations share their kind numbers with the feed's events.
  if (Status appended = AppendEvent(static_cast<RevocationEvent::Kind>(revocation.kind),
                                    revocation.id, revocation.expires_at);
      !appended) {
    return appended.error();
  }
  return true;
}

Status SqliteStore::AddRevocationRecordingLocked(const Revocation& revocation,
                                                 const AccountEvent* event) {
  Result<bool> added = AddRevocationLocked(revocation, "add revocation");
  if (!added) return added.error();
  return *added ? RecordLocked(event) : Status(Ok{});
}

Status SqliteStore::InsertRevocation(const Revocation& revocation, const AccountEvent* event) {
  return Committed([&]() { return AddRevocationRecordingLocked(revocation, event); });
}

void SqliteStore::QueueRevocation(const Revocation& revocation, WriteDone done,
                                  const AccountEvent* event) {
  std::optional<AccountEvent> recorded;
  if (event != nullptr) recorded = *event;
  group_->Submit(
      [this, revocation, recorded = std::move(recorded)]() -> Status {
        return NotingWriteFailure(
            AddRevocationRecordingLocked(revocation, recorded ? &*recorded : nullptr));
      },
      std::move(done));
}

// The rotation's reads and writes are one write of the group commit (store/store.hpp,
// SubmitRotation): no pool thread waits for an fsync, and rotations arriving together share one.
// The measured bottleneck it removes: each rotation held one of the two store threads through
// its own fsync, so at most two rotations shared a transaction.
void SqliteStore::QueueRotation(const RotationRequest& request, RotationDone done) {
  auto outcome = std::make_shared<Result<RotationOutcome>>(RotationOutcome{});
  group_->Submit(
      [this, request, outcome]() -> Status {
        t_inside_write = true;
        *outcome = RotateRefresh(request);
        t_inside_write = false;
        if (!*outcome) return NotingWriteFailure(outcome->error());
        return Ok{};
      },
      [outcome, done = std::move(done)](Status stored) {
        if (!stored) return done(stored.error());
        done(std::move(*outcome));
      });
}

GroupCommit::Counts SqliteStore::WriteCounts() const { return group_->counts(); }

Result<int64_t> SqliteStore::InsertNewRevocations(const std::vector<Revocation>& revocations) {
  int64_t inserted = 0;
  Status done = Committed([&]() -> Status {
    inserted = 0;
    for (const Revocation& revocation : revocations) {
      BoundStatement insert = Bind(sqlite::kImportRevocation, revocation.id,
                                   static_cast<int64_t>(revocation.kind), revocation.expires_at);
      if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "import revocation");
      inserted += sqlite3_changes64(db_);
    }
    return Ok{};
  });
  if (!done) return done.error();
  return inserted;
}

Result<std::vector<Revocation>> SqliteStore::SelectRevocations(int64_t now) {
  return Locked([&]() -> Result<std::vector<Revocation>> {
    BoundStatement select = Bind(sqlite::kLoadRevocations, now);
    return sqlite::ReadAll(db_, select, &DecodeRevocation<BoundStatement>, "load revocations");
  });
}

Status SqliteStore::UpsertUserRevokedBefore(const std::string& key, int64_t revoked_before) {
  return Committed([&]() -> Status {
    BoundStatement upsert = Bind(sqlite::kSetUserRevokedBefore, key, revoked_before);
    if (upsert.Step() != SQLITE_DONE) return SqliteFailure(db_, "set user revoked-before");
    return AppendEvent(RevocationEvent::Kind::kUser, key, revoked_before);
  });
}

Result<int64_t> SqliteStore::KeepFirstFact(const std::string& name, int64_t value) {
  int64_t kept = 0;
  Status done = Committed([&]() -> Status {
    BoundStatement keep = Bind(sqlite::kKeepFirstFact, name, value);
    if (keep.Step() != SQLITE_ROW) return SqliteFailure(db_, "keep first fact");
    kept = keep.Int(0);
    return Ok{};
  });
  if (!done) return done.error();
  return kept;
}

Result<std::vector<UserRevocation>> SqliteStore::SelectUserRevocations() {
  return Locked([&]() -> Result<std::vector<UserRevocation>> {
    BoundStatement select = Bind(sqlite::kLoadUserRevocations);
    return sqlite::ReadAll(db_, select, &DecodeUserRevocation<BoundStatement>,
                           "load user revocations");
  });
}

Result<int64_t> SqliteStore::SelectLatestEvent() {
  return Locked([&]() -> Result<int64_t> {
    BoundStatement select = Bind(sqlite::kLatestEvent);
    if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "latest revocation event");
    return select.Int(0);
  });
}

Result<std::vector<RevocationEvent>> SqliteStore::SelectEventsSince(int64_t seq, int limit) {
  return Locked([&]() -> Result<std::vector<RevocationEvent>> {
    BoundStatement select = Bind(sqlite::kEventsSince, seq, limit);
    return sqlite::ReadAll(db_, select, &DecodeEvent<BoundStatement>, "revocations since");
  });
}

Result<bool> SqliteStore::SelectRevoked(std::string_view jti, std::string_view sid,
                                        const std::string& key, int64_t issued_at) {
  return Locked([&]() -> Result<bool> {
    BoundStatement select = Bind(sqlite::kIsRevoked, jti, sid, key, issued_at);
    if (select.Step() != SQLITE_ROW) return SqliteFailure(db_, "is revoked");
    return select.Int(0) != 0;
  });
}

Result<int64_t> SqliteStore::DeleteExpired(Expiring what, int64_t before) {
  const Statement<int64_t>* statement =
      PruneStatement(what, {.sessions = &sqlite::kPruneSessions,
                            .revocations = &sqlite::kPruneRevocations,
                            .revocation_events = &sqlite::kPruneEvents,
                            .user_revocations = &sqlite::kPruneUserRevocations,
                            .attempts = nullptr,
                            .refresh_uses = &sqlite::kPruneRefreshUses,
                            .account_events = &sqlite::kPruneAccountEvents});
  if (statement == nullptr) return 0;  // one process: its attempts are counted in memory
  int64_t deleted = 0;
  Status done = Committed([&]() -> Status {
    BoundStatement prune = Bind(*statement, before);
    if (prune.Step() != SQLITE_DONE) return SqliteFailure(db_, statement->text.name);
    deleted = sqlite3_changes64(db_);
    return Ok{};
  });
  if (!done) return done.error();
  return deleted;
}

class SqliteStore::CommitFeedWatch final : public FeedWatch {
 public:
  CommitFeedWatch(SqliteStore& store, std::function<void()> on_new_events) : store_(store) {
    std::lock_guard lock(store_.feed_signal_mutex_);
    store_.feed_signal_ = std::move(on_new_events);
  }
  ~CommitFeedWatch() override {
    std::lock_guard lock(store_.feed_signal_mutex_);
    store_.feed_signal_ = nullptr;
  }
  CommitFeedWatch(const CommitFeedWatch&) = delete;
  CommitFeedWatch& operator=(const CommitFeedWatch&) = delete;
  const char* Source() const override { return "commit"; }

 private:
  SqliteStore& store_;
};

std::unique_ptr<FeedWatch> SqliteStore::StartFeedWatch(std::function<void()> on_new_events) {
  return std::make_unique<CommitFeedWatch>(*this, std::move(on_new_events));
}

Result<bool> SqliteStore::InsertSigningKey(const StoredKey& key) {
  bool added = false;
  Status done = Committed([&]() -> Status {
    BoundStatement insert =
        Bind(sqlite::kAddSigningKey, key.kid, key.algorithm, key.material, key.created_at);
    if (insert.Step() != SQLITE_DONE) return SqliteFailure(db_, "add signing key");
    added = sqlite3_changes64(db_) != 0;
    return Ok{};
  });
  if (!done) return done.error();
  return added;
}

Result<std::vector<StoredKey>> SqliteStore::SelectSigningKeys(std::string_view algorithm) {
  return Locked([&]() -> Result<std::vector<StoredKey>> {
    BoundStatement select = Bind(sqlite::kLoadSigningKeys, algorithm);
    return sqlite::ReadAll(db_, select, &DecodeStoredKey<BoundStatement>, "load signing keys");
  });
}

Status SqliteStore::DeleteSigningKey(std::string_view kid) {
  return Committed([&]() -> Status {
    BoundStatement remove = Bind(sqlite::kRemoveSigningKey, kid);
    if (remove.Step() != SQLITE_DONE) return SqliteFailure(db_, "remove signing key");
    return Ok{};
  });
}

}  // namespace gatehouse::store
