#include "api/credentials.hpp"

#include "auth/passwords.hpp"

namespace gatehouse::api {
namespace {

bool IsUsernameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '+' || c == '-';
}

Error FieldError(std::string_view field, std::string_view what) {
  return Error{ErrorCode::kBadRequest, std::string(field) + ": " + std::string(what)};
}

}  // namespace

Credentials::~Credentials() { auth::Wipe(password); }

std::string UsernameProblem(std::string_view username) {
  if (username.size() > kMaxUsernameChars) return "Must be at most 64 characters";
  for (char c : username) {
    if (!IsUsernameChar(c)) return "Only letters, digits and . _ @ + - are allowed";
  }
  return {};
}

std::string PasswordProblem(std::string_view password, std::size_t min_password) {
  if (password.size() < min_password) {
    return "Must be at least " + std::to_string(min_password) + " bytes";
  }
  if (password.size() > auth::kMaxPasswordBytes) return "Must be at most 1024 bytes";
  return {};
}

Result<Credentials> ReadCredentials(const http::Request& request, std::size_t min_password,
                                    bool check_rules) {
  auto fields = http::DecodeFields(request.content_type, request.body, {"username", "password"});
  if (!fields) return fields.error();
  auto& username = (*fields)[0];
  auto& password = (*fields)[1];
  if (!username || username->empty()) return FieldError("username", "This field cannot be blank");
  if (!password || password->empty()) return FieldError("password", "This field cannot be blank");
  // At login a name that could never have registered is simply an unknown user (401 after
  // the same work), so the answer says nothing about the rules.
  if (auto problem = UsernameProblem(*username); !problem.empty() && check_rules) {
    return FieldError("username", problem);
  }
  // Even at login an over-long password is refused: it bounds the work an attacker can ask for.
  const std::size_t minimum = check_rules ? min_password : 1;
  if (auto problem = PasswordProblem(*password, minimum); !problem.empty()) {
    return FieldError("password", problem);
  }
  Credentials credentials;
  credentials.username = std::move(*username);
  credentials.password = std::move(*password);
  return credentials;
}

}  // namespace gatehouse::api
