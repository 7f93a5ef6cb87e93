#include "api/routes.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "api/browser_tokens.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

using HandlerFunction = void (*)(const http::Request&, Services&, Reply);

struct Entry {
  std::string_view path;
  http::Method method;
  HandlerFunction handler;
  bool prefix = false;  // `path` is a prefix followed by more (DELETE /sessions/{id}, /admin/...)
};

bool Matches(const Entry& entry, std::string_view path) {
  if (!entry.prefix) return entry.path == path;
  return path.size() > entry.path.size() && path.starts_with(entry.path);
}

using http::Method;

// Few routes: a linear scan over string_views beats hashing at this size. A path with several
// methods has one entry each, next to each other. The metrics label each route by the index of
// its path's first entry; keep the table under obs::Metrics::kMaxRoutes.
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
    Entry{"/sessions/", Method::kDelete, EndSessionHandler, true},
    Entry{"/openapi.json", Method::kGet, OpenApi},
    Entry{"/password/reset", Method::kPost, PasswordReset},
    Entry{"/revocations", Method::kGet, Revocations},
    // Every path under /admin/: the admin API routes within it (its own 404 and 405).
    Entry{"/admin/", Method::kOther, Admin, true},
};
constexpr std::size_t kAdminRoute = kRoutes.size() - 1;
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

constexpr std::size_t kUnrouted = obs::Metrics::kMaxRoutes - 1;

std::string_view MethodName(Method method) {
  static constexpr std::string_view kNames[] = {"GET",   "HEAD",   "POST",    "PUT",
                                                "PATCH", "DELETE", "OPTIONS", "OTHER"};
  return kNames[static_cast<int>(method)];
}

// The methods of the route at `first` (and its path's further entries), the one source of both
// 405's Allow and a preflight's Access-Control-Allow-Methods. A GET route serves HEAD too.
std::string MethodsOf(std::size_t first) {
  std::string methods;
  for (std::size_t i = first; i < kRoutes.size() && kRoutes[i].path == kRoutes[first].path; ++i) {
    if (!methods.empty()) methods += ", ";
    methods += MethodName(kRoutes[i].method);
    if (kRoutes[i].method == Method::kGet) methods += ", HEAD";
  }
  return methods;
}

// RFC 9110 §9.3.2: HEAD is served wherever GET is; the transport leaves the body out.
bool Serves(const Entry& entry, Method method) {
  return entry.method == method || (entry.method == Method::kGet && method == Method::kHead);
}

}  // namespace

std::vector<std::string> Routes::Names() {
  std::vector<std::string> names;
  // A prefix route is named by its pattern ("/sessions/{id}"), which it also routes.
  for (const auto& route : kRoutes) {
    names.push_back(std::string(route.path) + (route.prefix ? "{id}" : ""));
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
  // The admin API is not for browsers: its preflights get its own 405.
  if (Cors::IsPreflight(request) && route < kRoutes.size() && route != kAdminRoute) {
    http::Response response = Cors::Preflight(listed, MethodsOf(route));
    Cors::Decorate(response, listed);
    return reply(std::move(response));
  }
  Dispatch(route, request, [listed, reply = std::move(reply)](http::Response response) {
    Cors::Decorate(response, listed);
    reply(std::move(response));
  });
}

void Routes::Dispatch(std::size_t route, const http::Request& request, Reply reply) {
  if (route >= kRoutes.size()) return reply(http::MessageResponse(404, "Not found"));
  const auto entry =
      route == kAdminRoute
          ? kRoutes.begin() + route
          : std::find_if(kRoutes.begin() + route, kRoutes.end(), [&](const Entry& e) {
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

void Me(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims) {
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  }

  if (auto cached = services.users.Get(claims->sub_key)) return reply(MeResponse(*cached));
  // Not cached (e.g. after a restart): one indexed read, off the I/O thread.
  RunOnPool(services.store_pool, std::move(reply), [&services, key = std::move(claims->sub_key)] {
    auto user = services.store.FindUser(key);
    if (!user) return http::ErrorResponse(user.error());
    if (!*user) return http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}});
    services.users.Put(key, (*user)->username, (*user)->created_at, (*user)->claims);
    return MeResponse({(*user)->username, (*user)->created_at, {}});
  });
}

}  // namespace gatehouse::api
