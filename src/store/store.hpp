// The storage contract every backend (SQLite, PostgreSQL) implements. The public calls are
// written once here (store_calls.cpp) over each backend's private hooks, so the rules both
// share (username keys, the contract's errors) cannot drift apart between them.
// Calls may block (disk, network): call them only from worker pools, never from an I/O
// thread. Every method is safe to call from several threads at once.
// Failures: kStorageUnavailable when the database cannot be reached (the caller answers 503
// and retries later), kStorageFailure for any other error; the detail never holds a bound value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/group_commit.hpp"
#include "store/recent_session_uses.hpp"
#include "util/duration.hpp"
#include "util/result.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::store {

// The uniqueness key of a username: its ASCII letters lower-cased ("Alice" and "ALICE" are one
// user; "Ärger" and "ärger" are two). A request makes it once, from the username as given, and
// hands it to every store call, cache and limiter that needs it: no layer below recomputes it.
// The explicit constructor is the only way to compute one, and it counts (Computations), so a
// test can hold a request to exactly one.
class UsernameKey {
 public:
  UsernameKey() = default;  // the empty key (no computation)
  explicit UsernameKey(std::string_view username);
  const std::string& str() const { return key_; }
  friend bool operator==(const UsernameKey&, const UsernameKey&) = default;
  // Keys computed by this process so far (a relaxed counter: one uncontended-in-practice
  // atomic add per computation; read by tests only).
  static uint64_t Computations();

 private:
  std::string key_;
};

struct UserRecord {
  std::string username;       // as first given
  std::string password_hash;  // PHC string ($argon2id$...) or legacy $pbkdf2-sha256$...
  int64_t created_at = 0;     // unix seconds
  // Goes up by one with every password change (not with a re-hash of the same password): a
  // login that checked the password of one version opens no session once it has changed.
  int64_t password_version = 0;
  bool disabled = false;      // no new session while set (API.md §12)
  std::string claims = "{}";  // compact JSON object, merged into access tokens
  // The SHA-256 (hex) of the one pending password-reset code, and when it expires; "" and 0
  // when none. Never in a listing.
  std::string reset_code_hash{};
  int64_t reset_expires_at = 0;
};

// A session: what one login (registration, password change) opened; its refresh token and
// every access token minted from it carry its `sid`. Recorded before its first token is
// answered, so that revoking every token of a user can name each of its sessions.
struct SessionRecord {
  std::string sid;
  std::string username;        // as given; stored by its username key
  int64_t created_at = 0;      // unix seconds
  int64_t expires_at = 0;      // the refresh token's exp: after it the row may be pruned
  int64_t last_used_at = 0;    // unix seconds: started, or its latest refresh
  std::string client_address;  // of its latest use
  std::string user_agent;      // of its latest use, at most kMaxUserAgentBytes
  // The jti of the session's current refresh token (rotation compares and sets it); empty in a
  // session recorded before rotation existed: its first rotation accepts any of its tokens.
  std::string refresh_jti;
  int64_t generation = 0;  // how many rotations the session has seen
};

inline constexpr std::size_t kMaxUserAgentBytes = 256;

// Who made a request that uses a session, as recorded with it.
struct SessionUse {
  int64_t at = 0;  // unix seconds
  std::string client_address;
  std::string user_agent;
};

// One rotation of a session's refresh token, as /token/refresh asks the store for it.
struct RotationRequest {
  std::string sid;
  std::string username;
  std::string presented_jti;  // the jti of the refresh token presented
  std::string new_jti;        // the jti of the refresh token to answer
  // The answer, sealed under a key only the presented token's holder has (auth/sealed_answer):
  // a reader of the database learns nothing usable from it.
  std::string sealed_answer;
  int64_t reuse_interval = 0;  // seconds
  int64_t idle_since = 0;      // a session last used before this has ended (idle timeout)
  int64_t at_ms = 0;           // now, unix milliseconds (the event's time)
  SessionUse use;
  std::string username_key;  // UsernameKey(username).str(), for the event
};

