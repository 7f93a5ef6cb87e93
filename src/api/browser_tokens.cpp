#include "api/browser_tokens.hpp"

#include <string>

#include "http/error_response.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

bool IsStateChanging(http::Method method) {
  return method == http::Method::kPost || method == http::Method::kPut ||
         method == http::Method::kPatch || method == http::Method::kDelete;
}

// One Set-Cookie value with §11's attributes. `http_only` for the token cookie; its CSRF
// cookie stays readable by the page's scripts, which send it back as X-CSRF-TOKEN.
std::string CookieLine(const config::Settings& settings, std::string_view name,
                       std::string_view value, bool http_only, bool clear) {
  std::string line;
  line.reserve(name.size() + value.size() + 96);
  line.append(name).append("=").append(value).append("; Path=/");
  if (!settings.cookies_domain.empty()) line.append("; Domain=").append(settings.cookies_domain);
  if (clear) {
    line.append("; Max-Age=0");
  } else if (settings.cookies_max_age_seconds > 0) {
    line.append("; Max-Age=").append(std::to_string(settings.cookies_max_age_seconds));
  }
  if (settings.cookies_secure) line.append("; Secure");
  if (http_only) line.append("; HttpOnly");
  line.append("; SameSite=").append(settings.cookies_samesite);
  return line;
}

void AddPair(http::Response& response, const config::Settings& settings, CookiePair pair,
             std::string_view token, std::string_view csrf, bool clear) {
  const bool access = pair == CookiePair::kAccess;
  response.headers.emplace_back(
      "Set-Cookie", CookieLine(settings, access ? auth::kAccessCookie : auth::kRefreshCookie, token,
                               /*http_only=*/true, clear));
  response.headers.emplace_back(
      "Set-Cookie",
      CookieLine(settings, access ? auth::kAccessCsrfCookie : auth::kRefreshCsrfCookie, csrf,
                 /*http_only=*/false, clear));
}

}  // namespace

auth::BearerInput BearerInputOf(const http::Request& request) {
  return {request.authorization, request.cookie, request.csrf_token,
          IsStateChanging(request.method)};
}

Result<auth::Claims> VerifyRequestToken(const http::Request& request, const Services& services,
                                        auth::TokenType expected) {
  return services.tokens.VerifyBearer(BearerInputOf(request), expected);
}

bool TokenFromCookie(const http::Request& request, const Services& services,
                     auth::TokenType expected) {
  auto located = services.tokens.Locate(BearerInputOf(request), expected);
  return located && located->from_cookie;
}

http::Response TokenRefusal(const Error& error, const Services& services, auth::TokenType type,
                            bool from_cookie) {
  http::Response response = http::ErrorResponse(error);
  if (error.code == ErrorCode::kTokenRevoked && from_cookie) {
    ClearCookiePair(response, services.settings,
                    type == auth::TokenType::kAccess ? CookiePair::kAccess : CookiePair::kRefresh);
  }
  return response;
}

void ClearCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair) {
  if (settings.tokens_in_cookies) AddPair(response, settings, pair, {}, {}, /*clear=*/true);
}

http::Response SessionResponse(const config::Settings& settings, std::string_view message,
                               const auth::TokenPair& tokens) {
  http::Response response;
  JsonObjectWriter body;
  body.Add("message", message);
  if (settings.tokens_in_headers) {
    body.Add("access_token", tokens.access_token).Add("refresh_token", tokens.refresh_token);
  }
  response.body = body.Finish();
  if (settings.tokens_in_cookies) {
    AddPair(response, settings, CookiePair::kAccess, tokens.access_token, tokens.access_csrf,
            false);
    AddPair(response, settings, CookiePair::kRefresh, tokens.refresh_token, tokens.refresh_csrf,
            false);
  }
  response.no_store = true;
  return response;
}

http::Response RefreshedResponse(const config::Settings& settings, const auth::IssuedToken& access,
                                 const auth::IssuedToken* refresh) {
  http::Response response;
  JsonObjectWriter body;
  if (settings.tokens_in_headers) {
    body.Add("access_token", access.token);
    if (refresh != nullptr) body.Add("refresh_token", refresh->token);
  } else {
    body.Add("message", "Token refreshed");
  }
  response.body = body.Finish();
  if (settings.tokens_in_cookies) {
    AddPair(response, settings, CookiePair::kAccess, access.token, access.csrf, false);
    if (refresh != nullptr) {
      AddPair(response, settings, CookiePair::kRefresh, refresh->token, refresh->csrf, false);
    }
  }
  response.no_store = true;
  return response;
}

}  // namespace gatehouse::api
