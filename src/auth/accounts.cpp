#include "auth/accounts.hpp"

#include <sodium.h>

#include <cstdlib>
#include <utility>

#include "auth/argon2_fast.hpp"
#include "auth/passwords.hpp"
#include "auth/pbkdf2.hpp"
#include "obs/logging.hpp"
#include "util/clock.hpp"

namespace gatehouse::auth {
namespace {

bool IsUsernameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '+' || c == '-';
}

Status CheckMaxPasswordBytes(std::string_view field, std::string_view password) {
  if (password.size() > kMaxPasswordBytes) return FieldError(field, "Must be at most 1024 bytes");
  return Ok{};
}

constexpr std::string_view kArgon2Prefix = "$argon2id$";

}  // namespace

// The password policy over the hash formats (declared in passwords.hpp): which formats verify,
// when a stored hash is upgraded, the dummy for unknown users. It lives beside the login, its
// caller; the formats are mechanisms below it (argon2_fast, pbkdf2).

// argon2_fast: the same PHC strings as libsodium's crypto_pwhash_str_alg, about 1.5x faster
// (a per-thread work area instead of a fresh 19 MiB mapping per hash; see argon2_fast.hpp).
Result<std::string> HashPassword(std::string_view password) { return HashArgon2id(password); }

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (hash.starts_with(kPbkdf2Prefix)) return VerifyPbkdf2Sha256(hash, password);
  if (!hash.starts_with(kArgon2Prefix) || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return VerifyArgon2id(hash, password);
}

bool NeedsRehash(std::string_view hash) {
  if (!hash.starts_with(kArgon2Prefix) || hash.size() >= crypto_pwhash_STRBYTES) return true;
  char terminated[crypto_pwhash_STRBYTES] = {};
  hash.copy(terminated, hash.size());
  return crypto_pwhash_str_needs_rehash(terminated, kArgon2OpsLimit, kArgon2MemLimitBytes) != 0;
}

bool VerifyAgainstDummy(std::string_view password) {
  // A real hash of a random password, made once: verifying against it does exactly the work
  // of a real verification, and no password can match it.
  static const std::string dummy = [] {
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    auto hash = HashPassword(std::string_view(reinterpret_cast<char*>(random), sizeof random));
    return hash.ok() ? hash.value() : std::string();
  }();
  VerifyPassword(dummy, password);
  return false;
}

Credentials::~Credentials() { Wipe(password); }

PasswordChange::~PasswordChange() {
  Wipe(old_password);
  Wipe(new_password);
}

Status RequireField(std::string_view field, std::string_view value) {
  if (value.empty()) return FieldError(field, "This field cannot be blank");
  return Ok{};
}

Status CheckNewUsername(std::string_view username) {
  if (username.size() > kMaxUsernameChars) {
    return FieldError("username", "Must be at most 64 characters");
  }
  for (char c : username) {
    if (!IsUsernameChar(c)) {
      return FieldError("username", "Only letters, digits and . _ @ + - are allowed");
    }
  }
  return Ok{};
}

Status CheckNewPassword(std::string_view field, std::string_view password,
                        const PasswordRules& rules) {
  if (password.size() < rules.min_length) {
    return FieldError(field, "Must be at least " + std::to_string(rules.min_length) + " bytes");
  }
  if (Status bounded = CheckMaxPasswordBytes(field, password); !bounded) return bounded;
  // HTTP bodies refuse NUL bytes when they are decoded; a password typed into the CLI reaches
  // this check instead, and a password no HTTP client can send would lock its user out.
  if (password.find('\0') != std::string_view::npos) {
    return FieldError(field, "must not contain NUL bytes");
  }
  if (rules.deny_list != nullptr && rules.deny_list->Contains(password)) {
    return FieldError(field, "Too common, choose another");
  }
  return Ok{};
}

Status CheckRegistration(const Credentials& credentials, const PasswordRules& rules) {
  if (Status given = RequireField("username", credentials.username); !given) return given;
  if (Status given = RequireField("password", credentials.password); !given) return given;
  if (Status valid = CheckNewUsername(credentials.username); !valid) return valid;
  return CheckNewPassword("password", credentials.password, rules);
}

Status CheckLoginInput(const Credentials& credentials) {
  if (Status given = RequireField("username", credentials.username); !given) return given;
  if (Status given = RequireField("password", credentials.password); !given) return given;
  return CheckMaxPasswordBytes("password", credentials.password);
}

Status CheckPasswordChange(const PasswordChange& change, const PasswordRules& rules) {
  if (Status given = RequireField("old_password", change.old_password); !given) return given;
  if (Status given = RequireField("new_password", change.new_password); !given) return given;
  if (Status bounded = CheckMaxPasswordBytes("old_password", change.old_password); !bounded) {
    return bounded;
  }
  return CheckNewPassword("new_password", change.new_password, rules);
}