// What the store decided for a RotationRequest, in one serialized transition of the session.
struct RotationOutcome {
  enum class Kind {
    kRotated,  // the presented token was current: now used, new_jti current; durable
    kReplay,   // used within the interval: `sealed_answer` is the answer given then
    kReused,   // used after the interval, or stale: the session is revoked, the event recorded
    kEnded,    // no such live session (ended, revoked, expired): refuse
  };
  Kind kind = Kind::kEnded;
  std::string sealed_answer;  // kReplay
  int64_t expires_at = 0;     // kReused: the revoked session's expiry (for the in-memory set)
};

enum class RevocationKind { kToken = 0, kSession = 1 };

// A revoked token (by jti) or session (by sid); kept until the last token it covers expires.
struct Revocation {
  std::string id;  // the jti or the sid
  RevocationKind kind = RevocationKind::kToken;
  int64_t expires_at = 0;  // unix seconds; after this the row may be pruned
};

// Every token of `username` issued before `revoked_before` is refused (logout everywhere,
// password change, removal).
struct UserRevocation {
  std::string username_key;  // lower-cased username
  int64_t revoked_before = 0;
};

// What revoking every token of a user wrote, for the caller's in-memory revocation set: the
// revoked-before time and each of the user's sessions, now revoked by sid.
struct UserTokensRevoked {
  UserRevocation user;
  std::vector<Revocation> sessions;
  int64_t password_version = 0;  // the user's password version afterwards
};

// One entry of the revocation feed, in commit order. Token and session events carry the jti or
// sid and its expiry; user events carry the username key and the revoked-before time.
struct RevocationEvent {
  enum class Kind { kToken = 0, kSession = 1, kUser = 2 };
  int64_t seq = 0;
  Kind kind = Kind::kToken;
  std::string subject;
  int64_t value = 0;
};

// A signing key kept in the store, so that every instance on a shared database signs and
// verifies with the same keys without copying files.
struct StoredKey {
  std::string kid;        // unique; the RFC 7638 thumbprint, or "hs256" for the HS256 secret
  std::string algorithm;  // "HS256", "EdDSA", "ES256" or "RS256"
  std::string material;   // HS256: the secret string; otherwise a PKCS#8 PEM private key
  int64_t created_at = 0;
};

// A running subscription to the revocation feed's signal; destroying it ends the signal.
class FeedWatch {
 public:
  virtual ~FeedWatch() = default;
  // What gives the signal, for the startup log: "listen/notify" (PostgreSQL: every instance's
  // writes) or "commit" (SQLite: this process's own commits, the only writer).
  virtual const char* Source() const = 0;
};

// What the prune calls delete: rows whose time is at or before the one given.
enum class Expiring {
  kSessions,
  kRevocations,
  kRevocationEvents,
  kUserRevocations,
  kAttempts,
  kRefreshUses,
  kAccountEvents,  // by `at`, unix milliseconds
};

// A used refresh token (rotation), kept for the reuse interval so a replay gets its answer.
struct RefreshUse {
  std::string sid;
  int64_t used_at = 0;
  std::string sealed_answer;
  bool session_live = false;  // whether the session's record still exists
};

// An account event (API.md §12), recorded in the same transaction as what it records. A write
// call that takes `const AccountEvent* event` records it when it changed something (a
// conflict, no such user or no such session records nothing); nullptr records nothing.
struct AccountEvent {
  std::string type;  // e.g. "refresh_token.reused"
  int64_t at_ms = 0;
  std::string username;  // as given (a failed login's may name no user)
  std::string sid;
  std::string client_address;
  std::string user_agent;
  std::string username_key;  // UsernameKey(username).str(), made by the caller: for filtering
};

// An event's username as kept, whatever the caller typed (a failed login may name anything):
// util/utf8.hpp's CleanTypedText (controls, bidirectional formatting characters and bytes that
// are not UTF-8 replaced by U+FFFD), then cut to kMaxEventUsernameBytes on a character
// boundary. GET /admin/events applies it to the key of the name asked for, as NewEvent does to
// the key it keeps, so the name as typed finds its events.
inline constexpr std::size_t kMaxEventUsernameBytes = 256;
std::string EventUsername(std::string_view username);

