// Errors a user (or the environment) can cause travel as values, never as exceptions.
// Exceptions are reserved for broken invariants and are caught once, at the router.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gatehouse {

// Every failure the service can answer. http/error_response.cpp maps each one to a status,
// a message and headers (no handler writes a status of its own); keep that table in step
// when adding a code here.
enum class ErrorCode {
  kBadRequest,              // a field is missing or invalid: `field` and `reason` say which and why
  kMalformedBody,           // body is not parseable JSON / form
  kUnsupportedMedia,        // Content-Type is neither JSON nor form
  kConflict,                // a unique constraint (store level; answered only after translation)
  kUsernameTaken,           // registration of a taken name; `field` holds the name as given
  kWrongCredentials,        // login failed (unknown user or wrong password: one answer)
  kUserNotFound,            // the token's user no longer exists (GET /me)
  kSessionNotFound,         // DELETE /sessions/{id}: no such live session of the caller's
  kWrongCallerSecret,       // /token/introspect called without the configured secret
  kMissingToken,            // no Authorization: Bearer header
  kMissingCookie,           // tokens.location is cookies: no token cookie; `field` names it
  kMissingCsrf,             // a token cookie on POST/PUT/PATCH/DELETE without X-CSRF-TOKEN
  kCsrfMismatch,            // X-CSRF-TOKEN differs from the cookie token's `csrf` claim
  kInvalidToken,            // malformed, bad signature, disallowed alg, wrong claim types
  kTokenExpired,            // exp passed
  kTokenNotYetValid,        // nbf in the future
  kTokenRevoked,            // jti, sid or user-wide revocation
  kNeedRefreshToken,        // an access token was sent where a refresh token is required
  kNeedAccessToken,         // a refresh token was sent where an access token is required
  kNeedFreshToken,          // a non-fresh access token was sent where a fresh one is required
  kNotFound,                // a record does not exist
  kOverloaded,              // the password-hash queue is full
  kRateLimited,             // too many attempts; `retry_after_seconds` is the whole seconds to wait
  kStorageFailure,          // the store failed; detail is for the log only, never the client
  kStorageUnavailable,      // the database cannot be reached now (503, retry); detail log-only
  kNotReady,                // GET /readyz: the store does not answer
  kInternal,                // a bug (an exception escaped a job); detail log-only
  kInvalidKey,              // a key file or JWK that cannot be used (loading keys, never a request)
  kAccountDisabled,         // the right password (or reset code) of a disabled account
  kInvalidResetCode,        // a wrong, spent or expired password-reset code
  kRegistrationClosed,      // registration.enabled is false
  kWrongAdminSecret,        // an /admin/... call without the configured admin secret
  kWrongRevocationsSecret,  // GET /revocations without revocations.secret
};

struct Error {
  explicit Error(ErrorCode error_code, std::string error_detail = {})
      : code(error_code), detail(std::move(error_detail)) {}

  ErrorCode code;
  std::string detail;  // for the log and the CLI; a client sees only what the mapper writes
  // The typed extras of the codes that carry them (see ErrorCode), empty otherwise.
  std::string field;
  std::string reason;
  int64_t retry_after_seconds = 0;
};

// kBadRequest for one field: "<field>: <reason>" is both the client's message and the detail.
inline Error FieldError(std::string_view field, std::string_view reason) {
  std::string detail;
  detail.reserve(field.size() + 2 + reason.size());
  detail.append(field).append(": ").append(reason);
  Error error(ErrorCode::kBadRequest, std::move(detail));
  error.field = field;
  error.reason = reason;
  return error;
}

inline Error RateLimitedError(int64_t retry_after_seconds) {
  Error error(ErrorCode::kRateLimited);
  error.retry_after_seconds = retry_after_seconds;
  return error;
}

// A minimal std::expected stand-in (C++23 is not available with GCC 12). E is Error for what
// requests can cause; start-up has its own error type (util/startup_error.hpp).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(E error) : state_(std::move(error)) {}  // NOLINT: implicit on purpose
  Result(ErrorCode code)                         // NOLINT: implicit on purpose
      requires std::same_as<E, Error> : state_(Error(code)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, E> state_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace gatehouse
