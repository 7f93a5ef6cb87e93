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
    Entry{"/token/revoke", Method::kPost, TokenRevoke},
    Entry{"/.well-known/oauth-authorization-server", Method::kGet, ServerMetadata},
    Entry{"/.well-known/jwks.json", Method::kGet, Jwks},
    Entry{"/password", Method::kPost, ChangePasswordHandler},
    Entry{"/healthz", Method::kGet, Healthz},
    Entry{"/readyz", Method::kGet, Readyz},
    Entry{"/metrics", Method::kGet, Metrics},
};
static_assert(kRoutes.size() < obs::Metrics::kMaxRoutes);

// The Allow header when another method is used: a GET route serves HEAD too.
constexpr std::string_view AllowFor(http::Method method) {
  return method == http::Method::kGet ? "GET, HEAD" : "POST";
}

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

}  // namespace gatehouse::api
