// What both backends share below the Store interface: the errors they build, and the decoding
// of a row into the contract's structs. A backend's SELECTs list their columns in the order
// each Decode* reads them. `Row` is any type with Text(column) and Int(column), 0-based.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/statement.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::store {

// "database: <what>: <detail>"; the detail never holds a bound value.
Error StorageError(ErrorCode code, std::string_view what, std::string_view detail);

// A stored kind number read back; kStorageFailure when it names no kind (a newer writer, or
// a damaged row).
Result<RevocationKind> DecodeRevocationKind(int64_t kind, std::string_view what);
Result<RevocationEvent::Kind> DecodeEventKind(int64_t kind, std::string_view what);

// A backend's statements deleting what expired (each `... WHERE <time> <= ?1`), by name.
struct PruneStatements {
  const Statement<int64_t>* sessions;
  const Statement<int64_t>* revocations;
  const Statement<int64_t>* revocation_events;
  const Statement<int64_t>* user_revocations;
  const Statement<int64_t>* attempts;  // nullptr: the backend keeps no attempts
  const Statement<int64_t>* refresh_uses;
  const Statement<int64_t>* account_events;
};
const Statement<int64_t>* PruneStatement(Expiring what, const PruneStatements& statements);

// username, password_hash, created_at, password_version, disabled, claims, reset_code_hash,
// reset_expires_at
template <typename Row>
Result<UserRecord> DecodeUser(const Row& row) {
  return UserRecord{row.Text(0),     row.Text(1), row.Int(2),  row.Int(3),
                    row.Int(4) != 0, row.Text(5), row.Text(6), row.Int(7)};
}

// username, created_at, disabled, claims: a listing carries no hash and no reset code
template <typename Row>
Result<UserRecord> DecodeListedUser(const Row& row) {
  return UserRecord{row.Text(0), {}, row.Int(1), 0, row.Int(2) != 0, row.Text(3)};
}

// id, kind, expires_at
template <typename Row>
Result<Revocation> DecodeRevocation(const Row& row) {
  Result<RevocationKind> kind = DecodeRevocationKind(row.Int(1), "load revocations");
  if (!kind) return kind.error();
  return Revocation{row.Text(0), *kind, row.Int(2)};
}

// sid, expires_at: a session ended by revoking every token of its user
template <typename Row>
Result<Revocation> DecodeEndedSession(const Row& row) {
  return Revocation{row.Text(0), RevocationKind::kSession, row.Int(1)};
}

// sid, username, created_at, expires_at, last_used_at, client_address, user_agent,
// refresh_jti, generation
template <typename Row>
Result<SessionRecord> DecodeSession(const Row& row) {
  return SessionRecord{row.Text(0), row.Text(1), row.Int(2),  row.Int(3), row.Int(4),
                       row.Text(5), row.Text(6), row.Text(7), row.Int(8)};
}

// sid, used_at, sealed_answer, session_live (0/1)
template <typename Row>
Result<RefreshUse> DecodeRefreshUse(const Row& row) {
  return RefreshUse{row.Text(0), row.Int(1), row.Text(2), row.Int(3) != 0};
}

// The session columns DecodeSession reads, for both backends' SELECTs (users joined for the
// name as given).
#define GH_SESSION_COLUMNS                                                                    \
  "s.sid, u.username, s.created_at, s.expires_at, s.last_used_at, s.client_address, "         \
  "s.user_agent, s.refresh_jti, s.generation FROM sessions s JOIN users u ON u.username_key " \
  "= s.username_key"

// username_key, revoked_before
template <typename Row>
Result<UserRevocation> DecodeUserRevocation(const Row& row) {
  return UserRevocation{row.Text(0), row.Int(1)};
}

// seq, subject, kind, value
template <typename Row>
Result<RevocationEvent> DecodeEvent(const Row& row) {
  Result<RevocationEvent::Kind> kind = DecodeEventKind(row.Int(2), "revocations since");
  if (!kind) return kind.error();
  return RevocationEvent{row.Int(0), *kind, row.Text(1), row.Int(3)};
}

// id, type, at, username, sid, client_address, user_agent, username_key
template <typename Row>
Result<StoredEvent> DecodeAccountEvent(const Row& row) {
  return StoredEvent{row.Int(0), AccountEvent{row.Text(1), row.Int(2), row.Text(3), row.Text(4),
                                              row.Text(5), row.Text(6), row.Text(7)}};
}
#define GH_ACCOUNT_EVENT_COLUMNS \
  "id, type, at, username, sid, client_address, user_agent, username_key FROM events"

// kid, algorithm, material, created_at
template <typename Row>
Result<StoredKey> DecodeStoredKey(const Row& row) {
  return StoredKey{row.Text(0), row.Text(1), row.Text(2), row.Int(3)};
}

}  // namespace gatehouse::store
