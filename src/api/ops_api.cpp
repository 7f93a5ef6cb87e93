// GET /healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus; and
// GET /openapi.json, the contract for client generators.
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::api {

void Healthz(const http::Request&, Services&, Reply reply) {
  http::Response response;
  response.body = R"({"status":"ok"})";
  reply(std::move(response));
}

void Readyz(const http::Request&, Services& services, Reply reply) {
  // Asked on the store pool: a storage call may block, and a full store pool is itself a sign
  // of not being ready (RunOnPool then answers 503).
  RunOnPool(services.store_pool, std::move(reply), [&services] {
    if (Status alive = services.store.Ping(); !alive) {
      return http::ErrorResponse(Error{ErrorCode::kNotReady, alive.error().detail});
    }
    http::Response response;
    response.body = R"({"status":"ready"})";
    return response;
  });
}

void Metrics(const http::Request&, Services& services, Reply reply) {
  http::Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  const store::GroupCommit::Counts durable = services.store.DurableWriteCounts();
  response.body =
      obs::GlobalMetrics().Render({services.hash_pool.QueueDepth(), services.revocations.Size(),
                                   durable.writes, durable.batches});
  reply(std::move(response));
}

void OpenApi(const http::Request&, Services&, Reply reply) {
  http::Response response;
  // Plain application/json, as OpenAPI tools expect; the bytes are docs/openapi.json's.
  response.content_type = "application/json";
  response.body = OpenApiDocument();
  reply(std::move(response));
}

}  // namespace gatehouse::api
