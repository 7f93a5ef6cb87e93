#include "api/browser_tokens.hpp"

#include <atomic>
#include <cstdint>
#include <string>

#include "obs/logging.hpp"

namespace gatehouse::api {
namespace {

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

void ReportCookieTooLarge(std::size_t bytes) {
  static std::atomic<int64_t> last_logged{0};
  if (obs::LogDue(last_logged, 5)) {
    obs::Warn(
        "a token is too large for a browser cookie: its cookie pair was cleared instead "
        "(the user's claims make the token too long; keep them short in cookie mode)",
        {{"cookie_bytes", std::to_string(bytes)}, {"limit", std::to_string(kMaxCookieBytes)}});
  }
}

}  // namespace

void SetCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair,
                   std::string_view token, std::string_view csrf) {
  if (!settings.tokens_in_cookies) return;
  const std::string_view name =
      pair == CookiePair::kAccess ? auth::kAccessCookie : auth::kRefreshCookie;
  if (name.size() + 1 + token.size() > kMaxCookieBytes) {
    // A browser drops the cookie without a word and keeps the one it had, which may be another
    // user's (attacker round 9, F4): end that pair instead, so the page is plainly signed out.
    ReportCookieTooLarge(name.size() + 1 + token.size());
    AddPair(response, settings, pair, {}, {}, /*clear=*/true);
    return;
  }
  AddPair(response, settings, pair, token, csrf, /*clear=*/false);
}

void ClearCookiePair(http::Response& response, const config::Settings& settings, CookiePair pair) {
  if (settings.tokens_in_cookies) AddPair(response, settings, pair, {}, {}, /*clear=*/true);
}

}  // namespace gatehouse::api
