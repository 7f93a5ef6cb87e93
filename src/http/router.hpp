// Maps (method, path) to a handler: 404 for an unknown path, 405 with Allow for a known path
// and another method. Exceptions from a handler (bugs) become a logged 500 here, once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/services.hpp"
#include "http/request.hpp"

namespace gatehouse::http {

// The index of the route for `path` (metrics labels), or obs::Metrics::kMaxRoutes - 1.
std::size_t RouteIndex(std::string_view path);
std::vector<std::string> RouteNames();

// Runs on an I/O thread; the handler may answer later from a worker pool through `reply`.
void Route(const Request& request, api::Services& services, api::Reply reply);

}  // namespace gatehouse::http
