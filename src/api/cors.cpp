#include "api/cors.hpp"

#include <algorithm>

namespace gatehouse::api {
namespace {

// How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 7200).
constexpr std::string_view kMaxAgeSeconds = "600";

}  // namespace

const std::string* Cors::Listed(std::string_view origin) const {
  if (origin.empty()) return nullptr;
  const auto found = std::find(allowed_.begin(), allowed_.end(), origin);
  return found == allowed_.end() ? nullptr : &*found;
}

void Cors::Decorate(http::Response& response, const std::string* listed) {
  response.headers.emplace_back("Vary", "Origin");
  if (listed == nullptr) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", *listed);
  response.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  response.headers.emplace_back("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
}

http::Response Cors::Preflight(const std::string* listed, std::string_view methods) {
  if (listed == nullptr) return http::MessageResponse(403, "Origin not allowed");
  http::Response response;
  response.status = 204;
  response.content_type = {};
  response.headers.emplace_back("Access-Control-Allow-Methods", std::string(methods) + ", OPTIONS");
  response.headers.emplace_back("Access-Control-Allow-Headers",
                                "Authorization, Content-Type, X-CSRF-TOKEN");
  response.headers.emplace_back("Access-Control-Max-Age", std::string(kMaxAgeSeconds));
  return response;
}

}  // namespace gatehouse::api
