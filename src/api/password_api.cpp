// POST /password and POST /logout/all: the endpoints that revoke every token of a user.
#include "api/attempt_limits.hpp"
#include "api/credentials.hpp"
#include "api/services.hpp"
#include "api/user_tokens.hpp"
#include "auth/passwords.hpp"
#include "http/error_response.hpp"
#include "obs/metrics.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

struct PasswordChange {
  std::string username;
  std::string old_password;
  std::string new_password;
  ~PasswordChange() {
    auth::Wipe(old_password);
    auth::Wipe(new_password);
  }
};

Error FieldError(std::string_view field, std::string_view what) {
  return Error{ErrorCode::kBadRequest, std::string(field) + ": " + std::string(what)};
}

Result<PasswordChange> ReadPasswordChange(const http::Request& request, const Services& services,
                                          std::string username) {
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"old_password", "new_password"});
  if (!fields) return fields.error();
  auto& old_password = (*fields)[0];
  auto& new_password = (*fields)[1];
  if (!old_password || old_password->empty()) {
    return FieldError("old_password", "This field cannot be blank");
  }
  if (!new_password || new_password->empty()) {
    return FieldError("new_password", "This field cannot be blank");
  }
  if (old_password->size() > auth::kMaxPasswordBytes) {
    return FieldError("old_password", "Must be at most 1024 bytes");
  }
  const auto min_length = static_cast<std::size_t>(services.settings.password_min_length);
  if (auto problem = PasswordProblem(*new_password, min_length); !problem.empty()) {
    return FieldError("new_password", problem);
  }
  if (services.deny_list.Contains(*new_password)) {
    return FieldError("new_password", "Too common, choose another");
  }
  return PasswordChange{std::move(username), std::move(*old_password), std::move(*new_password)};
}

http::Response ChangePassword(const PasswordChange& change, Services& services) {
  auto user = services.store.FindUser(change.username);
  if (!user) return http::ErrorResponse(user.error());
  const bool matches = *user ? auth::VerifyPassword((*user)->password_hash, change.old_password)
                             : auth::VerifyAgainstDummy(change.old_password);
  if (!matches) return http::ErrorResponse(Error{ErrorCode::kWrongCredentials, {}});
  auto hash = auth::HashPassword(change.new_password);
  if (!hash) return http::ErrorResponse(hash.error());
  // The new hash and the revocation of every token are one transaction: no moment exists
  // where the new password works and an old token is still good, or the reverse.
  auto revoked = services.store.ChangePassword(change.username, *hash, services.tokens.Now());
  if (!revoked) return http::ErrorResponse(revoked.error());
  ApplyRevoked(services, *revoked);
  store::UserRecord changed = std::move(**user);
  changed.password_version = revoked->password_version;
  auto tokens = OpenSession(services, changed);
  if (!tokens) return http::ErrorResponse(tokens.error());
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("message", "Password changed")
                      .Add("access_token", tokens->access_token)
                      .Add("refresh_token", tokens->refresh_token)
                      .Finish();
  response.no_store = true;
  return response;
}

// On the hash pool: the shared count first (several instances), then the change; a success
// gives the attempt back.
http::Response ChangePasswordJob(const PasswordChange& change, const std::string& address,
                                 const auth::LimiterKey& limiter_key, Services& services) {
  const std::vector<SharedAttempt> attempts{
      LoginPerUserAttempt(services.settings, change.username, address)};
  if (auto refused = TakeShared(services.store, attempts)) return std::move(*refused);
  http::Response response = ChangePassword(change, services);
  if (response.status == 200) {
    services.limits.login_per_user.GiveBack(limiter_key, auth::MonotonicMillis());
    GiveBackShared(services.store, attempts);
  }
  return response;
}

}  // namespace

void ChangePasswordHandler(const http::Request& request, Services& services, Reply reply) {
  auto token = auth::TokenService::BearerToken(request.authorization);
  if (!token) return reply(http::ErrorResponse(token.error()));
  auto claims = services.tokens.Verify(*token, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (!claims->fresh) return reply(http::ErrorResponse(Error{ErrorCode::kNeedFreshToken, {}}));
  auto change = ReadPasswordChange(request, services, claims->sub);
  if (!change) return reply(http::ErrorResponse(change.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(std::move(*refused));
  }

  // A wrong old password counts as a failed login for this user and address, on every
  // instance: the same bucket as /login's.
  const auth::LimiterKey limiter_key = auth::LimiterKeyOf(claims->sub, request.client_address);
  const int64_t now = auth::MonotonicMillis();
  if (const int64_t wait = services.limits.login_per_user.Take(limiter_key, now); wait > 0) {
    return reply(TooMany(wait, obs::RateLimitKind::kLoginPerUser));
  }
  auto shared = std::make_shared<PasswordChange>(std::move(*change));
  RunOnPool(services.hash_pool, std::move(reply),
            [shared, &services, limiter_key, address = request.client_address] {
              return ChangePasswordJob(*shared, address, limiter_key, services);
            });
}

void LogoutAll(const http::Request& request, Services& services, Reply reply) {
  auto token = auth::TokenService::BearerToken(request.authorization);
  if (!token) return reply(http::ErrorResponse(token.error()));
  auto claims = services.tokens.Verify(*token, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(std::move(*refused));
  }
  RunOnPool(services.store_pool, std::move(reply), [&services, username = claims->sub] {
    if (Status revoked = RevokeEveryToken(services, username); !revoked) {
      return http::ErrorResponse(revoked.error(), "Logout all went wrong");
    }
    return http::MessageResponse(200, "All tokens have been revoked");
  });
}

}  // namespace gatehouse::api