Accounts::Accounts(store::Store& store, PasswordRules rules, std::optional<LiveTokens> live)
    : store_(store), rules_(rules), live_(std::move(live)) {}

Result<store::UserRecord> Accounts::Create(const Credentials& credentials,
                                           const store::UsernameKey& key, std::string claims) {
  return CreateRecorded(credentials, key, {}, std::move(claims));
}

Result<store::UserRecord> Accounts::CreateRecorded(const Credentials& credentials,
                                                   const store::UsernameKey& key,
                                                   const std::string& sid, std::string claims) {
  // Kept on purpose, though the unique key in the store decides alone (and still decides races
  // between concurrent registrations): one indexed read spares an argon2id run (tens of ms of
  // a hash thread) for a taken name, so re-registering a known name is no cheap way to keep
  // the hash pool busy. A free name pays the read (well under a millisecond) on top of the hash.
  auto existing = store_.FindUser(key);
  if (!existing) return existing.error();
  Error taken(ErrorCode::kUsernameTaken, "username taken");
  taken.field = credentials.username;
  if (*existing) return taken;
  auto hash = HashPassword(credentials.password);
  if (!hash) return hash.error();
  store::UserRecord user{credentials.username, std::move(*hash), Now()};
  user.claims = std::move(claims);
  const store::AccountEvent event = Event("user.created", user.username, key, sid);
  if (Status created = store_.CreateUser(user, key, &event); !created) {
    if (created.error().code == ErrorCode::kConflict) return taken;
    return created.error();
  }
  return user;
}

Result<OpenedSession> Accounts::Register(const Credentials& credentials,
                                         const store::UsernameKey& key) {
  // The session's sid is made first: user.created names it.
  const store::SessionRecord session = Live().tokens.NewSession(credentials.username, origin_);
  auto user = CreateRecorded(credentials, key, session.sid);
  if (!user) return user.error();
  auto tokens = OpenSession(*user, key, session, nullptr);
  if (!tokens) return tokens.error();
  Live().users.Put(key, user->username, user->created_at, user->claims);
  return OpenedSession{std::move(user->username), std::move(*tokens)};
}

Result<OpenedSession> Accounts::Login(const Credentials& credentials,
                                      const store::UsernameKey& key) {
  auto user = VerifiedUser(key, credentials.password);
  if (!user && user.error().code == ErrorCode::kWrongCredentials) {
    return LoginFailed(user.error(), credentials.username, key);
  }
  if (!user) return user.error();
  // Only after the password matched: without it nothing tells a disabled account apart.
  if (user->disabled) return Error{ErrorCode::kAccountDisabled, {}};
  if (NeedsRehash(user->password_hash)) UpgradeHash(key, credentials.password);
  const store::SessionRecord session = Live().tokens.NewSession(user->username, origin_);
  const store::AccountEvent succeeded = Event("login.succeeded", user->username, key, session.sid);
  auto tokens = OpenSession(*user, key, session, &succeeded);
  // The password checked above was changed, the account disabled or removed meanwhile: no
  // session. A disable is said as such: the password was right (API.md §12).
  if (!tokens && tokens.error().code == ErrorCode::kConflict) {
    Error refusal = RefusalAfterConflict(key, Error{ErrorCode::kWrongCredentials, {}});
    if (refusal.code == ErrorCode::kAccountDisabled) return refusal;
    return LoginFailed(std::move(refusal), credentials.username, key);
  }
  if (!tokens) return tokens.error();
  Live().users.Put(key, user->username, user->created_at, user->claims);
  return OpenedSession{std::move(user->username), std::move(*tokens)};
}

Result<OpenedSession> Accounts::ChangePassword(const PasswordChange& change,
                                               const store::UsernameKey& key) {
  auto user = VerifiedUser(key, change.old_password);
  if (!user) return user.error();
  auto revoked = ReplacePassword(key, change.new_password, user->username);
  if (!revoked) return revoked.error();
  user->password_version = revoked->password_version;
  auto tokens = OpenSession(*user, key, Live().tokens.NewSession(user->username, origin_), nullptr);
  if (!tokens) return tokens.error();
  return OpenedSession{std::move(user->username), std::move(*tokens)};
}

Status Accounts::SetPassword(const store::UsernameKey& key, std::string_view password) {
  if (Status valid = CheckNewPassword("password", password, rules_); !valid) return valid;
  // The CLI names the user by its key only.
  auto revoked = ReplacePassword(key, password, key.str());
  if (!revoked) return revoked.error();
  return Ok{};
}

Status Accounts::RevokeEveryToken(const store::UsernameKey& key, std::string_view username) {
  // Tokens of earlier seconds fall to the time; those of this second to their session's sid.
  const store::AccountEvent event =
      Event("user.logged_out_everywhere", username.empty() ? key.str() : username, key);
  auto revoked = store_.RevokeUserTokens(key, Now(), &event);
  if (!revoked) return revoked.error();
  ApplyRevoked(*revoked);
  return Ok{};
}

