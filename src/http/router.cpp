#include "http/router.hpp"

#include <array>

#include "http/error_response.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::http {
namespace {

using Handler = void (*)(const Request&, api::Services&, api::Reply);

struct Route {
  std::string_view path;
  Method method;
  Handler handler;
  std::string_view allow;  // the Allow header when another method is used
};

// Few routes: a linear scan over string_views beats hashing at this size.
// The metrics label each route by its index here; keep it under obs::Metrics::kMaxRoutes.
constexpr std::array kRoutes = {
    Route{"/me", Method::kGet, api::Me, "GET"},
    Route{"/token/refresh", Method::kPost, api::TokenRefresh, "POST"},
    Route{"/login", Method::kPost, api::Login, "POST"},
    Route{"/registration", Method::kPost, api::Registration, "POST"},
    Route{"/logout/access", Method::kPost, api::LogoutAccess, "POST"},
    Route{"/logout/refresh", Method::kPost, api::LogoutRefresh, "POST"},
    Route{"/logout/all", Method::kPost, api::LogoutAll, "POST"},
    Route{"/token/introspect", Method::kPost, api::Introspect, "POST"},
    Route{"/.well-known/jwks.json", Method::kGet, api::Jwks, "GET"},
    Route{"/password", Method::kPost, api::ChangePasswordHandler, "POST"},
    Route{"/healthz", Method::kGet, api::Healthz, "GET"},
    Route{"/readyz", Method::kGet, api::Readyz, "GET"},
    Route{"/metrics", Method::kGet, api::Metrics, "GET"},
};

}  // namespace

std::size_t RouteIndex(std::string_view path) {
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (kRoutes[i].path == path) return i;
  }
  return obs::Metrics::kMaxRoutes - 1;
}

std::vector<std::string> RouteNames() {
  std::vector<std::string> names;
  for (const auto& route : kRoutes) names.emplace_back(route.path);
  return names;
}

void Route(const Request& request, api::Services& services, api::Reply reply) {
  for (const auto& route : kRoutes) {
    if (route.path != request.path) continue;
    if (route.method != request.method) {
      Response response = MessageResponse(405, "Method not allowed");
      response.headers.emplace_back("Allow", std::string(route.allow));
      return reply(std::move(response));
    }
    // `reply` is copied so it is still ours if the handler throws before using it.
    try {
      return route.handler(request, services, reply);
    } catch (const std::exception& e) {
      obs::Error("handler failed", {{"route", route.path}, {"error", e.what()}});
      return reply(MessageResponse(500, "Something went wrong"));
    }
  }
  reply(MessageResponse(404, "Not found"));
}

}  // namespace gatehouse::http
