#include "api/routes.hpp"

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
  std::string_view allow;  // the Allow header when another method is used
};

using http::Method;

// Few routes: a linear scan over string_views beats hashing at this size.
// The metrics label each route by its index here; keep it under obs::Metrics::kMaxRoutes.
constexpr std::array kRoutes = {
    Entry{"/me", Method::kGet, Me, "GET"},
    Entry{"/token/refresh", Method::kPost, TokenRefresh, "POST"},
    Entry{"/login", Method::kPost, Login, "POST"},
    Entry{"/registration", Method::kPost, Registration, "POST"},
    Entry{"/logout/access", Method::kPost, LogoutAccess, "POST"},
    Entry{"/logout/refresh", Method::kPost, LogoutRefresh, "POST"},
    Entry{"/logout/all", Method::kPost, LogoutAll, "POST"},
    Entry{"/token/introspect", Method::kPost, Introspect, "POST"},
    Entry{"/.well-known/jwks.json", Method::kGet, Jwks, "GET"},
    Entry{"/password", Method::kPost, ChangePasswordHandler, "POST"},
    Entry{"/healthz", Method::kGet, Healthz, "GET"},
    Entry{"/readyz", Method::kGet, Readyz, "GET"},
    Entry{"/metrics", Method::kGet, Metrics, "GET"},
    Entry{"/password/reset", Method::kPost, PasswordReset, "POST"},
    // Every path under /admin/ (Route matches the prefix); the admin API routes within it.
    Entry{"/admin/", Method::kOther, Admin, ""},
};
constexpr std::size_t kAdminRoute = kRoutes.size() - 1;
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

constexpr std::size_t kUnrouted = obs::Metrics::kMaxRoutes - 1;

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
  if (request.path.substr(0, kRoutes[kAdminRoute].path.size()) == kRoutes[kAdminRoute].path) {
    return kAdminRoute;
  }
  return kUnrouted;
}

void Routes::Serve(std::size_t route, const http::Request& request, Reply reply) {
  if (route >= kRoutes.size()) return reply(http::MessageResponse(404, "Not found"));
  const Entry& entry = kRoutes[route];
  if (entry.method != request.method && route != kAdminRoute) {
    http::Response response = http::MessageResponse(405, "Method not allowed");
    response.headers.emplace_back("Allow", std::string(entry.allow));
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

}  // namespace gatehouse::api
