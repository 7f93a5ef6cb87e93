// Store's public calls: the rules both backends share, written once above their hooks.
#include <algorithm>
#include <chrono>
#include <utility>

#include "store/store.hpp"
#include "store/store_rows.hpp"
#include "util/utf8.hpp"

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

std::string EventUsername(std::string_view username) {
  return CleanTypedText(username, kMaxEventUsernameBytes);
}

AccountEvent NewEvent(std::string type, std::string_view username, const UsernameKey& key,
                      std::string sid, const SessionUse& use) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // Lower-casing ASCII letters changes no byte count and no replaced character, so the key's
  // cleaned form is the cleaned username's key: the filter finds the name as typed.
  return AccountEvent{std::move(type),    now_ms,         EventUsername(username), std::move(sid),
                      use.client_address, use.user_agent, EventUsername(key.str())};
}

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
    case Expiring::kRefreshUses:
      return statements.refresh_uses;
    case Expiring::kAccountEvents:
      return statements.account_events;
  }
  return nullptr;
}

Status Store::CreateUser(const UserRecord& user, const UsernameKey& key,
                         const AccountEvent* event) {
  Status done = InsertUser(user, key.str(), event);
  if (!done && done.error().code == ErrorCode::kConflict) {
    return StorageError(ErrorCode::kConflict, "create user", "username is taken");
  }
  return done;
}

Result<std::optional<UserRecord>> Store::FindUser(const UsernameKey& key) {
  return SelectUser(key.str());
}

Status Store::UpdatePasswordHash(const UsernameKey& key, std::string_view hash) {
  Result<bool> updated = UpdateHash(key.str(), hash);
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("update password hash");
  return Ok{};
}

Result<UserTokensRevoked> Store::RemoveUser(const UsernameKey& key, int64_t revoked_before,
                                            const AccountEvent* event) {
  return FoundOrNotFound(DeleteUserRevoking(key.str(), revoked_before, event), "remove user");
}

Status Store::CreateSession(const SessionRecord& session, const UsernameKey& key,
                            int64_t password_version, const AccountEvent* event) {
  Result<bool> recorded = InsertSession(session, key.str(), password_version, event);
  if (!recorded) return recorded.error();
  if (!*recorded) {
    return StorageError(ErrorCode::kConflict, "create session", "the password changed");
  }
  return Ok{};
}

Result<UserTokensRevoked> Store::RevokeUserTokens(const UsernameKey& key, int64_t revoked_before,
                                                  const AccountEvent* event) {
  return RevokeUser(key.str(), revoked_before, event);
}

Result<UserTokensRevoked> Store::ChangePassword(const UsernameKey& key, std::string_view hash,
                                                int64_t revoked_before, const AccountEvent* event) {
  return FoundOrNotFound(ChangeHashRevoking(key.str(), hash, revoked_before, event),
                         "change password");
}

Result<std::vector<SessionRecord>> Store::ListSessions(const UsernameKey& key, int64_t now,
                                                       int64_t idle_since) {
  return SelectSessions(key.str(), now, idle_since);
}

Result<std::optional<Revocation>> Store::EndSession(const UsernameKey& key, std::string_view sid,
                                                    const AccountEvent* event) {
  return DeleteSession(key.str(), sid, event);
}

Result<std::vector<Revocation>> Store::EndIdleSessions(int64_t idle_since) {
  return DeleteIdleSessions(idle_since);
}

Result<bool> Store::TouchSession(std::string_view sid, const SessionUse& use, int64_t idle_since) {
  return UpdateSessionUse(sid, use, idle_since);
}

Result<std::optional<SessionRecord>> Store::FindSession(std::string_view sid) {
  return SelectSession(sid);
}

