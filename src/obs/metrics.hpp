// Process-wide metrics, rendered in the Prometheus text format (version 0.0.4) by GET /metrics.
// Recording is lock-free (relaxed atomics) and allocation-free, so the hot paths can afford it.
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::obs {

// Keep in step with the names in Metrics::Render (metrics.cpp).
enum class RateLimitKind {
  kLoginPerUser,
  kLoginPerAddress,
  kRegistrationPerAddress,
  kRefreshPerUser,
  kRevocationPerUser,
};

// Values read at render time from their owners.
struct Gauges {
  std::size_t hash_queue_depth = 0;
  std::size_t revoked_tokens = 0;
  // The store's group commit (store/group_commit.hpp): durable writes and the transactions
  // (one fsync each) that held them; their ratio is the writes that shared one fsync.
  uint64_t durable_writes = 0;
  uint64_t durable_transactions = 0;
};

class Metrics {
 public:
  // Route slots, the last one "other". obs sits below api, so it cannot read the route table's
  // size; api/routes.cpp static_asserts that its table fits instead, so a route added past
  // the bound fails the build. Unused slots render nothing (metrics_test).
  static constexpr std::size_t kMaxRoutes = 32;

  // Names routes by index (the router's table order); called once at start-up.
  void SetRouteNames(std::vector<std::string> names);
  // `route` is the router's index, or kMaxRoutes - 1 for unknown paths.
  void RecordRequest(std::size_t route, unsigned status, double seconds);
  void RecordHashWait(double seconds);
  void RecordRateLimited(RateLimitKind kind);
  void RecordStoreError();

  std::string Render(const Gauges& gauges) const;

 private:
  void RenderRequests(std::string& out) const;
  static constexpr std::array<double, 13> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  static constexpr std::array<unsigned, 16> kStatuses = {200, 400, 401, 403, 404, 405, 409, 413,
                                                         415, 417, 429, 431, 500, 501, 503, 0};
  struct Histogram {
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> counts{};  // last: +Inf
    std::atomic<uint64_t> sum_nanos{0};
    void Record(double seconds);
    void Render(std::string& out, std::string_view name, std::string_view labels) const;
  };

  std::vector<std::string> route_names_;
  std::array<std::array<std::atomic<uint64_t>, kStatuses.size()>, kMaxRoutes> requests_{};
  std::array<Histogram, kMaxRoutes> latency_{};
  Histogram hash_wait_;
  std::array<std::atomic<uint64_t>, 5> rate_limited_{};
  std::atomic<uint64_t> store_errors_{0};
};

// The process's one registry, like the default registry of Prometheus client libraries.
Metrics& GlobalMetrics();

}  // namespace gatehouse::obs
