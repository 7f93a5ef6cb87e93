// The account rules, written once for the HTTP handlers and `gatehouse user ...` alike:
// the input rules of API.md §5, registration, login, password change, logout everywhere and
// removal, with the revocations they imply (API.md §9).
//
// Why the order of a session's steps holds against races: a session is recorded in the store
// before its first token exists, on the condition that the user's password is still the one
// just checked; revoking every token of a user ends each recorded session by sid in the same
// transaction. So a login that raced a password change either recorded its session first (and
// the change ended it) or finds the password changed (and gets no tokens), and a refresh in
// flight during a logout-everywhere mints into a session that the logout revoked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "auth/deny_list.hpp"
#include "auth/revocation_set.hpp"
#include "auth/token_service.hpp"
#include "store/store.hpp"
#include "store/user_cache.hpp"
#include "util/result.hpp"

namespace gatehouse::auth {

inline constexpr std::size_t kMaxUsernameChars = 64;

struct Credentials {
  std::string username;
  std::string password;
  Credentials() = default;
  Credentials(std::string name, std::string secret)
      : username(std::move(name)), password(std::move(secret)) {}
  Credentials(Credentials&&) = default;
  Credentials& operator=(Credentials&&) = default;
  ~Credentials();  // zeroes the password
};

struct PasswordChange {
  std::string username;  // whose password: the token's subject
  std::string old_password;
  std::string new_password;
  ~PasswordChange();  // zeroes both passwords
};

// What a new password must meet (registration, POST /password, the CLI).
struct PasswordRules {
  std::size_t min_length = 1;
  const PasswordDenyList* deny_list = nullptr;  // null: no password is too common
};

// The input rules. Each answers the first problem found, as a FieldError; none does I/O, so
// handlers check them on the I/O thread before spending a rate-limit attempt or a hash.
Status RequireField(std::string_view field, std::string_view value);  // "cannot be blank"
Status CheckNewUsername(std::string_view username);                   // length, characters
Status CheckNewPassword(std::string_view field, std::string_view password,
                        const PasswordRules& rules);
// Both fields given, then the new-account rules above.
Status CheckRegistration(const Credentials& credentials, const PasswordRules& rules);
// Both fields given and the password within 1024 bytes (it bounds the work asked for); any
// other name is simply tried: a name that could never have registered is an unknown user.
Status CheckLoginInput(const Credentials& credentials);
Status CheckPasswordChange(const PasswordChange& change, const PasswordRules& rules);

// The claims rules (API.md §12): a JSON object of at most 4096 bytes as compact JSON, naming
// none of the token's own claims. Answers the compact text, or a FieldError("claims", ...).
inline constexpr std::size_t kMaxClaimsBytes = 4096;
Result<std::string> CheckClaims(const nlohmann::json& claims);

// A password-reset code as the administrator hands it on: shown once, stored only hashed.
struct ResetCode {
  std::string code;
  int64_t expires_at = 0;  // unix seconds
  ~ResetCode();            // zeroes the code
};

// POST /password/reset's fields.
struct PasswordResetRequest {
  std::string username;
  std::string code;
  std::string new_password;
  ~PasswordResetRequest();  // zeroes the code and the password
};
// All three given, the code within 256 bytes, the new password meeting the rules.
Status CheckPasswordReset(const PasswordResetRequest& reset, const PasswordRules& rules);

// A session opened by registration, login or a password change.
struct OpenedSession {
  std::string username;  // as stored
  TokenPair tokens;
};

// What a running server holds in memory about tokens and users; the CLI has none.
struct LiveTokens {
  TokenService& tokens;
  RevocationSet& revocations;
  store::UserCache& users;
};

// Every call but the constructor blocks on storage or argon2id: a worker pool or the CLI only.
// Holds references only, so it is cheap to make per request.
class Accounts {
 public:
  // `live` is null where no tokens are issued (the CLI): the calls that open a session then
  // must not be used, and revocations reach running servers through the store's feed.
  Accounts(store::Store& store, PasswordRules rules, std::optional<LiveTokens> live);

  // Where a call takes a store::UsernameKey, it is the one the caller made for this request
  // from the same username (for its rate-limit buckets, or the token's subject): the account
  // module never computes a second one.

  // Where the request came from: recorded with a session it opens and with every account
  // event (API.md §12) a call records. The CLI leaves it empty.
  Accounts& From(store::SessionUse origin) {
    origin_ = std::move(origin);
    return *this;
  }

