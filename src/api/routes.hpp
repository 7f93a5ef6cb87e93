// The route table: maps (method, path) to a handler: 404 for an unknown path, 405 with Allow
// for a known path and another method, CORS preflights from it (api/cors.hpp). Exceptions from a
// handler (bugs) become a logged 500 here, once. The transport (http/) sees it only as an
// http::Handler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/cors.hpp"
#include "api/services.hpp"
#include "http/handler.hpp"

namespace gatehouse::api {

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