// An event happening now (at_ms from the system clock), for a request from `use` (its
// client_address and user_agent; `use.at` is not read). Its username and username_key are
// EventUsername of `username` and of `key`.
AccountEvent NewEvent(std::string type, std::string_view username, const UsernameKey& key,
                      std::string sid, const SessionUse& use);

// A recorded event: its id increases in commit order on both backends.
struct StoredEvent {
  int64_t id = 0;
  AccountEvent event;
};

// Which events ListEvents answers: those with id > after, oldest first, at most `limit`;
// `type` and `username_key` (when not empty) must match exactly.
struct EventQuery {
  int64_t after = 0;
  int limit = 100;
  std::string type;
  std::string username_key;
};

class Store {
 public:
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The calls about one user take its UsernameKey, made once by the caller per request.

  // Fails with kConflict when the username is taken (ignoring ASCII case). `key` is
  // UsernameKey(user.username).
  Status CreateUser(const UserRecord& user, const UsernameKey& key,
                    const AccountEvent* event = nullptr);
  // nullopt when there is no such user (ASCII case ignored).
  Result<std::optional<UserRecord>> FindUser(const UsernameKey& key);
  // Replaces the hash of the same password (a re-hash to current parameters): the password
  // version stays. A new password goes through ChangePassword. kNotFound when there is no user.
  Status UpdatePasswordHash(const UsernameKey& key, std::string_view hash);

  // Removes the user and, in the same transaction, revokes every token of the user as
  // RevokeUserTokens does. kNotFound when there is no such user.
  Result<UserTokensRevoked> RemoveUser(const UsernameKey& key, int64_t revoked_before,
                                       const AccountEvent* event = nullptr);

