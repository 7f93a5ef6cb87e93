// Tokens for browsers (API.md §11): the bearer step as a request makes it (Authorization
// header or Flask-JWT-Extended's cookies with double-submit CSRF, by tokens.location), and the
// cookies that answers set and clear.
#pragma once

#include <string_view>

#include "api/services.hpp"
#include "auth/token_service.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// The raw values of `request` the bearer step reads.
auth::BearerInput BearerInputOf(const http::Request& request);

// The one bearer step of every token-protected handler: TokenService::VerifyBearer over the
// request's header or cookie.
Result<auth::Claims> VerifyRequestToken(const http::Request& request, const Services& services,
                                        auth::TokenType expected);

// Whether the token of `expected`'s type that `request` presents was read from its cookie.
bool TokenFromCookie(const http::Request& request, const Services& services,
                     auth::TokenType expected);

// The answer to a refused token: http::ErrorResponse, and for "Token has been revoked" about
// a token read from a cookie, that token's cookie pair cleared (a dead cookie is of no use to
// the browser). Nothing else clears cookies: a CSRF refusal may come from another site.
http::Response TokenRefusal(const Error& error, const Services& services, auth::TokenType type,
                            bool from_cookie);
inline http::Response TokenRefusal(const http::Request& request, const Services& services,
                                   auth::TokenType type, const Error& error) {
  return TokenRefusal(
      error, services, type,
      error.code == ErrorCode::kTokenRevoked && TokenFromCookie(request, services, type));
}

// The two cookies of one token: the HttpOnly token cookie and its script-readable CSRF cookie.
enum class CookiePair { kAccess, kRefresh };

// Adds Set-Cookie headers that end `pair` (Max-Age=0), when cookies are on.
void ClearCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair);

// 200 {"message", "access_token", "refresh_token"} (the tokens only with headers on) and, with
// cookies on, the four cookies; not to be cached.
http::Response SessionResponse(const config::Settings& settings, std::string_view message,
                               const auth::TokenPair& tokens);

// The answer of /token/refresh: {"access_token"} with headers on ({"message": "Token
// refreshed"} with cookies alone) and the access cookie pair. With rotation a new refresh
// token comes too (`refresh` not null): then "refresh_token" and the refresh pair, which
// replaces the browser's old one (same name, path and domain).
http::Response RefreshedResponse(const config::Settings& settings, const auth::IssuedToken& access,
                                 const auth::IssuedToken* refresh = nullptr);

}  // namespace gatehouse::api
