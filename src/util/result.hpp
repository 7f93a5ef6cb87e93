// Errors a user (or the environment) can cause travel as values, never as exceptions.
// Exceptions are reserved for broken invariants and are caught once, at the router.
#pragma once

#include <concepts>
#include <string>
#include <utility>
#include <variant>

namespace gatehouse {

// Every failure the service can answer. http/error_response.cpp maps each one to a status,
// a message and headers; keep that table in step when adding a code here.
enum class ErrorCode {
  kBadRequest,          // a field is missing or invalid; detail holds "<field>: <why>"
  kMalformedBody,       // body is not parseable JSON / form
  kUnsupportedMedia,    // Content-Type is neither JSON nor form
  kConflict,            // unique constraint: the username is taken
  kWrongCredentials,    // login failed (unknown user or wrong password: one answer)
  kMissingToken,        // no Authorization: Bearer header
  kInvalidToken,        // malformed, bad signature, disallowed alg, wrong claim types
  kTokenExpired,        // exp passed
  kTokenNotYetValid,    // nbf in the future
  kTokenRevoked,        // jti, sid or user-wide revocation
  kNeedRefreshToken,    // an access token was sent where a refresh token is required
  kNeedAccessToken,     // a refresh token was sent where an access token is required
  kNeedFreshToken,      // a non-fresh access token was sent where a fresh one is required
  kNotFound,            // a record does not exist
  kOverloaded,          // the password-hash queue is full
  kRateLimited,         // too many attempts; detail holds the whole seconds to wait
  kStorageFailure,      // the store failed; detail is for the log only, never the client
  kStorageUnavailable,  // the database cannot be reached now (503, retry); detail log-only
};

struct Error {
  ErrorCode code;
  std::string detail;  // for kBadRequest the client-facing text; otherwise log-only
};

// A minimal std::expected stand-in (C++23 is not available with GCC 12). E is Error for what
// requests can cause; start-up has its own error type (util/startup_error.hpp).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(E error) : state_(std::move(error)) {}  // NOLINT: implicit on purpose
  Result(ErrorCode code)                         // NOLINT: implicit on purpose
      requires std::same_as<E, Error> : state_(Error{code, {}}) {}

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
