#include "api/credentials.hpp"

#include "http/body.hpp"

namespace gatehouse::api {
namespace {

// An absent field reads as empty, which the account rules answer as blank.
std::string Take(std::optional<std::string>& field) {
  return field ? std::move(*field) : std::string();
}

}  // namespace

Result<auth::Credentials> ReadCredentials(const http::Request& request) {
  auto fields = http::DecodeFields(request.content_type, request.body, {"username", "password"});
  if (!fields) return fields.error();
  return auth::Credentials(Take((*fields)[0]), Take((*fields)[1]));
}

Result<auth::PasswordChange> ReadPasswordChange(const http::Request& request,
                                                std::string username) {
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"old_password", "new_password"});
  if (!fields) return fields.error();
  auth::PasswordChange change;
  change.username = std::move(username);
  change.old_password = Take((*fields)[0]);
  change.new_password = Take((*fields)[1]);
  return change;
}

Result<auth::PasswordResetRequest> ReadPasswordReset(const http::Request& request) {
  auto fields =
      http::DecodeFields(request.content_type, request.body, {"username", "code", "new_password"});
  if (!fields) return fields.error();
  auth::PasswordResetRequest reset;
  reset.username = Take((*fields)[0]);
  reset.code = Take((*fields)[1]);
  reset.new_password = Take((*fields)[2]);
  return reset;
}

}  // namespace gatehouse::api
