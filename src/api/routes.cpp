#include "api/routes.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "api/admin_request.hpp"
#include "api/attempt_limits.hpp"
#include "api/browser_tokens.hpp"
#include "api/known_user.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

using HandlerFunction = void (*)(const http::Request&, Services&, Reply);

// How an entry's path matches: exactly, or as a prefix followed by one segment
// (/sessions/{id}) or by anything (/admin/..., whose handler routes the rest itself).
enum class Match { kExact, kOneSegment, kAnyBelow };

using MethodsFunction = std::string (*)(const Services&, std::string_view path);

struct Entry {
  std::string_view path;
  // Method::kOther: the handler takes every method and answers 405 itself; `methods_below`
  // then names the methods of a path below `path` for its preflights.
  http::Method method;
  HandlerFunction handler;
  Match match = Match::kExact;
  MethodsFunction methods_below = nullptr;
};

bool IsStateChanging(http::Method method) {
  return method == http::Method::kPost || method == http::Method::kPut ||
         method == http::Method::kPatch || method == http::Method::kDelete;
}

bool Matches(const Entry& entry, std::string_view path) {
  if (entry.match == Match::kExact) return entry.path == path;
  if (path.size() <= entry.path.size() || !path.starts_with(entry.path)) return false;
  return entry.match == Match::kAnyBelow || path.find('/', entry.path.size()) == path.npos;
}

// Whether the handler of `entry` answers `method` itself (including 405 and preflights).
bool TakesEveryMethod(const Entry& entry) { return entry.method == http::Method::kOther; }

using http::Method;

// Few routes: a linear scan over string_views beats hashing at this size. A path with several
// methods has one entry each, next to each other. The metrics label each route by the index of
// its path's first entry; the static_assert below keeps the table within
// obs::Metrics::kMaxRoutes (raise it there when a route does not fit).
constexpr std::array kRoutes = {
    Entry{"/me", Method::kGet, Me},
    Entry{"/token/refresh", Method::kPost, TokenRefresh},
    Entry{"/login", Method::kPost, Login},
    Entry{"/registration", Method::kPost, Registration},
    Entry{"/logout/access", Method::kPost, LogoutAccess},
    Entry{"/logout/refresh", Method::kPost, LogoutRefresh},
    Entry{"/logout/all", Method::kPost, LogoutAll},
    Entry{"/token/introspect", Method::kPost, Introspect},
    Entry{"/token/revoke", Method::kPost, TokenRevoke},
    Entry{"/.well-known/oauth-authorization-server", Method::kGet, ServerMetadata},
    Entry{"/.well-known/jwks.json", Method::kGet, Jwks},
    Entry{"/password", Method::kPost, ChangePasswordHandler},
    Entry{"/healthz", Method::kGet, Healthz},
    Entry{"/readyz", Method::kGet, Readyz},
    Entry{"/metrics", Method::kGet, Metrics},
    Entry{"/sessions", Method::kGet, ListSessions},
    Entry{"/sessions/", Method::kDelete, EndSessionHandler, Match::kOneSegment},
    Entry{"/openapi.json", Method::kGet, OpenApi},
    Entry{"/password/reset", Method::kPost, PasswordReset},
    Entry{"/revocations", Method::kGet, Revocations},
    // Every path under /admin/: the admin API routes within it (its own 404 and 405).
    Entry{"/admin/", Method::kOther, Admin, Match::kAnyBelow, AdminMethods},
};
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

constexpr std::size_t kUnrouted = obs::Metrics::kMaxRoutes - 1;

std::string_view MethodName(Method method) {
  static constexpr std::string_view kNames[] = {"GET",   "HEAD",   "POST",    "PUT",
                                                "PATCH", "DELETE", "OPTIONS", "OTHER"};
  return kNames[static_cast<int>(method)];
}

// The methods of the route at `first` (and its path's further entries), the one source of both
// 405's Allow and a preflight's Access-Control-Allow-Methods.
std::string MethodsOf(std::size_t first) {
  std::string methods;
  for (std::size_t i = first; i < kRoutes.size() && kRoutes[i].path == kRoutes[first].path; ++i) {
    AppendAllowed(methods, kRoutes[i].method);
  }
  return methods;
}

bool Serves(const Entry& entry, Method method) {
  return TakesEveryMethod(entry) || RouteServes(entry.method, method);
}

}  // namespace