  // Records a session of an existing user, but only while the user's password version is
  // still `password_version`: kConflict when it changed (or the user was removed) since the
  // caller read it. Ordered against ChangePassword and RemoveUser: a session recorded first is
  // ended by them, a session recorded after them fails here. `key` is the session's user's.
  Status CreateSession(const SessionRecord& session, const UsernameKey& key,
                       int64_t password_version, const AccountEvent* event = nullptr);
  // In one transaction: every token of the user issued before `revoked_before` is refused, and
  // every recorded session of the user is revoked by its sid (which covers its tokens issued
  // in the second of `revoked_before` too) and forgotten. Durable when it returns ok; appends
  // each to the revocation feed.
  Result<UserTokensRevoked> RevokeUserTokens(const UsernameKey& key, int64_t revoked_before,
                                             const AccountEvent* event = nullptr);
  // In one transaction: stores the new hash, raises the password version, and revokes every
  // token of the user as RevokeUserTokens does. kNotFound when there is no such user.
  Result<UserTokensRevoked> ChangePassword(const UsernameKey& key, std::string_view hash,
                                           int64_t revoked_before,
                                           const AccountEvent* event = nullptr);
  // The user's live sessions (not expired at `now`, used at or after `idle_since`), most
  // recently used first.
  Result<std::vector<SessionRecord>> ListSessions(const UsernameKey& key, int64_t now,
                                                  int64_t idle_since);
  // Ends one session of `username` (if `username` is empty: of whoever owns it): deletes its
  // record and revokes its sid (with its feed entry) in one transaction, durable when it
  // returns. nullopt when there is no such recorded session of that user.
  Result<std::optional<Revocation>> EndSession(const UsernameKey& key, std::string_view sid,
                                               const AccountEvent* event = nullptr);
  // Ends every session last used before `idle_since`, as EndSession does; returns them.
  Result<std::vector<Revocation>> EndIdleSessions(int64_t idle_since);
  // Records a use (a refresh without rotation) of a session. False: no such session, or it
  // was last used before `idle_since`.
  Result<bool> TouchSession(std::string_view sid, const SessionUse& use, int64_t idle_since);
  // False when a TouchSession of sid's use at `second` from this client would change nothing
  // because this process already recorded the same use this second (RecentSessionUses); the
  // caller then skips it. On the request's own views, so that a skipped use builds no strings:
  // the same address and User-Agent as sent make the same record (the user agent is cut only
  // when written), and two that differ only past the cut are written both, as before the filter.
  bool ClaimSessionUse(std::string_view sid, int64_t second, std::string_view client_address,
                       std::string_view user_agent) {
    return recent_uses_.Claim(sid, second, client_address, user_agent);
  }
  // The claimed use was not recorded (TouchSession failed): the next one is written again.
  void ForgetSessionUse(std::string_view sid) { recent_uses_.Forget(sid); }
  // A session's record; nullopt when there is none.
  Result<std::optional<SessionRecord>> FindSession(std::string_view sid);
  // One refresh under rotation: a compare-and-set of the session's current refresh jti, the
  // used jti and its sealed answer recorded in the same transaction; a reuse revokes the
  // session and records the event `refresh_token.reused` in one transaction. Durable before
  // it returns; serialized per session across every process sharing the store.
  Result<RotationOutcome> RotateRefresh(const RotationRequest& request);
  // The same decision, answered through `done` (on a store thread, once the transition is
  // durable) instead of by blocking. On a group-committing store (SQLite) the whole decision,
  // its reads included, is one write of the group commit: the calling thread is free at once,
  // and concurrent rotations share one transaction and one fsync. Elsewhere it blocks as
  // RotateRefresh does, then calls `done`.
  using RotationDone = std::function<void(Result<RotationOutcome>)>;
  void SubmitRotation(const RotationRequest& request, RotationDone done) {
    QueueRotation(request, std::move(done));
  }
  // What RotateRefresh would decide for `request` now, without writing anything (introspection
  // says whether a refresh with the token would succeed): kRotated for the session's current
  // token, kReplay for a used one within the interval, kReused for a used one after it or a
  // stale one, kEnded for no live session. Only `sid`, `presented_jti`, `reuse_interval`,
  // `idle_since` and `use.at` are read.
  Result<RotationOutcome::Kind> PreviewRotation(const RotationRequest& request);
  // Drops used refresh tokens recorded at or before `before` (unix seconds): once their reuse
  // interval has passed, a used token is refused as not current, the same answer.
  Result<int64_t> PruneRefreshUses(int64_t before);
  // Deletes sessions whose refresh token expired at or before `now`; returns how many went.
  Result<int64_t> PruneSessions(int64_t now);
  // When this database began recording sessions (unix seconds, the database's clock): tokens
  // issued before it belong to sessions it has no record of.
  Result<int64_t> SessionsRecordedSince();
  // Up to `limit` users whose username key sorts after `after_key` (empty: from the start) and
  // starts with `prefix` (ASCII case ignored; empty: any), in key order, without password
  // hashes or reset codes. One index range per page, whatever the number of users.
  Result<std::vector<UserRecord>> ListUsers(std::string_view after_key, int limit,
                                            const UsernameKey& prefix = {});
  // Disabling sets the flag and, in the same transaction, revokes every token of the user as
  // RevokeUserTokens does; from then on CreateSession and ResetPassword refuse the user.
  // Enabling clears the flag only (nothing revoked: `sessions` empty). kNotFound: no user.
  Result<UserTokensRevoked> SetDisabled(const UsernameKey& key, bool disabled,
                                        int64_t revoked_before,
                                        const AccountEvent* event = nullptr);
  // Replaces the user's claims (compact JSON, checked by the caller). kNotFound: no user.
  Status SetClaims(const UsernameKey& key, std::string_view claims,
                   const AccountEvent* event = nullptr);
  // Replaces the user's pending reset code (its hash) and expiry. kNotFound: no user.
  Status SetResetCode(const UsernameKey& key, std::string_view code_hash, int64_t expires_at,
                      const AccountEvent* event = nullptr);
  // In one transaction, only while the user's pending code hash is `code_hash`, unexpired at
  // `now` and the user is not disabled: spends the code, stores the new hash, raises the
  // password version and revokes every token as ChangePassword does. kConflict otherwise.
  Result<UserTokensRevoked> ResetPassword(const UsernameKey& key, std::string_view code_hash,
                                          std::string_view hash, int64_t now,
                                          int64_t revoked_before,
                                          const AccountEvent* event = nullptr);
  // Ok when the storage answers a trivial query.
  Status Ping();
  // Cheap and without waiting on the store's lock or threads (any thread, the I/O threads too):
  // kStorageUnavailable when what this store writes to is known to be gone (SQLite: its file
  // deleted or replaced under the server), so that an answer that would rest on a write made
  // after it (a refresh's record of its session's use) is refused instead. Ok otherwise; on a
  // store without such a check (PostgreSQL: the revocation feed's health stands for it) always.
  Status CheckReachable() const { return StillReachable(); }

