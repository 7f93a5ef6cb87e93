#include "http/error_response.hpp"

#include <optional>
#include <string>

#include "obs/metrics.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::http {
namespace {

// Seconds a client should wait before retrying when overloaded; short because the hash queue
// drains in tens of milliseconds per job.
constexpr const char* kRetryAfterSeconds = "1";

Response TokenError(std::string_view message) {
  Response response = MessageResponse(401, message);
  std::string challenge = "Bearer error=\"invalid_token\", error_description=\"";
  challenge += message;
  challenge += '"';
  response.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  return response;
}

Response WithRealmChallenge(Response response) {
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gatehouse\"");
  return response;
}

Response WithRetryAfter(Response response, std::string seconds) {
  response.headers.emplace_back("Retry-After", std::move(seconds));
  return response;
}

// Flask-JWT-Extended's message for a refused bearer token; "" for any other code.
std::string_view TokenRefusalMessage(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMissingCsrf:
      return "Missing CSRF token";
    case ErrorCode::kCsrfMismatch:
      return "CSRF double submit tokens do not match";
    case ErrorCode::kInvalidToken:
      return "Invalid token";
    case ErrorCode::kTokenExpired:
      return "Token has expired";
    case ErrorCode::kTokenNotYetValid:
      return "Token not yet valid";
    case ErrorCode::kTokenRevoked:
      return "Token has been revoked";
    case ErrorCode::kNeedRefreshToken:
      return "Only refresh tokens are allowed";
    case ErrorCode::kNeedAccessToken:
      return "Only access tokens are allowed";
    case ErrorCode::kNeedFreshToken:
      return "Fresh token required";
    default:
      return {};
  }
}

// The codes of a request refused for what it is or asks (4xx without a challenge).
std::optional<Response> RequestRefusal(const Error& error) {
  switch (error.code) {
    case ErrorCode::kBadRequest:
      return MessageResponse(400, error.field + ": " + error.reason);
    case ErrorCode::kMalformedBody:
      return MessageResponse(400, "Malformed request body");
    case ErrorCode::kUnsupportedMedia:
      return MessageResponse(415,
                             "Content-Type must be application/json or "
                             "application/x-www-form-urlencoded");
    case ErrorCode::kConflict:
      return MessageResponse(409, "Conflict");
    case ErrorCode::kUsernameTaken:
      return MessageResponse(409, "User " + error.field + " already exists");
    case ErrorCode::kUserNotFound:
      return MessageResponse(404, "User not found");
    case ErrorCode::kSessionNotFound:
      return MessageResponse(404, "Session not found");
    case ErrorCode::kNotFound:
      return MessageResponse(404, "Not found");
    case ErrorCode::kRateLimited:
      return WithRetryAfter(MessageResponse(429, "Too many attempts, try again later"),
                            std::to_string(error.retry_after_seconds));
    case ErrorCode::kAccountDisabled:
      return MessageResponse(403, "Account disabled");
    case ErrorCode::kRegistrationClosed:
      return MessageResponse(403, "Registration is disabled");
    default:
      return std::nullopt;
  }
}

// The codes of refused credentials: a password, a secret, a code, or a bearer token (401,
// with the challenge RFC 6750 asks for).
std::optional<Response> CredentialRefusal(const Error& error) {
  switch (error.code) {
    case ErrorCode::kWrongCredentials:
      return MessageResponse(401, "Wrong credentials");
    case ErrorCode::kInvalidResetCode:
      return MessageResponse(401, "Invalid or expired code");
    case ErrorCode::kWrongCallerSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid introspection credentials"));
    case ErrorCode::kWrongAdminSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid admin credentials"));
    case ErrorCode::kWrongRevocationsSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid revocations credentials"));
    case ErrorCode::kMissingToken:
      return WithRealmChallenge(MessageResponse(401, "Missing Authorization Header"));
    case ErrorCode::kMissingCookie:
      return WithRealmChallenge(MessageResponse(401, "Missing cookie \"" + error.field + "\""));
    default:
      break;
  }
  const std::string_view message = TokenRefusalMessage(error.code);
  if (message.empty()) return std::nullopt;
  return TokenError(message);
}

// The server's own failures (5xx); a storage failure is counted in the metrics here, where
// every one passes once.
Response ServerFailure(const Error& error, std::string_view context_message) {
  switch (error.code) {
    case ErrorCode::kOverloaded:
      return WithRetryAfter(MessageResponse(503, "Server is busy, try again shortly"),
                            kRetryAfterSeconds);
    case ErrorCode::kStorageFailure:
      obs::GlobalMetrics().RecordStoreError();
      return MessageResponse(500,
                             context_message.empty() ? "Something went wrong" : context_message);
    case ErrorCode::kStorageUnavailable:
      // The database is down or restarting: nothing was written, so the client may retry.
      obs::GlobalMetrics().RecordStoreError();
      return WithRetryAfter(MessageResponse(503, "Storage unavailable, try again shortly"),
                            kRetryAfterSeconds);
    case ErrorCode::kNotReady:
      return WithRetryAfter(MessageResponse(503, "Storage unavailable"), kRetryAfterSeconds);
    default:
      // kInternal, and kInvalidKey: keys load at start; one reaching a request is a bug.
      return MessageResponse(500, "Something went wrong");
  }
}

}  // namespace

Response MessageResponse(unsigned status, std::string_view message) {
  Response response;
  response.status = status;
  response.body = JsonObjectWriter().Add("message", message).Finish();
  return response;
}

// Each code is answered by the one family that knows it (a function each, so each stays a
// short table); none of them knows a code this file was not taught, which answers 500.
Response ErrorResponse(const Error& error, std::string_view context_message) {
  if (auto refusal = RequestRefusal(error)) return std::move(*refusal);
  if (auto refusal = CredentialRefusal(error)) return std::move(*refusal);
  return ServerFailure(error, context_message);
}

}  // namespace gatehouse::http