  // Hashes and stores. `credentials` must have passed CheckRegistration (the handler checks
  // on the I/O thread, the CLI before reading the password): the rules are not run twice.
  // kUsernameTaken when the name (ASCII case ignored) exists. `claims`: as CheckClaims answers
  // them, stored with the user (one user.created event).
  Result<store::UserRecord> Create(const Credentials& credentials, const store::UsernameKey& key,
                                   std::string claims = "{}");
  // Create, then the account's first session.
  Result<OpenedSession> Register(const Credentials& credentials, const store::UsernameKey& key);
  // One answer, kWrongCredentials, for an unknown user, a wrong password, and a password
  // changed while this login checked it.
  Result<OpenedSession> Login(const Credentials& credentials, const store::UsernameKey& key);
  // Checks the old password, then replaces it and revokes every token of the user, then
  // opens a new session for the caller. `key` is the token subject's.
  Result<OpenedSession> ChangePassword(const PasswordChange& change, const store::UsernameKey& key);
  // The administrator's password change (no old password): rules, then replace and revoke.
  Status SetPassword(const store::UsernameKey& key, std::string_view password);
  // Logout everywhere: durable, then visible here; other instances follow the store's feed.
  // `username`: as stored, for the event (the key when empty, as from the CLI).
  Status RevokeEveryToken(const store::UsernameKey& key, std::string_view username = {});
  // Removes the user and revokes every token of it. kNotFound when there is no such user.
  // `username` as for RevokeEveryToken.
  Status Remove(const store::UsernameKey& key, std::string_view username = {});
  // The one way a session is ended (/logout/refresh, POST /token/revoke, DELETE /sessions/{id}):
  // its record deleted and its sid revoked in one durable transaction, then refused here at
  // once; other instances follow the feed. `key` is the owner's. A session the store has no
  // record of (started before sessions were recorded, or ended already) is revoked by its sid
  // all the same when `token_exp` (the presented token's exp) is given, and answers false
  // (nothing revoked) when it is 0. `event` (session.revoked) is recorded with the change.
  Result<bool> EndSession(const store::UsernameKey& key, std::string_view sid, int64_t token_exp,
                          const store::AccountEvent* event = nullptr);
  // A session the store ended by itself (reuse detection, the idle sweep): refused here at once.
  void SessionEnded(const store::Revocation& ended);

  const PasswordRules& rules() const { return rules_; }

  // The administrator's calls (the admin API and `gatehouse user`); kUserNotFound when there
  // is no such user. Find answers the user as stored. `key` as above. Each change records its
  // event (user.disabled, user.enabled, user.claims_changed, password.reset_requested) in its
  // transaction, naming the user as stored.
  Result<store::UserRecord> Find(const store::UsernameKey& key);
  // Disabling revokes every token of the user (as RevokeEveryToken) in the same transaction
  // and refuses logins and resets from then on; enabling restores login, not old tokens.
  Status SetDisabled(const store::UsernameKey& key, bool disabled);
  // `claims` as CheckClaims answers it; merged into access tokens issued from now on.
  Status SetClaims(const store::UsernameKey& key, std::string_view claims);
  // A new single-use code valid `ttl_seconds`, replacing any earlier one.
  Result<ResetCode> IssueResetCode(const store::UsernameKey& key, int64_t ttl_seconds);
  // Spends a valid code: new password, every other token revoked, a new session. A wrong,
  // spent or expired code (or an unknown user): kInvalidResetCode, costing what a valid one
  // does; a disabled user's valid code: kAccountDisabled, and the code stays.
  Result<OpenedSession> ResetPassword(const PasswordResetRequest& reset,
                                      const store::UsernameKey& key);

 private:
  // The refusal of a write the store turned down (kConflict) because the account changed
  // under it: kAccountDisabled when it is now disabled, else `otherwise`.
  Error RefusalAfterConflict(const store::UsernameKey& key, Error otherwise);
  int64_t Now() const;
  Result<store::UserRecord> VerifiedUser(const store::UsernameKey& key, std::string_view password);
  // user.created, in the same transaction as the user; `sid`: the session registration opens.
  Result<store::UserRecord> CreateRecorded(const Credentials& credentials,
                                           const store::UsernameKey& key, const std::string& sid,
                                           std::string claims = "{}");
  // An administrator's change of the user of `key`: its event, named as stored (read first;
  // kUserNotFound when there is no such user).
  Result<store::AccountEvent> AdminEvent(std::string type, const store::UsernameKey& key);
  // login.failed, recorded alone; answers `refused` unless the record fails.
  Error LoginFailed(Error refused, std::string_view username, const store::UsernameKey& key);
  store::AccountEvent Event(std::string type, std::string_view username,
                            const store::UsernameKey& key, std::string sid = {}) const;
  Result<store::UserTokensRevoked> ReplacePassword(const store::UsernameKey& key,
                                                   std::string_view password,
                                                   std::string_view username);
  void UpgradeHash(const store::UsernameKey& key, std::string_view password);
  // Records `session` (with `event`, when set) and issues its first tokens.
  Result<TokenPair> OpenSession(const store::UserRecord& user, const store::UsernameKey& key,
                                const store::SessionRecord& session,
                                const store::AccountEvent* event);
  // The user whose pending reset code is `code`, unexpired; kInvalidResetCode otherwise.
  Result<store::UserRecord> UserOfResetCode(const store::UsernameKey& key, std::string_view code,
                                            std::string& code_hash);
  void ApplyRevoked(const store::UserTokensRevoked& revoked);
  LiveTokens& Live();

  store::Store& store_;
  PasswordRules rules_;
  std::optional<LiveTokens> live_;
  store::SessionUse origin_;
};

}  // namespace gatehouse::auth