// Rotation's decisions, the same on every backend. Each write is one transaction of the
// backend's. The common case, the session's current token, is tried first: one compare-and-set
// and nothing read (on PostgreSQL one round trip instead of five, the measured cost of issue 16's
// rotation row). It can only succeed for the current token of a live session, which is exactly
// when the reads below would have led to the same compare-and-set: a used token is never current
// again (each rotation sets a fresh random jti), and the compare checks the idle cut itself.
//
// When it fails, the token was used (a replay, or a reuse), is of an older lineage, its session
// ended or went idle, or the session was recorded before rotation existed. The order of reads
// below makes a lost race land on the right answer: the compare-and-set and the record of the
// used jti commit together, so a refresh that loses the compare finds the winner's record when
// it reads again.
Result<RotationOutcome> Store::RotateRefresh(const RotationRequest& request) {
  using Kind = RotationOutcome::Kind;
  Result<bool> current = CompareAndRotate(request, request.presented_jti);
  if (!current) return current.error();
  if (*current) return RotationOutcome{Kind::kRotated, {}, 0};
  Result<std::optional<RotationOutcome>> used = UsedTokenOutcome(request);
  if (!used) return used.error();
  if (*used) return std::move(**used);
  Result<std::optional<SessionRecord>> session = SelectSession(request.sid);
  if (!session) return session.error();
  if (!*session || (*session)->last_used_at < request.idle_since) {
    return RotationOutcome{Kind::kEnded, {}, 0};
  }
  // A session recorded before rotation existed has no current jti: any of its tokens is.
  if ((*session)->refresh_jti.empty()) {
    Result<bool> rotated = CompareAndRotate(request, std::string_view());
    if (!rotated) return rotated.error();
    if (*rotated) return RotationOutcome{Kind::kRotated, {}, 0};
  }
  // Lost the compare, or not the current token: used meanwhile (a concurrent refresh of the
  // same token), or a token of an older lineage.
  used = UsedTokenOutcome(request);
  if (!used) return used.error();
  if (*used) return std::move(**used);
  return Reuse(request);
}

Result<std::optional<RotationOutcome>> Store::UsedTokenOutcome(const RotationRequest& request) {
  using Kind = RotationOutcome::Kind;
  Result<std::optional<RefreshUse>> use = SelectRefreshUse(request.presented_jti);
  if (!use) return use.error();
  if (!*use) return std::optional<RotationOutcome>();
  if ((*use)->sid != request.sid || !(*use)->session_live) {
    return std::optional<RotationOutcome>(RotationOutcome{Kind::kEnded, {}, 0});
  }
  if (request.use.at - (*use)->used_at <= request.reuse_interval) {
    return std::optional<RotationOutcome>(
        RotationOutcome{Kind::kReplay, std::move((*use)->sealed_answer), 0});
  }
  Result<RotationOutcome> reused = Reuse(request);
  if (!reused) return reused.error();
  return std::optional<RotationOutcome>(std::move(*reused));
}

Result<RotationOutcome> Store::Reuse(const RotationRequest& request) {
  using Kind = RotationOutcome::Kind;
  const AccountEvent event{
      "refresh_token.reused",     request.at_ms,          request.username,    request.sid,
      request.use.client_address, request.use.user_agent, request.username_key};
  Result<std::optional<Revocation>> revoked = DeleteSession({}, request.sid, &event);
  if (!revoked) return revoked.error();
  if (!*revoked) return RotationOutcome{Kind::kEnded, {}, 0};
  return RotationOutcome{Kind::kReused, {}, (*revoked)->expires_at};
}

Result<RotationOutcome::Kind> Store::PreviewRotation(const RotationRequest& request) {
  using Kind = RotationOutcome::Kind;
  Result<std::optional<RefreshUse>> use = SelectRefreshUse(request.presented_jti);
  if (!use) return use.error();
  if (*use) {
    if ((*use)->sid != request.sid || !(*use)->session_live) return Kind::kEnded;
    return request.use.at - (*use)->used_at <= request.reuse_interval ? Kind::kReplay
                                                                      : Kind::kReused;
  }
  Result<std::optional<SessionRecord>> session = SelectSession(request.sid);
  if (!session) return session.error();
  if (!*session || (*session)->last_used_at < request.idle_since) return Kind::kEnded;
  const std::string& current = (*session)->refresh_jti;
  return current.empty() || current == request.presented_jti ? Kind::kRotated : Kind::kReused;
}

Result<int64_t> Store::PruneRefreshUses(int64_t before) {
  return DeleteExpired(Expiring::kRefreshUses, before);
}

Result<int64_t> Store::PruneSessions(int64_t now) {
  return DeleteExpired(Expiring::kSessions, now);
}

Result<int64_t> Store::SessionsRecordedSince() { return SelectSessionsRecordedSince(); }