  // Durable (on disk, fsync'd) when it returns ok. Re-adding an existing id succeeds.
  // Also appends to the revocation feed, in the same transaction.
  Status AddRevocation(const Revocation& revocation, const AccountEvent* event = nullptr);
  // The same write, answered through `done` (on a store thread, with ok once the revocation is
  // durable) instead of by blocking: on a group-committing store (SQLite) the calling thread is
  // free at once and the write waits for its batch's fsync without holding a thread. On other
  // backends it blocks as AddRevocation does. Call it from worker pools, as any store call.
  void SubmitRevocation(const Revocation& revocation, WriteDone done,
                        const AccountEvent* event = nullptr);
  // How many durable writes and transactions the group commit has run: writes / batches is the
  // writes each fsync carried. On PostgreSQL, the rotations its batches carried out and the
  // batches that carried any (store/rotation_batches.hpp); zero on a store without either.
  GroupCommit::Counts DurableWriteCounts() const { return WriteCounts(); }

  // Bulk import (gatehouse import-flask): one transaction per call; rows whose username key or
  // revocation id already exists are left exactly as they are, so importing twice changes
  // nothing. Return how many rows were new. Imported revocations do not enter the feed:
  // servers load them at their next start.
  Result<int64_t> ImportUsers(const std::vector<UserRecord>& users);
  Result<int64_t> ImportRevocations(const std::vector<Revocation>& revocations);
  // Revocations with expires_at > now, for loading the in-memory set at start-up.
  Result<std::vector<Revocation>> LoadRevocations(int64_t now);
  // Deletes revocations with expires_at <= now; returns how many went.
  Result<int64_t> PruneRevocations(int64_t now);

  // Keeps the later of the stored and the given time. Durable when it returns ok. Also
  // appends to the revocation feed, in the same transaction.
  Status SetUserRevokedBefore(const UserRevocation& revocation);
  Result<std::vector<UserRevocation>> LoadUserRevocations();
  // gatehouse import-flask's cut of a name it holds back: SetUserRevokedBefore at the time of
  // the first import that held the name back. That time is kept (store_facts) the first time
  // and reused, so a re-run cuts at the same second instead of logging the name out again.
  Status CutHeldBackName(const UsernameKey& key, int64_t now);

  // The feed's latest sequence number (0 when empty): read it before loading revocations, then
  // poll RevocationsSince from it. Numbers grow with each append, but on a shared database an
  // entry can become visible after entries numbered above it (PostgreSQL hands out the number
  // before the commit): a follower re-reads a window behind its cursor (auth::RevocationSync
  // does) and nothing is missed, unless FeedVisibleInSeqOrder.
  Result<int64_t> LatestRevocationEvent();
  // True when no entry can become visible after one numbered above it, whoever writes it, so a
  // follower need not re-read behind its cursor. SQLite: one writer at a time numbers and commits
  // each entry. PostgreSQL: gatehouse's writers take the feed's turn, but a writer that does not
  // (an older build, a hand-written INSERT) could still commit out of order.
  bool FeedVisibleInSeqOrder() const { return FeedSerializedByEngine(); }
  Result<std::vector<RevocationEvent>> RevocationsSince(int64_t seq, int limit);
  // Drops feed entries written at or before `before` (unix seconds).
  Result<int64_t> PruneRevocationEvents(int64_t before);
  // Drops user revoked-before times at or before `before`: once every token issued before
  // them has expired they refuse nothing.
  Result<int64_t> PruneUserRevocations(int64_t before);

