// CORS for browser applications on other origins (API.md §11): exact origins from
// cors.allowed_origins, never a wildcard, always with credentials. With none configured,
// answers carry no CORS header at all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace gatehouse::api {

class Cors {
 public:
  explicit Cors(const std::vector<std::string>& allowed_origins) : allowed_(allowed_origins) {}

  bool enabled() const { return !allowed_.empty(); }

  // The configured origin equal to `origin` (byte for byte, as RFC 6454 serialises it), or
  // null: the answer names the configured string, never echoes what the request sent.
  const std::string* Listed(std::string_view origin) const;

  // `Vary: Origin` (the answer depends on Origin whenever CORS is on) and, for a listed origin,
  // Access-Control-Allow-Origin/-Credentials/-Expose-Headers.
  static void Decorate(http::Response& response, const std::string* listed);

  // OPTIONS with Access-Control-Request-Method.
  static bool IsPreflight(const http::Request& request) {
    return request.method == http::Method::kOptions && !request.preflight_method.empty();
  }

  // The answer to a preflight on a known path whose methods are `methods` ("GET", "POST"):
  // 204 with the allowed methods and headers for a listed origin, else 403 `Origin not
  // allowed` with no CORS header.
  static http::Response Preflight(const std::string* listed, std::string_view methods);

 private:
  const std::vector<std::string>& allowed_;
};

}  // namespace gatehouse::api