Result<std::vector<UserRecord>> Store::ListUsers(std::string_view after_key, int limit,
                                                 const UsernameKey& prefix) {
  const std::string& prefix_key = prefix.str();
  if (prefix_key.empty()) return SelectUsers(after_key, limit, {}, {});
  // Every key starting with the prefix sorts before the prefix with its last byte raised; a
  // last byte of 0xFF cannot occur in UTF-8, and callers bound prefixes to username bytes.
  std::string prefix_end = prefix_key;
  prefix_end.back() = static_cast<char>(static_cast<unsigned char>(prefix_end.back()) + 1);
  // The range starts at the later of the cursor and the prefix (the cursor itself excluded).
  return SelectUsers(after_key, limit, std::max(prefix_key, std::string(after_key)), prefix_end);
}

Result<UserTokensRevoked> Store::SetDisabled(const UsernameKey& key, bool disabled,
                                             int64_t revoked_before, const AccountEvent* event) {
  if (disabled) {
    return FoundOrNotFound(DisableRevoking(key.str(), revoked_before, event), "disable user");
  }
  Result<bool> updated =
      UpdateUser(key.str(), UserUpdate{UserUpdate::Field::kEnable, {}, 0}, event);
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("enable user");
  return UserTokensRevoked{UserRevocation{key.str(), 0}, {}, 0};
}

Status Store::SetClaims(const UsernameKey& key, std::string_view claims,
                        const AccountEvent* event) {
  Result<bool> updated =
      UpdateUser(key.str(), UserUpdate{UserUpdate::Field::kClaims, claims, 0}, event);
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("set claims");
  return Ok{};
}

Status Store::SetResetCode(const UsernameKey& key, std::string_view code_hash, int64_t expires_at,
                           const AccountEvent* event) {
  Result<bool> updated = UpdateUser(
      key.str(), UserUpdate{UserUpdate::Field::kResetCode, code_hash, expires_at}, event);
  if (!updated) return updated.error();
  if (!*updated) return NoSuchUser("set reset code");
  return Ok{};
}

Result<UserTokensRevoked> Store::ResetPassword(const UsernameKey& key, std::string_view code_hash,
                                               std::string_view hash, int64_t now,
                                               int64_t revoked_before, const AccountEvent* event) {
  auto reset =
      ResetHashRevoking(key.str(), PasswordReset{code_hash, hash, now}, revoked_before, event);
  if (!reset) return reset.error();
  if (!*reset) return StorageError(ErrorCode::kConflict, "reset password", "no such code");
  return std::move(**reset);
}

Status Store::Ping() { return Probe(); }

Status Store::AddRevocation(const Revocation& revocation, const AccountEvent* event) {
  return InsertRevocation(revocation, event);
}

void Store::SubmitRevocation(const Revocation& revocation, WriteDone done,
                             const AccountEvent* event) {
  QueueRevocation(revocation, std::move(done), event);
}

void Store::QueueRevocation(const Revocation& revocation, WriteDone done,
                            const AccountEvent* event) {
  done(InsertRevocation(revocation, event));
}

Status Store::RecordEvent(const AccountEvent& event) { return InsertEvent(event); }

Result<std::vector<StoredEvent>> Store::ListEvents(const EventQuery& query) {
  return SelectAccountEvents(query);
}

Result<int64_t> Store::LastEventId() { return SelectLastEventId(); }

Result<int64_t> Store::PruneEvents(int64_t before_ms) {
  return DeleteExpired(Expiring::kAccountEvents, before_ms);
}

Result<int64_t> Store::ImportUsers(const std::vector<UserRecord>& users) {
  std::vector<KeyedUser> keyed;
  keyed.reserve(users.size());
  for (const UserRecord& user : users)
    keyed.push_back(KeyedUser{UsernameKey(user.username).str(), &user});
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
  return UpsertUserRevokedBefore(UsernameKey(revocation.username_key).str(),
                                 revocation.revoked_before);
}

Result<std::vector<UserRevocation>> Store::LoadUserRevocations() { return SelectUserRevocations(); }

Status Store::CutHeldBackName(const UsernameKey& key, int64_t now) {
  // Two writes, not one transaction: a failure between them leaves the first run's time
  // kept, and the next run cuts at that time.
  auto cut = KeepFirstFact("import_cut " + key.str(), now);
  if (!cut) return cut.error();
  return UpsertUserRevokedBefore(key.str(), *cut);
}

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

Result<bool> Store::IsRevoked(std::string_view jti, std::string_view sid, const UsernameKey& key,
                              int64_t issued_at) {
  return SelectRevoked(jti, sid, key.str(), issued_at);
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
