#include "http/error_response.hpp"

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

}  // namespace

Response MessageResponse(unsigned status, std::string_view message) {
  Response response;
  response.status = status;
  response.body = JsonObjectWriter().Add("message", message).Finish();
  return response;
}

Response ErrorResponse(const Error& error, std::string_view context_message) {
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
    case ErrorCode::kWrongCredentials:
      return MessageResponse(401, "Wrong credentials");
    case ErrorCode::kUserNotFound:
      return MessageResponse(404, "User not found");
    case ErrorCode::kSessionNotFound:
      return MessageResponse(404, "Session not found");
    case ErrorCode::kWrongCallerSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid introspection credentials"));
    case ErrorCode::kMissingToken:
      return WithRealmChallenge(MessageResponse(401, "Missing Authorization Header"));
    case ErrorCode::kMissingCookie:
      return WithRealmChallenge(MessageResponse(401, "Missing cookie \"" + error.field + "\""));
    case ErrorCode::kMissingCsrf:
      return TokenError("Missing CSRF token");
    case ErrorCode::kCsrfMismatch:
      return TokenError("CSRF double submit tokens do not match");
    case ErrorCode::kInvalidToken:
      return TokenError("Invalid token");
    case ErrorCode::kTokenExpired:
      return TokenError("Token has expired");
    case ErrorCode::kTokenNotYetValid:
      return TokenError("Token not yet valid");
    case ErrorCode::kTokenRevoked:
      return TokenError("Token has been revoked");
    case ErrorCode::kNeedRefreshToken:
      return TokenError("Only refresh tokens are allowed");
    case ErrorCode::kNeedAccessToken:
      return TokenError("Only access tokens are allowed");
    case ErrorCode::kNeedFreshToken:
      return TokenError("Fresh token required");
    case ErrorCode::kNotFound:
      return MessageResponse(404, "Not found");
    case ErrorCode::kOverloaded:
      return WithRetryAfter(MessageResponse(503, "Server is busy, try again shortly"),
                            kRetryAfterSeconds);
    case ErrorCode::kRateLimited:
      return WithRetryAfter(MessageResponse(429, "Too many attempts, try again later"),
                            std::to_string(error.retry_after_seconds));
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
    case ErrorCode::kAccountDisabled:
      return MessageResponse(403, "Account disabled");
    case ErrorCode::kInvalidResetCode:
      return MessageResponse(401, "Invalid or expired code");
    case ErrorCode::kRegistrationClosed:
      return MessageResponse(403, "Registration is disabled");
    case ErrorCode::kWrongAdminSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid admin credentials"));
    case ErrorCode::kWrongRevocationsSecret:
      return WithRealmChallenge(MessageResponse(401, "Invalid revocations credentials"));
    case ErrorCode::kInternal:
    case ErrorCode::kInvalidKey:  // keys load at start; one reaching a request is a bug
      return MessageResponse(500, "Something went wrong");
  }
  return MessageResponse(500, "Something went wrong");
}

}  // namespace gatehouse::http
