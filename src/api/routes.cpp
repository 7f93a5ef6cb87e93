#include "api/routes.hpp"

#include <array>
#include <ctime>

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
  bool prefix = false;  // `path` is a prefix followed by an id (DELETE /sessions/{id})
};

bool Matches(const Entry& entry, std::string_view path) {
  if (!entry.prefix) return entry.path == path;
  return path.size() > entry.path.size() && path.starts_with(entry.path);
}

using http::Method;

// Few routes: a linear scan over string_views beats hashing at this size.
// The metrics label each route by its index here; the static_assert below keeps the table
// within obs::Metrics::kMaxRoutes (raise it there when a route does not fit).
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
};
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

// The Allow header when another method is used: a GET route serves HEAD too.
constexpr std::string_view AllowFor(http::Method method) {
  switch (method) {
    case http::Method::kGet:
      return "GET, HEAD";
    case http::Method::kDelete:
      return "DELETE";
    default:
      return "POST";
  }
}

constexpr std::size_t kUnrouted = obs::Metrics::kMaxRoutes - 1;

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
  if (route >= kRoutes.size()) return reply(http::MessageResponse(404, "Not found"));
  const Entry& entry = kRoutes[route];
  // RFC 9110 §9.3.2: HEAD is served wherever GET is; the transport leaves the body out.
  const bool head_of_get = entry.method == Method::kGet && request.method == Method::kHead;
  if (entry.method != request.method && !head_of_get) {
    http::Response response = http::MessageResponse(405, "Method not allowed");
    response.headers.emplace_back("Allow", std::string(AllowFor(entry.method)));
    return reply(std::move(response));
  }
  // `reply` is copied so it is still ours if the handler throws before using it.
  try {
    return entry.handler(request, services_, reply);
  } catch (const std::exception& e) {
    obs::Error("handler failed", {{"route", entry.path}, {"error", e.what()}});
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
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));

  if (auto cached = services.users.Get(claims->sub_key)) return reply(MeResponse(*cached));
  // Not cached (e.g. after a restart): one indexed read, off the I/O thread.
  RunOnPool(services.store_pool, std::move(reply), [&services, key = std::move(claims->sub_key)] {
    auto user = services.store.FindUser(key);
    if (!user) return http::ErrorResponse(user.error());
    if (!*user) return http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}});
    services.users.Put(key, (*user)->username, (*user)->created_at);
    return MeResponse({(*user)->username, (*user)->created_at});
  });
}

}  // namespace gatehouse::api
