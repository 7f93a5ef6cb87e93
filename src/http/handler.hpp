// What the transport is given: the product behind it. http/ knows requests, responses and this
// interface; the route table and the handlers live in api/ and cli/serve.cpp wires them.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "http/request.hpp"

namespace gatehouse::http {

// Delivers the answer. May be called on any thread, exactly once.
using Reply = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;

  // The route `request` goes to, as an index that labels the request's metrics (it names a
  // route by path: a known path with another method keeps its path's index), or
  // obs::Metrics::kMaxRoutes - 1 (the "other" label) when no route has the path. Called before
  // Serve: a synchronous answer is sent, and counted, before Serve returns.
  virtual std::size_t Route(const Request& request) const = 0;
  // Answers `request`, which Route sent to `route`, through `reply`, now or later.
  virtual void Serve(std::size_t route, const Request& request, Reply reply) = 0;
  // Adds to an answer the transport makes itself, before any route (400 for bad framing, 413,
  // 431, 501), the headers every answer carries that depend on the request (CORS, by its
  // `origin`: the Origin field if the head got that far, else empty).
  virtual void DecorateRefusal(std::string_view origin, Response& response) const = 0;
};

}  // namespace gatehouse::http
