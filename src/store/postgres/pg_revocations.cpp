// The PostgreSQL store's revocations, revocation feed, pruning, signing keys and shared
// attempt counters.
#include "store/event_rows.hpp"
#include "store/postgres/pg_statements.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store {

Status PostgresStore::InsertRevocation(const Revocation& revocation, const AccountEvent* event) {
  auto rows = WithFeedEntries(
      event,
      [&](auto& db) {
        return db.Run(pg::kAddRevocation, revocation.id, static_cast<int64_t>(revocation.kind),
                      revocation.expires_at);
      },
      // A re-add that did not extend the row inserted no feed entry: then no event either.
      [](const pg::Rows& inserted) { return inserted.Affected() > 0; });
  if (!rows) return rows.error();
  Notify();
  return Ok{};
}

Status PostgresStore::TakeFeedTurn(pg::Connection& conn) {
  auto rows = conn.Run(pg::kTakeFeedTurn);
  if (!rows) return rows.error();
  return Ok{};
}

Status PostgresStore::RecordOn(pg::Connection& conn, const AccountEvent* event) {
  if (event == nullptr || !kWriteEventRows) return Ok{};
  auto rows = conn.Run(pg::kAddAccountEvent, event->type, event->at_ms, event->username, event->sid,
                       event->client_address, event->user_agent, event->username_key);
  if (!rows) return rows.error();
  return Ok{};
}

Status PostgresStore::InsertEvent(const AccountEvent& event) {
  if (!kWriteEventRows) return Ok{};
  auto rows = pool_.Run(pg::kAddAccountEvent, event.type, event.at_ms, event.username, event.sid,
                        event.client_address, event.user_agent, event.username_key);
  if (!rows) return rows.error();
  return Ok{};
}

Result<std::vector<StoredEvent>> PostgresStore::SelectAccountEvents(const EventQuery& query) {
  auto rows =
      pool_.Run(pg::kListAccountEvents, query.after, query.type, query.username_key, query.limit);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeAccountEvent<pg::Rows::Row>);
}

Result<int64_t> PostgresStore::SelectLastEventId() {
  auto rows = pool_.Run(pg::kLastEventId);
  if (!rows) return rows.error();
  if (rows->Count() != 1)
    return StorageError(ErrorCode::kStorageFailure, "last event id", "no row");
  return rows->Int(0, 0);
}

Result<std::vector<Revocation>> PostgresStore::SelectRevocations(int64_t now) {
  auto rows = pool_.Run(pg::kLoadRevocations, now);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeRevocation<pg::Rows::Row>);
}

Status PostgresStore::UpsertUserRevokedBefore(const std::string& key, int64_t revoked_before) {
  auto rows = WithFeedEntries(
      nullptr, [&](auto& db) { return db.Run(pg::kSetUserRevokedBefore, key, revoked_before); },
      [](const pg::Rows&) { return true; });
  if (!rows) return rows.error();
  Notify();
  return Ok{};
}

Result<int64_t> PostgresStore::KeepFirstFact(const std::string& name, int64_t value) {
  auto rows = pool_.Run(pg::kKeepFirstFact, name, value);
  if (!rows) return rows.error();
  if (rows->Count() != 1)
    return StorageError(ErrorCode::kStorageFailure, "keep first fact", "no row");
  return rows->Int(0, 0);
}

Result<std::vector<UserRevocation>> PostgresStore::SelectUserRevocations() {
  auto rows = pool_.Run(pg::kLoadUserRevocations);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeUserRevocation<pg::Rows::Row>);
}

Result<int64_t> PostgresStore::SelectLatestEvent() {
  auto rows = pool_.Run(pg::kLatestEvent);
  if (!rows) return rows.error();
  return rows->Int(0, 0);
}

Result<std::vector<RevocationEvent>> PostgresStore::SelectEventsSince(int64_t seq, int limit) {
  auto rows = pool_.Run(pg::kEventsSince, seq, limit);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeEvent<pg::Rows::Row>);
}

Result<bool> PostgresStore::SelectRevoked(std::string_view jti, std::string_view sid,
                                          const std::string& key, int64_t issued_at) {
  auto rows = pool_.Run(pg::kIsRevoked, jti, sid, key, issued_at);
  if (!rows) return rows.error();
  return rows->Text(0, 0) == "t";
}

Result<int64_t> PostgresStore::DeleteExpired(Expiring what, int64_t before) {
  const Statement<int64_t>* statement =
      PruneStatement(what, {.sessions = &pg::kPruneSessions,
                            .revocations = &pg::kPruneRevocations,
                            .revocation_events = &pg::kPruneEvents,
                            .user_revocations = &pg::kPruneUserRevocations,
                            .attempts = &pg::kPruneAttempts,
                            .refresh_uses = &pg::kPruneRefreshUses,
                            .account_events = &pg::kPruneAccountEvents});
  auto rows = pool_.Run(*statement, before);
  if (!rows) return rows.error();
  return rows->Affected();
}

std::unique_ptr<FeedWatch> PostgresStore::StartFeedWatch(std::function<void()> on_new_events) {
  if (!notify_) return nullptr;
  return std::make_unique<pg::FeedListener>(url_, std::move(on_new_events));
}

Result<bool> PostgresStore::InsertSigningKey(const StoredKey& key) {
  auto rows = pool_.Run(pg::kAddSigningKey, key.kid, key.algorithm, key.material, key.created_at);
  if (!rows) return rows.error();
  return rows->Affected() == 1;
}

Result<std::vector<StoredKey>> PostgresStore::SelectSigningKeys(std::string_view algorithm) {
  auto rows = pool_.Run(pg::kLoadSigningKeys, algorithm);
  if (!rows) return rows.error();
  return pg::ReadAll(*rows, &DecodeStoredKey<pg::Rows::Row>);
}

Status PostgresStore::DeleteSigningKey(std::string_view kid) {
  auto rows = pool_.Run(pg::kRemoveSigningKey, kid);
  if (!rows) return rows.error();
  return Ok{};
}

Result<int64_t> PostgresStore::TakeSharedAttempt(std::string_view key, RateLimit limit,
                                                 int64_t now_ms, int attempts) {
  auto rows = pool_.Run(pg::kTakeAttempt, pg::AttemptDigest(attempt_digest_key_, key), limit.count,
                        limit.period_seconds * 1000, now_ms, attempts);
  if (!rows) return rows.error();
  const bool has_row = rows->Count() == 1;
  return pg::WaitSeconds(has_row, has_row ? std::stod(rows->Text(0, 0)) : 0.0);
}

}  // namespace gatehouse::store
