// The route table: maps (method, path) to a handler: 404 for an unknown path, 405 with Allow
// for a known path and another method, CORS preflights from it (api/cors.hpp). Exceptions from a
// handler (bugs) become a logged 500 here, once. The transport (http/) sees it only as an
// http::Handler. Beside it, the bearer step every token-protected handler takes (the token
// from the Authorization header or Flask-JWT-Extended's cookies with double-submit CSRF, by
// tokens.location; API.md §11), so that /me reads through this file alone before auth/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/cors.hpp"
#include "api/services.hpp"
#include "auth/token_service.hpp"
#include "http/handler.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// The raw values of `request` the bearer step reads.
auth::BearerInput BearerInputOf(const http::Request& request);

// The one bearer step of every token-protected handler: TokenService::VerifyBearer over the
// request's header or cookie.
Result<auth::Claims> VerifyRequestToken(const http::Request& request, const Services& services,
                                        auth::TokenType expected);

// The first step of a handler that revokes for the token's user (logout, ending a session):
// VerifyRequestToken, then `refusal` (a fault of the request itself, answered only to a valid
// token) when there is one, then one attempt of the per-user revocation budget. nullopt:
// refused, and `reply` has given the answer.
std::optional<auth::Claims> VerifyRevoker(const http::Request& request, Services& services,
                                          auth::TokenType expected, const Reply& reply,
                                          std::optional<Error> refusal = std::nullopt);

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

// RFC 9110 §9.3.2: a route of `route`'s method serves `method` (HEAD wherever GET; the
// transport leaves the body out). With AppendAllowed, the rule of this table and of the admin
// API's own (admin_api.cpp).
bool RouteServes(http::Method route, http::Method method);
// Appends `route` to an Allow list (", " between; a GET route brings HEAD).
void AppendAllowed(std::string& allow, http::Method route);

class Routes final : public http::Handler {
 public:
  explicit Routes(Services& services)
      : services_(services), cors_(services.settings.cors_allowed_origins) {}

  // The paths, by route index (the metrics' labels); called once at start-up.
  static std::vector<std::string> Names();

  // The index of the route for `path`, or obs::Metrics::kMaxRoutes - 1.
  std::size_t Route(const http::Request& request) const override;
  // Runs on an I/O thread; the handler may answer later from a worker pool through `reply`.
  void Serve(std::size_t route, const http::Request& request, Reply reply) override;
  // The CORS headers a routed answer to the same origin would carry (API.md §11).
  void DecorateRefusal(std::string_view origin, http::Response& response) const override;

 private:
  // 404, 405 with Allow, or the handler; CORS aside.
  void Dispatch(std::size_t route, const http::Request& request, Reply reply);

  Services& services_;
  Cors cors_;
};

}  // namespace gatehouse::api