  // Asks the database itself whether a token is revoked: its jti or sid, or its user's
  // revoked-before time after `issued_at`. For the refresh path on a shared database, where
  // another instance's revocation may not have reached this one's memory yet.
  Result<bool> IsRevoked(std::string_view jti, std::string_view sid, const UsernameKey& key,
                         int64_t issued_at);

  // Calls `on_new_events` (on a thread of the store's) whenever another process may have
  // appended to the revocation feed, so that the feed is polled at once instead of at the
  // next interval, until the returned watch is destroyed. nullptr when the backend has no
  // such signal: then polling alone serves.
  std::unique_ptr<FeedWatch> WatchRevocationFeed(std::function<void()> on_new_events);

  // The event log (API.md §12). RecordEvent: an event that changes nothing else (a failed or
  // throttled login); durable when it returns ok.
  Status RecordEvent(const AccountEvent& event);
  // A page of events; a caller that wants the next page asks again with `after` set to the
  // last id it got (or keeps `after` when the page was empty). For GET /admin/events.
  Result<std::vector<StoredEvent>> ListEvents(const EventQuery& query);
  // The highest event id ever given (0: none yet), pruned events included: ids are never given
  // twice, so a cursor above it was not given by this database.
  Result<int64_t> LastEventId();
  // Drops events recorded at or before `before_ms` (unix milliseconds): events.retention.
  Result<int64_t> PruneEvents(int64_t before_ms);

  // Webhook delivery cursors (API.md §12), one per URL under `url_key` (a digest of the URL):
  // the id of the last event delivered to it. ClaimWebhookCursor creates the cursor at the
  // newest event when there is none, then takes (or renews) its lease for `owner` until
  // `lease_until_ms` unless another owner's lease is still running at `now_ms`; it answers the
  // cursor, or nullopt when another owner holds it. AdvanceWebhookCursor moves it forward to
  // `delivered` and renews the lease; false when `owner` no longer holds it.
  Result<std::optional<int64_t>> ClaimWebhookCursor(std::string_view url_key,
                                                    std::string_view owner, int64_t now_ms,
                                                    int64_t lease_until_ms);
  Result<bool> AdvanceWebhookCursor(std::string_view url_key, std::string_view owner,
                                    int64_t delivered, int64_t lease_until_ms);

  // Adds a signing key. When a key with the same kid exists, the stored one stays (two
  // instances creating the HS256 secret at once agree on one); returns whether it was new.
  Result<bool> AddSigningKey(const StoredKey& key);
  // The keys of `algorithm`, oldest first (created_at, then kid).
  Result<std::vector<StoredKey>> LoadSigningKeys(std::string_view algorithm);
  // Deletes a key; ok when there is none with that kid.
  Status RemoveSigningKey(std::string_view kid);

  // Brute-force counting shared by every instance on this store: takes `attempts` (1, or -1 to
  // give one back) from the token bucket of `key` under `limit`, at `now_ms` (unix milliseconds),
  // in one atomic statement. Returns 0 when taken, else the whole seconds (>= 1) until one will
  // be; nothing is taken then. The row holds a 16-byte digest of `key` under a key every
  // instance shares, so its size does not depend on the key's. A store of one process (SQLite)
  // counts nothing and returns 0: that server's in-memory limiters count alone.
  Result<int64_t> TakeAttempt(std::string_view key, RateLimit limit, int64_t now_ms, int attempts);
  // Deletes buckets full again by `now_ms` (the same as none); returns how many went.
  Result<int64_t> PruneAttempts(int64_t now_ms);

  // True when several gatehouse instances may share this store (PostgreSQL): signing keys
  // then live in the store, and refresh tokens are checked against it.
  bool IsShared() const { return shared_; }

 protected:
  explicit Store(bool shared) : shared_(shared) {}

  // One change of a user's row that revokes nothing: enabling, claims, a new reset code.
  struct UserUpdate {
    enum class Field { kEnable, kClaims, kResetCode } field;
    std::string_view text;  // the claims, or the reset code's hash
    int64_t number = 0;     // the reset code's expiry
  };
  // What a password reset is conditional on, and the new hash.
  struct PasswordReset {
    std::string_view code_hash;
    std::string_view hash;
    int64_t now = 0;
  };

