// Webhook delivery metrics (API.md §12), appended to GET /metrics by Metrics::Render. Written by
// the deliverer's threads (webhooks/), read at render time; relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace gatehouse::obs {

class WebhookMetrics {
 public:
  static constexpr std::size_t kMaxUrls = 16;  // webhooks.url's bound

  void RecordDelivered() { delivered_.fetch_add(1, std::memory_order_relaxed); }
  void RecordFailedAttempt() { failed_attempts_.fetch_add(1, std::memory_order_relaxed); }
  void RecordGivenUp() { given_up_.fetch_add(1, std::memory_order_relaxed); }
  // Whether URL `slot` is waiting to retry an event.
  void SetRetryPending(std::size_t slot, bool pending);
  // The time (unix milliseconds) of the oldest event not yet delivered to URL `slot`; 0 when
  // it has everything.
  void SetPendingSince(std::size_t slot, int64_t at_ms);
  void Render(std::string& out, int64_t now_ms) const;

 private:
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  std::atomic<uint64_t> given_up_{0};
  std::array<std::atomic<bool>, kMaxUrls> retry_pending_{};
  std::array<std::atomic<int64_t>, kMaxUrls> pending_since_ms_{};
};

WebhookMetrics& GlobalWebhookMetrics();

}  // namespace gatehouse::obs
