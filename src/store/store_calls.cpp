// Store's public calls: the rules both backends share, written once above their hooks.
#include <algorithm>
#include <utility>

#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace gatehouse::store {
namespace {

Error NoSuchUser(std::string_view what) {
  return StorageError(ErrorCode::kNotFound, what, "no such user");
}

// A hook's "no row" (nullopt) is the contract's kNotFound.
Result<UserTokensRevoked> FoundOrNotFound(Result<std::optional<UserTokensRevoked>> done,
                                          std::string_view what) {
  if (!done) return done.error();
  if (!*done) return NoSuchUser(what);
  return std::move(**done);
}

}  // namespace

Error StorageError(ErrorCode code, std::string_view what, std::string_view detail) {
  std::string message = "database: ";
  message.append(what).append(": ").append(detail);
  return Error{code, std::move(message)};
}

Result<RevocationKind> DecodeRevocationKind(int64_t kind, std::string_view what) {
  if (kind == static_cast<int64_t>(RevocationKind::kToken)) return RevocationKind::kToken;
  if (kind == static_cast<int64_t>(RevocationKind::kSession)) return RevocationKind::kSession;
  return StorageError(ErrorCode::kStorageFailure, what, "unknown kind " + std::to_string(kind));
}

Result<RevocationEvent::Kind> DecodeEventKind(int64_t kind, std::string_view what) {
  if (kind < 0 || kind > static_cast<int64_t>(RevocationEvent::Kind::kUser)) {
    return StorageError(ErrorCode::kStorageFailure, what, "event of unknown kind");
  }
  return static_cast<RevocationEvent::Kind>(kind);
}

const Statement<int64_t>* PruneStatement(Expiring what, const PruneStatements& statements) {
  switch (what) {
    case Expiring::kSessions:
      return statements.sessions;
    case Expiring::kRevocations:
      return statements.revocations;
    case Expiring::kRevocationEvents:
      return statements.revocation_events;
    case Expiring::kUserRevocations:
      return statements.user_revocations;
    case Expiring::kAttempts:
      return statements.attempts;
  }
  return nullptr;
}

Status Store::CreateUser(const UserRecord& user) {
  Status done = InsertUser(user, UsernameKey(user.username));
  if (!done && done.error().code == ErrorCode::kConflict) {
    return StorageError(ErrorCode::kConflict, "create user", "username is taken");
  }
  return done;
}

Result<std::optional<UserRecord>> Store::FindUser(std::string_view username) {
  return SelectUser(UsernameKey(username));
}

Status Store::UpdatePasswordHash(std::string_view username, std::string_view hash) {
  Result<bool> updated = UpdateHash(UsernameKey(username), hash);
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("update password hash");
  return Ok{};
}

Result<UserTokensRevoked> Store::RemoveUser(std::string_view username, int64_t revoked_before) {
  return FoundOrNotFound(DeleteUserRevoking(UsernameKey(username), revoked_before), "remove user");
}

Status Store::CreateSession(const SessionRecord& session, int64_t password_version) {
  Result<bool> recorded = InsertSession(session, UsernameKey(session.username), password_version);
  if (!recorded) return recorded.error();
  if (!*recorded) {
    return StorageError(ErrorCode::kConflict, "create session", "the password changed");
  }
  return Ok{};
}

Result<UserTokensRevoked> Store::RevokeUserTokens(std::string_view username,
                                                  int64_t revoked_before) {
  return RevokeUser(UsernameKey(username), revoked_before);
}

Result<UserTokensRevoked> Store::ChangePassword(std::string_view username, std::string_view hash,
                                                int64_t revoked_before) {
  return FoundOrNotFound(ChangeHashRevoking(UsernameKey(username), hash, revoked_before),
                         "change password");
}

Result<int64_t> Store::PruneSessions(int64_t now) {
  return DeleteExpired(Expiring::kSessions, now);
}

Result<int64_t> Store::SessionsRecordedSince() { return SelectSessionsRecordedSince(); }

Result<std::vector<UserRecord>> Store::ListUsers(std::string_view after_key, int limit,
                                                 std::string_view prefix) {
  if (prefix.empty()) return SelectUsers(after_key, limit, {}, {});
  // Every key starting with the prefix sorts before the prefix with its last byte raised; a
  // last byte of 0xFF cannot occur in UTF-8, and callers bound prefixes to username bytes.
  const std::string prefix_key = UsernameKey(prefix);
  std::string prefix_end = prefix_key;
  prefix_end.back() = static_cast<char>(static_cast<unsigned char>(prefix_end.back()) + 1);
  // The range starts at the later of the cursor and the prefix (the cursor itself excluded).
  return SelectUsers(after_key, limit, std::max(prefix_key, std::string(after_key)), prefix_end);
}

