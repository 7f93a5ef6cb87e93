// Webhook delivery (API.md §12): the event log is the outbox. One thread per URL of
// webhooks.url reads the events after that URL's durable cursor a page at a time, POSTs each
// wanted one (retrying as the schedule says), and moves the cursor past it only after a 2xx,
// so delivery is at least once, in event order per URL, and survives restarts. Its threads are
// its own: a slow or dead receiver never holds an I/O or store-pool thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/settings.hpp"
#include "store/store.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::webhooks {

class Deliverer {
 public:
  // nullptr when webhooks.url is unset. Creates every URL's cursor before it returns, so that
  // each event recorded from then on is delivered; fails when the secret is missing or the
  // store cannot be written.
  static StartupResult<std::unique_ptr<Deliverer>> Start(const config::Settings& settings,
                                                         store::Store& store);
  // Stops the threads (a transfer in progress is aborted within about a second).
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Retry delays after failed attempt `attempt` (0: the first): 1 s, 5 s, 30 s, 2 min, 10 min,
  // then 30 min.
  static int64_t RetryDelayMs(int attempt);

 private:
  struct Target {
    std::size_t slot;  // its index in webhooks.url (metrics)
    std::string url;
    std::string shown;  // for logs: no credentials, query or fragment (ReadWebhookUrl)
    std::string key;    // the cursor's key: a digest of the URL without its credentials
  };
  enum class Outcome { kDelivered, kGivenUp, kLeaseLost, kStopping };
  enum class Page { kIdle, kDelivered, kLeaseLost };

  Deliverer(const config::Settings& settings, store::Store& store, std::string signing_key);
  // One target per URL; refuses a URL libcurl cannot read, without showing it.
  static StartupResult<std::vector<Target>> Targets(const std::vector<std::string>& urls);
  void Run(const Target& target);
  // Delivers one page after `cursor`, moving it (and the stored one) past what it delivered;
  // kLeaseLost when the lease was lost or stopping (read the stored cursor again).
  Page DeliverPage(const Target& target, int64_t& cursor, class HttpPoster& poster);
  // Stores the cursor at `delivered`, renewing the lease; false when it is no longer held.
  bool MoveCursor(const Target& target, int64_t delivered);
  Outcome DeliverWithRetries(const Target& target, int64_t cursor, const store::StoredEvent& event,
                             HttpPoster& poster);
  bool Attempt(const Target& target, const store::StoredEvent& event, HttpPoster& poster);
  // Waits up to `ms`, renewing the lease; false when stopping or the lease was lost.
  bool WaitHoldingLease(const Target& target, int64_t cursor, int64_t ms);
  // Waits up to `ms`; false when stopping.
  bool Sleep(int64_t ms);
  bool Wanted(const std::string& type) const;

  const config::Settings& settings_;
  store::Store& store_;
  const std::string signing_key_;
  const std::string owner_;  // this instance, in the cursors' lease
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse::webhooks