bool RouteServes(http::Method route, http::Method method) {
  return route == method || (route == http::Method::kGet && method == http::Method::kHead);
}

void AppendAllowed(std::string& allow, http::Method route) {
  if (!allow.empty()) allow += ", ";
  allow += MethodName(route);
  if (route == http::Method::kGet) allow += ", HEAD";
}

std::vector<std::string> Routes::Names() {
  std::vector<std::string> names;
  // A prefix route is named by its pattern ("/sessions/{id}"), which it also routes.
  for (const auto& route : kRoutes) {
    names.push_back(std::string(route.path) + (route.match != Match::kExact ? "{id}" : ""));
  }
  return names;
}

std::size_t Routes::Route(const http::Request& request) const {
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (Matches(kRoutes[i], request.path)) return i;
  }
  return kUnrouted;
}

void Routes::Serve(std::size_t route, const http::Request& request, Reply reply) {
  if (!cors_.enabled()) return Dispatch(route, request, std::move(reply));
  // Every answer then depends on Origin; a listed one gets the CORS headers, 404s included.
  const std::string* listed = cors_.Listed(request.origin);
  // A preflight carries no credentials: it is answered here, by the path's methods, for
  // every path that has some (an unknown one goes on to its 404).
  if (Cors::IsPreflight(request) && route < kRoutes.size()) {
    const Entry& entry = kRoutes[route];
    const std::string methods =
        TakesEveryMethod(entry) ? entry.methods_below(services_, request.path) : MethodsOf(route);
    if (!methods.empty()) {
      http::Response response = Cors::Preflight(listed, methods);
      Cors::Decorate(response, listed);
      return reply(std::move(response));
    }
  }
  Dispatch(route, request, [listed, reply = std::move(reply)](http::Response response) {
    Cors::Decorate(response, listed);
    reply(std::move(response));
  });
}

void Routes::DecorateRefusal(std::string_view origin, http::Response& response) const {
  if (cors_.enabled()) Cors::Decorate(response, cors_.Listed(origin));
}

void Routes::Dispatch(std::size_t route, const http::Request& request, Reply reply) {
  if (route >= kRoutes.size()) return reply(http::MessageResponse(404, "Not found"));
  const auto entry = std::find_if(kRoutes.begin() + route, kRoutes.end(), [&](const Entry& e) {
    return e.path == kRoutes[route].path && Serves(e, request.method);
  });
  if (entry == kRoutes.end()) {
    http::Response response = http::MessageResponse(405, "Method not allowed");
    response.headers.emplace_back("Allow", MethodsOf(route));
    return reply(std::move(response));
  }
  // `reply` is copied so it is still ours if the handler throws before using it.
  try {
    return entry->handler(request, services_, reply);
  } catch (const std::exception& e) {
    obs::Error("handler failed", {{"route", entry->path}, {"error", e.what()}});
    return reply(http::MessageResponse(500, "Something went wrong"));
  }
}

// GET /me, the smallest protected resource: its handler beside the table, so that its trace
// reads route -> handler -> token check in one file.
namespace {

http::Response MeResponse(const store::UserCache::Entry& user) {
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("username", user.username)
                      .Add("created_at", Rfc3339(user.created_at))
                      .Finish();
  return response;
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

std::optional<auth::Claims> VerifyRevoker(const http::Request& request, Services& services,
                                          auth::TokenType expected, const Reply& reply,
                                          std::optional<Error> refusal) {
  auto claims = VerifyRequestToken(request, services, expected);
  if (!claims) {
    reply(TokenRefusal(request, services, expected, claims.error()));
    return std::nullopt;
  }
  if (!refusal) {
    refusal = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                              obs::RateLimitKind::kRevocationPerUser);
  }
  if (refusal) {
    reply(http::ErrorResponse(*refusal));
    return std::nullopt;
  }
  return std::move(*claims);
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

void Me(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims) {
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  }

  if (auto cached = CachedUser(services, claims->sub_key)) return reply(MeResponse(*cached));
  // Not cached (e.g. after a restart): one indexed read, off the I/O thread.
  RunOnPool(services.store_pool, std::move(reply), [&services, key = std::move(claims->sub_key)] {
    auto user = ReadKnownUser(services, key);
    if (!user) return http::ErrorResponse(user.error());
    if (!*user) return http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}});
    return MeResponse(**user);
  });
}

}  // namespace gatehouse::api
