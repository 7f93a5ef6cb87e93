// The administrator's account calls (API.md §12): disabling, claims and password-reset codes.
// Part of auth::Accounts (auth/accounts.hpp), kept apart from the user's own calls.
#include <sodium.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "auth/accounts.hpp"
#include "auth/jws.hpp"
#include "auth/passwords.hpp"

namespace gatehouse::auth {
namespace {

// The names Flask-JWT-Extended and gatehouse write themselves: a user's claim may not shadow
// one of them (a "sub" of the operator's choosing would be another user's token).
constexpr std::array<std::string_view, 11> kReservedClaims = {
    "sub", "type", "fresh", "jti", "sid", "iat", "nbf", "exp", "iss", "aud", "csrf"};

// Codes are 256 random bits, so one unsalted SHA-256 is enough to make the stored value
// useless to a database reader: nothing smaller than the code itself finds a preimage.
std::string CodeHash(std::string_view code) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(code.data()), code.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, sizeof hex - 1);
}

constexpr std::size_t kMaxResetCodeBytes = 256;

// A value a verifier reads back exactly as the operator wrote it. The JSON parser turns an
// integer beyond 64 bits into a rounded float (18446744073709551617 would come back as
// 1.8446744073709552e+19), and a NUL ends a string in C-based verifiers: both are refused.
// The parser has already bounded the depth, so the recursion is bounded too.
Status CheckClaimValue(const nlohmann::json& value) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (value.is_number_float() && !(std::abs(value.get<double>()) < kTwoTo63)) {
    return FieldError("claims", "Numbers must fit in 64 bits");
  }
  if (value.is_string() && value.get_ref<const std::string&>().find('\0') != std::string::npos) {
    return FieldError("claims", "Must not contain NUL characters");
  }
  if (!value.is_structured()) return Ok{};
  for (const auto& [name, inner] : value.items()) {
    if (value.is_object() && name.find('\0') != std::string::npos) {
      return FieldError("claims", "Must not contain NUL characters");
    }
    if (Status checked = CheckClaimValue(inner); !checked) return checked;
  }
  return Ok{};
}

}  // namespace

ResetCode::~ResetCode() { Wipe(code); }

PasswordResetRequest::~PasswordResetRequest() {
  Wipe(code);
  Wipe(new_password);
}

Result<std::string> CheckClaims(const nlohmann::json& claims) {
  if (!claims.is_object()) return FieldError("claims", "Must be a JSON object");
  for (const auto& [name, value] : claims.items()) {
    for (std::string_view reserved : kReservedClaims) {
      if (name == reserved) return FieldError("claims", "'" + name + "' is a reserved claim");
    }
  }
  if (Status exact = CheckClaimValue(claims); !exact) return exact.error();
  std::string compact = claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  if (compact.size() > kMaxClaimsBytes) return FieldError("claims", "Must be at most 4096 bytes");
  return compact;
}

Status CheckPasswordReset(const PasswordResetRequest& reset, const PasswordRules& rules) {
  if (Status given = RequireField("username", reset.username); !given) return given;
  if (Status given = RequireField("code", reset.code); !given) return given;
  if (Status given = RequireField("new_password", reset.new_password); !given) return given;
  if (reset.code.size() > kMaxResetCodeBytes)
    return FieldError("code", "Must be at most 256 bytes");
  return CheckNewPassword("new_password", reset.new_password, rules);
}

Result<store::UserRecord> Accounts::Find(const store::UsernameKey& key) {
  auto user = store_.FindUser(key);
  if (!user) return user.error();
  if (!*user) return Error{ErrorCode::kUserNotFound, {}};
  return std::move(**user);
}

// kNotFound from the store is the admin API's "User not found".
static Error UserError(const Error& error) {
  return error.code == ErrorCode::kNotFound ? Error{ErrorCode::kUserNotFound, {}} : error;
}

