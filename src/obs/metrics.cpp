#include "obs/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <tuple>

#include "obs/webhook_metrics.hpp"

namespace gatehouse::obs {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void AppendNumber(std::string& out, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  out += text;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void Metrics::Histogram::Record(double seconds) {
  const auto bucket =
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  counts[static_cast<std::size_t>(bucket)].fetch_add(1, kRelaxed);
  sum_nanos.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9), kRelaxed);
}

void Metrics::Histogram::Render(std::string& out, std::string_view name,
                                std::string_view labels) const {
  uint64_t cumulative = 0;
  const std::string prefix = std::string(labels) + (labels.empty() ? "" : ",");
  for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
    cumulative += counts[i].load(kRelaxed);
    out.append(name).append("_bucket{").append(prefix).append("le=\"");
    if (i < kBuckets.size()) {
      AppendNumber(out, kBuckets[i]);
    } else {
      out += "+Inf";
    }
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out.append(name).append("_sum").append(braces).append(" ");
  AppendNumber(out, static_cast<double>(sum_nanos.load(kRelaxed)) / 1e9);
  out.append("\n").append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(cumulative)).append("\n");
}

void Metrics::SetRouteNames(std::vector<std::string> names) {
  names.resize(kMaxRoutes - 1);
  names.push_back("other");
  route_names_ = std::move(names);
}

void Metrics::RecordRequest(std::size_t route, unsigned status, double seconds) {
  route = std::min(route, kMaxRoutes - 1);
  const auto known = std::find(kStatuses.begin(), kStatuses.end() - 1, status);
  requests_[route][static_cast<std::size_t>(known - kStatuses.begin())].fetch_add(1, kRelaxed);
  latency_[route].Record(seconds);
}

void Metrics::RecordHashWait(double seconds) { hash_wait_.Record(seconds); }

void Metrics::RecordRateLimited(RateLimitKind kind) {
  rate_limited_[static_cast<std::size_t>(kind)].fetch_add(1, kRelaxed);
}

void Metrics::RecordStoreError() { store_errors_.fetch_add(1, kRelaxed); }

// Only routes that have a name: the table's unused slots (SetRouteNames) render nothing.
void Metrics::RenderRequests(std::string& out) const {
  AppendHeader(out, "gatehouse_http_requests_total", "counter",
               "HTTP requests by route and status");
  for (std::size_t route = 0; route < route_names_.size(); ++route) {
    if (route_names_[route].empty()) continue;
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const uint64_t count = requests_[route][s].load(kRelaxed);
      if (count == 0) continue;
      const std::string status = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      out.append("gatehouse_http_requests_total{route=\"").append(route_names_[route]);
      out.append("\",status=\"").append(status).append("\"} ");
      out.append(std::to_string(count)).append("\n");
    }
  }
  AppendHeader(out, "gatehouse_http_request_duration_seconds", "histogram",
               "Time from a complete request to its answer");
  for (std::size_t route = 0; route < route_names_.size(); ++route) {
    if (route_names_[route].empty()) continue;
    latency_[route].Render(out, "gatehouse_http_request_duration_seconds",
                           "route=\"" + route_names_[route] + "\"");
  }
}

std::string Metrics::Render(const Gauges& gauges) const {
  std::string out;
  out.reserve(16384);
  RenderRequests(out);
  AppendHeader(out, "gatehouse_hash_wait_seconds", "histogram",
               "Time password-hash jobs waited for a hash thread");
  hash_wait_.Render(out, "gatehouse_hash_wait_seconds", "");
  AppendHeader(out, "gatehouse_hash_queue_depth", "gauge", "Password-hash jobs waiting");
  out.append("gatehouse_hash_queue_depth ").append(std::to_string(gauges.hash_queue_depth)) += "\n";
  AppendHeader(out, "gatehouse_rate_limited_total", "counter", "Requests refused with 429");
  static constexpr const char* kLimitNames[] = {"login_per_user", "login_per_address",
                                                "registration_per_address", "refresh_per_user",
                                                "revocation_per_user"};
  static_assert(std::size(kLimitNames) == std::tuple_size_v<decltype(rate_limited_)>);
  for (std::size_t i = 0; i < rate_limited_.size(); ++i) {
    out.append("gatehouse_rate_limited_total{limit=\"").append(kLimitNames[i]).append("\"} ");
    out.append(std::to_string(rate_limited_[i].load(kRelaxed))).append("\n");
  }
  AppendHeader(out, "gatehouse_revoked_tokens", "gauge", "Revoked token and session ids in memory");
  out.append("gatehouse_revoked_tokens ").append(std::to_string(gauges.revoked_tokens)) += "\n";
  AppendHeader(out, "gatehouse_durable_writes_total", "counter",
               "Writes committed or failed by the group commit (PostgreSQL: rotations committed in "
               "batches)");
  out.append("gatehouse_durable_writes_total ").append(std::to_string(gauges.durable_writes)) +=
      "\n";
  AppendHeader(out, "gatehouse_durable_transactions_total", "counter",
               "Group-commit transactions (one fsync each) committed or failed (PostgreSQL: "
               "rotation batches)");
  out.append("gatehouse_durable_transactions_total ")
      .append(std::to_string(gauges.durable_transactions)) += "\n";
  AppendHeader(out, "gatehouse_store_errors_total", "counter", "Failed storage calls");
  out.append("gatehouse_store_errors_total ").append(std::to_string(store_errors_.load(kRelaxed)));
  out += "\n";
  GlobalWebhookMetrics().Render(out, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  return out;
}

Metrics& GlobalMetrics() {
  static Metrics metrics;
  return metrics;
}

}  // namespace gatehouse::obs
