#include "api/routes.hpp"

#include <algorithm>
#include <array>

#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::api {
namespace {

using HandlerFunction = void (*)(const http::Request&, Services&, Reply);

struct Entry {
  std::string_view path;
  http::Method method;
  HandlerFunction handler;
};

using http::Method;

// Few routes: a linear scan over string_views beats hashing at this size.
// The metrics label each route by its index here; keep it under obs::Metrics::kMaxRoutes.
constexpr std::array kRoutes = {
    Entry{"/me", Method::kGet, Me},
    Entry{"/token/refresh", Method::kPost, TokenRefresh},
    Entry{"/login", Method::kPost, Login},
    Entry{"/registration", Method::kPost, Registration},
    Entry{"/logout/access", Method::kPost, LogoutAccess},
    Entry{"/logout/refresh", Method::kPost, LogoutRefresh},
    Entry{"/logout/all", Method::kPost, LogoutAll},
    Entry{"/token/introspect", Method::kPost, Introspect},
    Entry{"/.well-known/jwks.json", Method::kGet, Jwks},
    Entry{"/password", Method::kPost, ChangePasswordHandler},
    Entry{"/healthz", Method::kGet, Healthz},
    Entry{"/readyz", Method::kGet, Readyz},
    Entry{"/metrics", Method::kGet, Metrics},
};
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

constexpr std::size_t kUnrouted = obs::Metrics::kMaxRoutes - 1;

std::string_view MethodName(Method method) {
  static constexpr std::string_view kNames[] = {"GET",   "HEAD",   "POST",    "PUT",
                                                "PATCH", "DELETE", "OPTIONS", "OTHER"};
  return kNames[static_cast<int>(method)];
}

// The methods of `path` from the table, the one source of both 405's Allow and a
// preflight's Access-Control-Allow-Methods: "GET" or "GET, POST".
std::string MethodsOf(std::string_view path) {
  std::string methods;
  for (const auto& route : kRoutes) {
    if (route.path != path) continue;
    if (!methods.empty()) methods += ", ";
    methods += MethodName(route.method);
  }
  return methods;
}

}  // namespace

std::vector<std::string> Routes::Names() {
  std::vector<std::string> names;
  for (const auto& route : kRoutes) names.emplace_back(route.path);
  return names;
}

std::size_t Routes::Route(const http::Request& request) const {
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (kRoutes[i].path == request.path) return i;
  }
  return kUnrouted;
}

void Routes::Serve(std::size_t route, const http::Request& request, Reply reply) {
  if (!cors_.enabled()) return Dispatch(route, request, std::move(reply));
  // Every answer then depends on Origin; a listed one gets the CORS headers, 404s included.
  const std::string* listed = cors_.Listed(request.origin);
  if (Cors::IsPreflight(request) && route < kRoutes.size()) {
    http::Response response = Cors::Preflight(listed, MethodsOf(kRoutes[route].path));
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
  // A path with several methods has one entry each, from the first of its path on.
  const auto entry = std::find_if(kRoutes.begin() + route, kRoutes.end(), [&](const Entry& e) {
    return e.path == request.path && e.method == request.method;
  });
  if (entry == kRoutes.end()) {
    http::Response response = http::MessageResponse(405, "Method not allowed");
    response.headers.emplace_back("Allow", MethodsOf(request.path));
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

}  // namespace gatehouse::api