Result<store::AccountEvent> Accounts::AdminEvent(std::string type, const store::UsernameKey& key) {
  auto user = Find(key);
  if (!user) return user.error();
  return Event(std::move(type), user->username, key);
}

Status Accounts::SetDisabled(const store::UsernameKey& key, bool disabled) {
  auto event = AdminEvent(disabled ? "user.disabled" : "user.enabled", key);
  if (!event) return event.error();
  auto revoked = store_.SetDisabled(key, disabled, Now(), &*event);
  if (!revoked) return UserError(revoked.error());
  if (disabled) ApplyRevoked(*revoked);
  return Ok{};
}

Status Accounts::SetClaims(const store::UsernameKey& key, std::string_view claims) {
  auto event = AdminEvent("user.claims_changed", key);
  if (!event) return event.error();
  if (Status set = store_.SetClaims(key, claims, &*event); !set) return UserError(set.error());
  // The next refresh here reads them from the store again.
  if (live_) live_->users.Erase(key.str());
  return Ok{};
}

Result<ResetCode> Accounts::IssueResetCode(const store::UsernameKey& key, int64_t ttl_seconds) {
  auto event = AdminEvent("password.reset_requested", key);
  if (!event) return event.error();
  std::array<unsigned char, 32> random;
  randombytes_buf(random.data(), random.size());
  ResetCode issued;
  issued.code = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(random.data()), 32));
  sodium_memzero(random.data(), random.size());
  issued.expires_at = Now() + ttl_seconds;
  if (Status set = store_.SetResetCode(key, CodeHash(issued.code), issued.expires_at, &*event);
      !set) {
    return UserError(set.error());
  }
  return issued;
}

Result<store::UserRecord> Accounts::UserOfResetCode(const store::UsernameKey& key,
                                                    std::string_view code, std::string& code_hash) {
  code_hash = CodeHash(code);
  auto user = store_.FindUser(key);
  if (!user) return user.error();
  // Compared in constant time, and for an unknown user against nothing that can match, so
  // that neither the code's bytes nor the user's existence shows in the time taken.
  const std::string stored = *user ? (*user)->reset_code_hash : std::string(code_hash.size(), 'x');
  const bool matches = SecretEquals(code_hash, stored) && *user &&
                       !(*user)->reset_code_hash.empty() && (*user)->reset_expires_at > Now();
  if (!matches) return Error{ErrorCode::kInvalidResetCode, {}};
  return std::move(**user);
}

Result<OpenedSession> Accounts::ResetPassword(const PasswordResetRequest& reset,
                                              const store::UsernameKey& key) {
  std::string code_hash;
  auto user = UserOfResetCode(key, reset.code, code_hash);
  if (!user) return user.error();
  if (user->disabled) return Error{ErrorCode::kAccountDisabled, {}};
  auto hash = HashPassword(reset.new_password);
  if (!hash) return hash.error();
  // The store spends the code only if it is still this one: of two resets racing, one wins.
  const store::AccountEvent event = Event("password.changed", user->username, key);
  auto revoked = store_.ResetPassword(key, code_hash, *hash, Now(), Now(), &event);
  // The code was spent by another reset, or the account disabled meanwhile (the code then
  // stays, as for a disabled account found above).
  if (!revoked && revoked.error().code == ErrorCode::kConflict) {
    return RefusalAfterConflict(key, Error{ErrorCode::kInvalidResetCode, {}});
  }
  if (!revoked) return revoked.error();
  ApplyRevoked(*revoked);
  user->password_version = revoked->password_version;
  auto tokens = OpenSession(*user, key, Live().tokens.NewSession(user->username, origin_), nullptr);
  if (!tokens && tokens.error().code == ErrorCode::kConflict) {
    return RefusalAfterConflict(key, tokens.error());
  }
  if (!tokens) return tokens.error();
  return OpenedSession{std::move(user->username), std::move(*tokens)};
}

}  // namespace gatehouse::auth