  // A user to import, with its username key.
  struct KeyedUser {
    std::string key;
    const UserRecord* user;
  };

 private:
  RecentSessionUses recent_uses_;

  // RotateRefresh's steps: the answer for a jti already used (nullopt: not used), and a reuse.
  Result<std::optional<RotationOutcome>> UsedTokenOutcome(const RotationRequest& request);
  Result<RotationOutcome> Reuse(const RotationRequest& request);

  // The backend's half (the non-virtual interface idiom): the calls above normalise every
  // username to its key (`key` below is always a UsernameKey's, made by the caller), turn "no such
  // row" answers into the contract's errors, and apply the rules both backends share; a hook only
  // reads or writes rows, and fails only as the contract's failures say (kStorageUnavailable,
  // kStorageFailure; kConflict where noted).
  virtual Status InsertUser(const UserRecord& user, const std::string& key,
                            const AccountEvent* event) = 0;  // kConflict: taken
  virtual Result<std::optional<UserRecord>> SelectUser(const std::string& key) = 0;
  virtual Result<bool> UpdateHash(const std::string& key,
                                  std::string_view hash) = 0;  // false: none
  // nullopt (nothing written) when no user has the key.
  virtual Result<std::optional<UserTokensRevoked>> DeleteUserRevoking(
      const std::string& key, int64_t revoked_before, const AccountEvent* event) = 0;
  virtual Result<std::optional<UserTokensRevoked>> ChangeHashRevoking(
      const std::string& key, std::string_view hash, int64_t revoked_before,
      const AccountEvent* event) = 0;
  virtual Result<UserTokensRevoked> RevokeUser(const std::string& key, int64_t revoked_before,
                                               const AccountEvent* event) = 0;
  // False when the user's password version is no longer `password_version` (or no user).
  virtual Result<bool> InsertSession(const SessionRecord& session, const std::string& key,
                                     int64_t password_version, const AccountEvent* event) = 0;
  virtual Result<int64_t> DeleteExpired(Expiring what, int64_t before) = 0;
  // Sessions: `key` may be empty in DeleteSession (any owner).
  virtual Result<std::vector<SessionRecord>> SelectSessions(const std::string& key, int64_t now,
                                                            int64_t idle_since) = 0;
  virtual Result<std::optional<Revocation>> DeleteSession(const std::string& key,
                                                          std::string_view sid,
                                                          const AccountEvent* event) = 0;
  virtual Result<std::vector<Revocation>> DeleteIdleSessions(int64_t idle_since) = 0;
  virtual Result<bool> UpdateSessionUse(std::string_view sid, const SessionUse& use,
                                        int64_t idle_since) = 0;
  virtual Result<std::optional<SessionRecord>> SelectSession(std::string_view sid) = 0;
  // Rotation's rows: the recorded use of a jti; the compare-and-set of the current jti with
  // the use recorded in one transaction (false: the session's current jti was not `expected`,
  // or no session). A reuse is DeleteSession with its event.
  virtual Result<std::optional<RefreshUse>> SelectRefreshUse(std::string_view jti) = 0;
  virtual Result<bool> CompareAndRotate(const RotationRequest& request,
                                        std::string_view expected_jti) = 0;
  virtual Result<int64_t> SelectSessionsRecordedSince() = 0;
  // `prefix_end`: the first key past every key starting with `prefix_key`; both empty: any.
  virtual Result<std::vector<UserRecord>> SelectUsers(std::string_view after_key, int limit,
                                                      std::string_view prefix_key,
                                                      std::string_view prefix_end) = 0;
  // nullopt (nothing written) when no user has the key.
  virtual Result<std::optional<UserTokensRevoked>> DisableRevoking(const std::string& key,
                                                                   int64_t revoked_before,
                                                                   const AccountEvent* event) = 0;
  // False when no user has the key.
  virtual Result<bool> UpdateUser(const std::string& key, const UserUpdate& update,
                                  const AccountEvent* event) = 0;
  // nullopt when the code does not match (or expired, or the user is disabled or gone).
  virtual Result<std::optional<UserTokensRevoked>> ResetHashRevoking(const std::string& key,
                                                                     const PasswordReset& reset,
                                                                     int64_t revoked_before,
                                                                     const AccountEvent* event) = 0;
  virtual Status Probe() = 0;
  virtual Status StillReachable() const { return Ok{}; }
  virtual Status InsertRevocation(const Revocation& revocation, const AccountEvent* event) = 0;
  // By default the blocking write, then `done`.
  virtual void QueueRevocation(const Revocation& revocation, WriteDone done,
                               const AccountEvent* event);
  virtual Status InsertEvent(const AccountEvent& event) = 0;
  virtual Result<std::vector<StoredEvent>> SelectAccountEvents(const EventQuery& query) = 0;
  virtual Result<int64_t> SelectLastEventId() = 0;
  virtual void QueueRotation(const RotationRequest& request, RotationDone done) {
    done(RotateRefresh(request));
  }
  virtual GroupCommit::Counts WriteCounts() const { return {}; }
  virtual bool FeedSerializedByEngine() const { return false; }
  virtual Result<int64_t> InsertNewUsers(const std::vector<KeyedUser>& users) = 0;
  virtual Result<int64_t> InsertNewRevocations(const std::vector<Revocation>& revocations) = 0;
  virtual Result<std::vector<Revocation>> SelectRevocations(int64_t now) = 0;
  virtual Status UpsertUserRevokedBefore(const std::string& key, int64_t revoked_before) = 0;
  // Stores `value` under `name` unless a value is there already; answers the stored value.
  virtual Result<int64_t> KeepFirstFact(const std::string& name, int64_t value) = 0;
  virtual Result<std::vector<UserRevocation>> SelectUserRevocations() = 0;
  virtual Result<int64_t> SelectLatestEvent() = 0;
  virtual Result<std::vector<RevocationEvent>> SelectEventsSince(int64_t seq, int limit) = 0;
  virtual Result<bool> SelectRevoked(std::string_view jti, std::string_view sid,
                                     const std::string& key, int64_t issued_at) = 0;
  virtual std::unique_ptr<FeedWatch> StartFeedWatch(std::function<void()> on_new_events) = 0;
  virtual Result<bool> InsertSigningKey(const StoredKey& key) = 0;
  virtual Result<std::vector<StoredKey>> SelectSigningKeys(std::string_view algorithm) = 0;
  virtual Status DeleteSigningKey(std::string_view kid) = 0;
  virtual Result<std::optional<int64_t>> LeaseWebhookCursor(std::string_view url_key,
                                                            std::string_view owner, int64_t now_ms,
                                                            int64_t lease_until_ms) = 0;
  virtual Result<bool> UpdateWebhookCursor(std::string_view url_key, std::string_view owner,
                                           int64_t delivered, int64_t lease_until_ms) = 0;
  // Called only on a shared store with an enabled limit.
  virtual Result<int64_t> TakeSharedAttempt(std::string_view key, RateLimit limit, int64_t now_ms,
                                            int attempts);

  const bool shared_;
};

struct StoreOptions {
  int pool_size = 8;  // PostgreSQL: connections in the pool
};

// Opens (creating and migrating when needed) the store named by a `database` setting:
// "sqlite://<path>" or "postgresql://user:password@host:port/db" (also "postgres://").
// Fails with kStorageFailure or kStorageUnavailable and a readable detail without the password.
// SQLite: `on_new_database` (if set) is called with the path when the file did not exist and
// was created (the server logs it, so that a data_dir that went missing never passes unnoticed).
Result<std::unique_ptr<Store>> OpenStore(
    const std::string& database_url, const StoreOptions& options = {},
    const std::function<void(const std::string& path)>& on_new_database = {});

// Checks the form of a `database` setting without connecting: a known scheme, and for
// PostgreSQL a URI that libpq parses, a numeric port and a known sslmode. The detail says what
// is wrong and never repeats the URL (it may hold a password). Fails with kBadSetting.
StartupStatus CheckDatabaseUrl(const std::string& database_url);

}  // namespace gatehouse::store
