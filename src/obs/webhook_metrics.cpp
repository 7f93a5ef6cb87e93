#include "obs/webhook_metrics.hpp"

#include <algorithm>

namespace gatehouse::obs {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void AppendMetric(std::string& out, const char* name, const char* type, const char* help,
                  const std::string& value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
}

}  // namespace

void WebhookMetrics::SetRetryPending(std::size_t slot, bool pending) {
  if (slot < kMaxUrls) retry_pending_[slot].store(pending, kRelaxed);
}

void WebhookMetrics::SetPendingSince(std::size_t slot, int64_t at_ms) {
  if (slot < kMaxUrls) pending_since_ms_[slot].store(at_ms, kRelaxed);
}

void WebhookMetrics::Render(std::string& out, int64_t now_ms) const {
  int64_t pending = 0;
  int64_t lag_ms = 0;
  for (std::size_t slot = 0; slot < kMaxUrls; ++slot) {
    pending += retry_pending_[slot].load(kRelaxed) ? 1 : 0;
    const int64_t since = pending_since_ms_[slot].load(kRelaxed);
    if (since > 0) lag_ms = std::max(lag_ms, now_ms - since);
  }
  AppendMetric(out, "gatehouse_webhook_deliveries_total", "counter",
               "Events delivered to a webhook URL (answered 2xx)",
               std::to_string(delivered_.load(kRelaxed)));
  AppendMetric(out, "gatehouse_webhook_failed_attempts_total", "counter",
               "Webhook attempts answered other than 2xx, or not within 10 s",
               std::to_string(failed_attempts_.load(kRelaxed)));
  AppendMetric(out, "gatehouse_webhook_given_up_total", "counter",
               "Events skipped after 24 h of failed attempts",
               std::to_string(given_up_.load(kRelaxed)));
  AppendMetric(out, "gatehouse_webhook_retries_pending", "gauge",
               "Webhook URLs waiting to retry an event", std::to_string(pending));
  AppendMetric(out, "gatehouse_webhook_lag_seconds", "gauge",
               "Age of the oldest event not yet delivered to some webhook URL",
               std::to_string(static_cast<double>(std::max<int64_t>(lag_ms, 0)) / 1000.0));
}

WebhookMetrics& GlobalWebhookMetrics() {
  static WebhookMetrics metrics;
  return metrics;
}

}  // namespace gatehouse::obs
