// The cookies of Flask-JWT-Extended's browser mode (API.md §11) that answers set and clear: the
// Set-Cookie lines only. What an answer holds is its handler's (SessionResponse in
// account_api.cpp, RefreshedResponse in token_api.cpp); reading a token from a cookie with its
// CSRF check is the bearer step's (api/routes.hpp, auth::TokenService::Locate).
#pragma once

#include <cstddef>
#include <string_view>

#include "api/services.hpp"
#include "auth/token_service.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// The two cookies of one token: the HttpOnly token cookie and its script-readable CSRF cookie.
enum class CookiePair { kAccess, kRefresh };

// The longest cookie (name, `=`, value) browsers keep (RFC 6265 §6.1 asks for at least 4096
// bytes; Chromium and Firefox keep no more).
inline constexpr std::size_t kMaxCookieBytes = 4096;

// Adds the two Set-Cookie headers of `pair` (§11's attributes), when cookies are on. A token
// whose cookie would be longer than kMaxCookieBytes (large claims) is not set: the pair is
// cleared instead and a warning logged, since a browser would silently keep the cookie it had.
void SetCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair,
                   std::string_view token, std::string_view csrf);
// Adds Set-Cookie headers that end `pair` (Max-Age=0), when cookies are on.
void ClearCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair);

}  // namespace gatehouse::api