Status Accounts::Remove(const store::UsernameKey& key, std::string_view username) {
  const store::AccountEvent event =
      Event("user.removed", username.empty() ? key.str() : username, key);
  auto removed = store_.RemoveUser(key, Now(), &event);
  if (!removed) return removed.error();
  ApplyRevoked(*removed);
  if (live_) live_->users.Erase(removed->user.username_key);
  return Ok{};
}

Result<bool> Accounts::EndSession(const store::UsernameKey& key, std::string_view sid,
                                  int64_t token_exp, const store::AccountEvent* event) {
  auto ended = store_.EndSession(key, sid, event);
  if (!ended) return ended.error();
  if (*ended) {
    SessionEnded(**ended);
    return true;
  }
  if (token_exp == 0) return false;
  const store::Revocation unrecorded{std::string(sid), store::RevocationKind::kSession, token_exp};
  if (Status stored = store_.AddRevocation(unrecorded, event); !stored) return stored.error();
  SessionEnded(unrecorded);
  return true;
}

void Accounts::SessionEnded(const store::Revocation& ended) {
  if (live_) live_->revocations.Revoke(ended.id, ended.expires_at);
}

Error Accounts::RefusalAfterConflict(const store::UsernameKey& key, Error otherwise) {
  auto user = store_.FindUser(key);
  if (user && *user && (*user)->disabled) return Error{ErrorCode::kAccountDisabled, {}};
  return otherwise;
}

int64_t Accounts::Now() const { return live_ ? live_->tokens.Now() : UnixNow(); }

Result<store::UserRecord> Accounts::VerifiedUser(const store::UsernameKey& key,
                                                 std::string_view password) {
  auto user = store_.FindUser(key);
  if (!user) return user.error();
  // An unknown user costs the same argon2id run as a wrong password: no enumeration by timing.
  const bool matches =
      *user ? VerifyPassword((*user)->password_hash, password) : VerifyAgainstDummy(password);
  if (!matches) return Error{ErrorCode::kWrongCredentials, {}};
  return std::move(**user);
}

Error Accounts::LoginFailed(Error refused, std::string_view username,
                            const store::UsernameKey& key) {
  if (Status recorded = store_.RecordEvent(Event("login.failed", username, key)); !recorded) {
    return recorded.error();
  }
  return refused;
}

store::AccountEvent Accounts::Event(std::string type, std::string_view username,
                                    const store::UsernameKey& key, std::string sid) const {
  return store::NewEvent(std::move(type), username, key, std::move(sid), origin_);
}

Result<store::UserTokensRevoked> Accounts::ReplacePassword(const store::UsernameKey& key,
                                                           std::string_view password,
                                                           std::string_view username) {
  auto hash = HashPassword(password);
  if (!hash) return hash.error();
  // The new hash and the revocation of every token are one transaction: no moment exists
  // where the new password works and an old token is still good, or the reverse.
  const store::AccountEvent event = Event("password.changed", username, key);
  auto revoked = store_.ChangePassword(key, *hash, Now(), &event);
  if (!revoked) return revoked.error();
  ApplyRevoked(*revoked);
  return revoked;
}

// A legacy (Flask pbkdf2) or weaker hash is replaced while the plain password is at hand. A
// failure here costs nothing but the upgrade: the login itself has succeeded.
void Accounts::UpgradeHash(const store::UsernameKey& key, std::string_view password) {
  auto hash = HashPassword(password);
  Status updated = hash ? store_.UpdatePasswordHash(key, *hash) : Status(hash.error());
  if (!updated) obs::Warn("upgrading a password hash failed", {{"error", updated.error().detail}});
}

// The session is recorded before its first token exists, and only while the password read
// with `user` is still current (kConflict otherwise): see the top of accounts.hpp.
Result<TokenPair> Accounts::OpenSession(const store::UserRecord& user,
                                        const store::UsernameKey& key,
                                        const store::SessionRecord& session,
                                        const store::AccountEvent* event) {
  if (Status recorded = store_.CreateSession(session, key, user.password_version, event);
      !recorded) {
    return recorded.error();
  }
  return Live().tokens.IssuePair(session, user.claims);
}

// Makes what the store revoked visible to this process's token checks before the caller
// answers. Without live state (the CLI) running servers learn it from the feed.
void Accounts::ApplyRevoked(const store::UserTokensRevoked& revoked) {
  if (!live_) return;
  for (const store::Revocation& session : revoked.sessions) SessionEnded(session);
  live_->revocations.RevokeUserBefore(revoked.user.username_key, revoked.user.revoked_before);
  // The next refresh reads the user from the store, so it sees a disable (other instances drop
  // the entry when the feed brings the cut).
  live_->users.Erase(revoked.user.username_key);
}

LiveTokens& Accounts::Live() {
  // Opening a session without the server's token service is a programming error.
  if (!live_) std::abort();
  return *live_;
}

}  // namespace gatehouse::auth
