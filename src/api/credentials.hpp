// The account endpoints' bodies: decoding the request, encoding an opened session. Only
// that: the rules the values must meet are the account module's (auth/accounts.hpp).
#pragma once

#include <string>

#include "auth/accounts.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// `username` and `password`; an absent field is empty. Errors: kMalformedBody,
// kUnsupportedMedia, a FieldError for a field that is not a string.
Result<auth::Credentials> ReadCredentials(const http::Request& request);

// `old_password` and `new_password` of `username` (the token's subject); as above.
Result<auth::PasswordChange> ReadPasswordChange(const http::Request& request, std::string username);

// POST /password/reset's `username`, `code` and `new_password`; as above.
Result<auth::PasswordResetRequest> ReadPasswordReset(const http::Request& request);

}  // namespace gatehouse::api