Result<UserTokensRevoked> Store::SetDisabled(std::string_view username, bool disabled,
                                             int64_t revoked_before) {
  const std::string key = UsernameKey(username);
  if (disabled) return FoundOrNotFound(DisableRevoking(key, revoked_before), "disable user");
  Result<bool> updated = UpdateUser(key, UserUpdate{UserUpdate::Field::kEnable, {}, 0});
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("enable user");
  return UserTokensRevoked{UserRevocation{key, 0}, {}, 0};
}

Status Store::SetClaims(std::string_view username, std::string_view claims) {
  Result<bool> updated =
      UpdateUser(UsernameKey(username), UserUpdate{UserUpdate::Field::kClaims, claims, 0});
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("set claims");
  return Ok{};
}

Status Store::SetResetCode(std::string_view username, std::string_view code_hash,
                           int64_t expires_at) {
  Result<bool> updated = UpdateUser(
      UsernameKey(username), UserUpdate{UserUpdate::Field::kResetCode, code_hash, expires_at});
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("set reset code");
  return Ok{};
}

Result<UserTokensRevoked> Store::ResetPassword(std::string_view username,
                                               std::string_view code_hash, std::string_view hash,
                                               int64_t now, int64_t revoked_before) {
  auto reset =
      ResetHashRevoking(UsernameKey(username), PasswordReset{code_hash, hash, now}, revoked_before);
  if (!reset) return reset.error();
  if (!*reset) return StorageError(ErrorCode::kConflict, "reset password", "no such code");
  return std::move(**reset);
}

Status Store::Ping() { return Probe(); }

Status Store::AddRevocation(const Revocation& revocation) { return InsertRevocation(revocation); }

Result<int64_t> Store::ImportUsers(const std::vector<UserRecord>& users) {
  std::vector<KeyedUser> keyed;
  keyed.reserve(users.size());
  for (const UserRecord& user : users)
    keyed.push_back(KeyedUser{UsernameKey(user.username), &user});
  return InsertNewUsers(keyed);
}

Result<int64_t> Store::ImportRevocations(const std::vector<Revocation>& revocations) {
  return InsertNewRevocations(revocations);
}

Result<std::vector<Revocation>> Store::LoadRevocations(int64_t now) {
  return SelectRevocations(now);
}

Result<int64_t> Store::PruneRevocations(int64_t now) {
  return DeleteExpired(Expiring::kRevocations, now);
}

Status Store::SetUserRevokedBefore(const UserRevocation& revocation) {
  // Normalised again so a caller passing the username as typed still hits the same row.
  return UpsertUserRevokedBefore(UsernameKey(revocation.username_key), revocation.revoked_before);
}

Result<std::vector<UserRevocation>> Store::LoadUserRevocations() { return SelectUserRevocations(); }

Result<int64_t> Store::LatestRevocationEvent() { return SelectLatestEvent(); }

Result<std::vector<RevocationEvent>> Store::RevocationsSince(int64_t seq, int limit) {
  return SelectEventsSince(seq, limit);
}

Result<int64_t> Store::PruneRevocationEvents(int64_t before) {
  return DeleteExpired(Expiring::kRevocationEvents, before);
}

Result<int64_t> Store::PruneUserRevocations(int64_t before) {
  return DeleteExpired(Expiring::kUserRevocations, before);
}

Result<bool> Store::IsRevoked(std::string_view jti, std::string_view sid, std::string_view username,
                              int64_t issued_at) {
  return SelectRevoked(jti, sid, UsernameKey(username), issued_at);
}

std::unique_ptr<FeedWatch> Store::WatchRevocationFeed(std::function<void()> on_new_events) {
  return StartFeedWatch(std::move(on_new_events));
}

Result<bool> Store::AddSigningKey(const StoredKey& key) { return InsertSigningKey(key); }

Result<std::vector<StoredKey>> Store::LoadSigningKeys(std::string_view algorithm) {
  return SelectSigningKeys(algorithm);
}

Status Store::RemoveSigningKey(std::string_view kid) { return DeleteSigningKey(kid); }

Result<int64_t> Store::TakeAttempt(std::string_view key, RateLimit limit, int64_t now_ms,
                                   int attempts) {
  // A store of one process counts nothing: its server's in-memory limiters count alone.
  if (!shared_ || !limit.enabled()) return 0;
  return TakeSharedAttempt(key, limit, now_ms, attempts);
}

Result<int64_t> Store::PruneAttempts(int64_t now_ms) {
  if (!shared_) return 0;
  return DeleteExpired(Expiring::kAttempts, now_ms);
}

Result<int64_t> Store::TakeSharedAttempt(std::string_view, RateLimit, int64_t, int) { return 0; }

}  // namespace gatehouse::store
