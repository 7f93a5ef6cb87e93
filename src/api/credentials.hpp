// The §5 input rules for usernames and passwords.
#pragma once

#include <string>
#include <string_view>

#include "http/body.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

inline constexpr std::size_t kMaxUsernameChars = 64;

struct Credentials {
  std::string username;
  std::string password;
  Credentials() = default;
  Credentials(Credentials&&) = default;
  Credentials& operator=(Credentials&&) = default;
  ~Credentials();  // zeroes the password
};

// Decodes `username` and `password` from the body and checks them, in that order, so the first
// problem is the one reported: kBadRequest "<field>: <what is wrong>", kMalformedBody,
// kUnsupportedMedia. `check_rules` is false for login: there only blank fields and passwords
// over 1024 bytes are refused, and any other name or password is simply tried.
Result<Credentials> ReadCredentials(const http::Request& request, std::size_t min_password,
                                    bool check_rules);

// Empty when valid, else what is wrong ("must be 1-64 characters of ...").
std::string UsernameProblem(std::string_view username);
std::string PasswordProblem(std::string_view password, std::size_t min_password);

}  // namespace gatehouse::api
