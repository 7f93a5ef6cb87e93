#include "http/error_response.hpp"

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
      return MessageResponse(400, error.detail);
    case ErrorCode::kMalformedBody:
      return MessageResponse(400, "Malformed request body");
    case ErrorCode::kUnsupportedMedia:
      return MessageResponse(415,
                             "Content-Type must be application/json or "
                             "application/x-www-form-urlencoded");
    case ErrorCode::kConflict:
      return MessageResponse(409, error.detail);
    case ErrorCode::kWrongCredentials:
      return MessageResponse(401, "Wrong credentials");
    case ErrorCode::kMissingToken: {
      Response response = MessageResponse(401, "Missing Authorization Header");
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gatehouse\"");
      return response;
    }
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
    case ErrorCode::kOverloaded: {
      Response response = MessageResponse(503, "Server is busy, try again shortly");
      response.headers.emplace_back("Retry-After", kRetryAfterSeconds);
      return response;
    }
    case ErrorCode::kRateLimited: {
      Response response = MessageResponse(429, "Too many attempts, try again later");
      response.headers.emplace_back("Retry-After", error.detail);
      return response;
    }
    case ErrorCode::kStorageFailure:
      obs::GlobalMetrics().RecordStoreError();
      return MessageResponse(500,
                             context_message.empty() ? "Something went wrong" : context_message);
    case ErrorCode::kStorageUnavailable: {
      // The database is down or restarting: nothing was written, so the client may retry.
      obs::GlobalMetrics().RecordStoreError();
      Response response = MessageResponse(503, "Storage unavailable, try again shortly");
      response.headers.emplace_back("Retry-After", kRetryAfterSeconds);
      return response;
    }
  }
  return MessageResponse(500, "Something went wrong");
}

}  // namespace gatehouse::http
