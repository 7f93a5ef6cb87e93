// The one Error -> HTTP mapping: typed extras become the message and headers.
#include "http/error_response.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace gatehouse::http {
namespace {

std::optional<std::string> Header(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(ErrorResponse, FieldErrorIs400WithFieldAndReason) {
  const Response response = ErrorResponse(FieldError("password", "Too common, choose another"));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.body, R"({"message":"password: Too common, choose another"})");
}

TEST(ErrorResponse, RateLimitedCarriesItsSecondsInRetryAfter) {
  const Response response = ErrorResponse(RateLimitedError(7));
  EXPECT_EQ(response.status, 429u);
  EXPECT_EQ(Header(response, "Retry-After"), "7");
}

TEST(ErrorResponse, TakenUsernameIs409NamingIt) {
  Error taken(ErrorCode::kUsernameTaken, "log only");
  taken.field = "Alice";
  const Response response = ErrorResponse(taken);
  EXPECT_EQ(response.status, 409u);
  EXPECT_EQ(response.body, R"({"message":"User Alice already exists"})");
}

TEST(ErrorResponse, DetailNeverReachesTheClient) {
  const Response response = ErrorResponse(Error(ErrorCode::kInternal, "secret detail"));
  EXPECT_EQ(response.status, 500u);
  EXPECT_EQ(response.body.find("secret"), std::string::npos);
}

TEST(ErrorResponse, BadIntrospectionCredentialsChallengeWithTheRealm) {
  const Response response = ErrorResponse(Error(ErrorCode::kWrongCallerSecret));
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(Header(response, "WWW-Authenticate"), "Bearer realm=\"gatehouse\"");
}

// The mapper answers each code from the family that knows it; a code none of them knows
// would fall through to 500. Only the server's own failures may answer 500.
TEST(ErrorResponse, OnlyServerFailuresAnswer500) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kWrongAdminSecret); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const bool server_failure = code == ErrorCode::kStorageFailure ||
                                code == ErrorCode::kInternal || code == ErrorCode::kInvalidKey;
    EXPECT_EQ(ErrorResponse(Error(code)).status == 500u, server_failure) << "code " << i;
  }
}

}  // namespace
}  // namespace gatehouse::http
