#include "webhooks/deliverer.hpp"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "obs/logging.hpp"
#include "obs/webhook_metrics.hpp"
#include "webhooks/http_post.hpp"
#include "webhooks/message.hpp"

namespace gatehouse::webhooks {
namespace {

constexpr int kPageSize = 100;        // events held in memory per URL at most
constexpr int64_t kPollMs = 250;      // a new event starts its delivery within about this
constexpr int64_t kLeaseMs = 60000;   // another instance takes a URL over after this much silence
constexpr int64_t kRenewMs = 15000;   // the lease is renewed this often while waiting
constexpr int64_t kStandbyMs = 2000;  // another instance's URL: how often to try to take it
constexpr int64_t kGiveUpMs = 24LL * 3600 * 1000;  // API.md §12: retried for up to 24 h

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

std::string UrlKey(const std::string& url) {
  std::array<unsigned char, 16> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(url.data()), url.size(), nullptr, 0);
  return Hex(digest.data(), digest.size());
}

// Who holds a cursor's lease: this host and listening address, which no other live instance
// has, so that a restart (even after a crash) takes its URLs back at once. Port 0 (any): the
// process id as well.
std::string OwnerName(const config::Settings& settings) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string owner =
      std::string(host) + "/" + settings.listen_host + ":" + std::to_string(settings.listen_port);
  if (settings.listen_port == 0) owner += "/" + std::to_string(::getpid());
  return owner;
}

}  // namespace

int64_t Deliverer::RetryDelayMs(int attempt) {
  static constexpr std::array<int64_t, 5> kFirst = {1000, 5000, 30000, 120000, 600000};
  return attempt < static_cast<int>(kFirst.size()) ? kFirst[static_cast<std::size_t>(attempt)]
                                                   : 1800000;
}

StartupResult<std::unique_ptr<Deliverer>> Deliverer::Start(const config::Settings& settings,
                                                           store::Store& store) {
  if (settings.webhook_urls.empty()) return std::unique_ptr<Deliverer>();
  if (settings.webhook_key.empty()) {
    return StartupError{StartupErrorCode::kBadSetting,
                        "webhooks.url needs webhooks.secret (whsec_ + base64)"};
  }
  InitHttpClient();
  auto targets = Targets(settings.webhook_urls);
  if (!targets) return targets.error();
  std::unique_ptr<Deliverer> deliverer(new Deliverer(settings, store, settings.webhook_key));
  std::string shown;
  for (const Target& target : *targets) {
    // Creates the cursor now (at the newest event), before any request is served.
    const int64_t now = NowMs();
    auto claimed = store.ClaimWebhookCursor(target.key, deliverer->owner_, now, now);
    if (!claimed) return EnvironmentError(claimed.error());
    shown += (shown.empty() ? "" : ",") + target.shown;
  }
  obs::Info("webhooks: delivering account events", {{"urls", shown}});
  for (Target& target : *targets) {
    deliverer->threads_.emplace_back(
        [raw = deliverer.get(), target = std::move(target)] { raw->Run(target); });
  }
  return deliverer;
}

StartupResult<std::vector<Deliverer::Target>> Deliverer::Targets(
    const std::vector<std::string>& urls) {
  std::vector<Target> targets;
  for (std::size_t slot = 0; slot < urls.size(); ++slot) {
    auto read = ReadWebhookUrl(urls[slot]);
    if (!read) {  // not echoed: a URL may carry a password
      return StartupError{StartupErrorCode::kBadSetting,
                          "setting webhooks.url: invalid value: URL " + std::to_string(slot + 1) +
                              " is not one libcurl can read (not shown: it may hold a password)"};
    }
    targets.push_back(Target{slot, urls[slot], read->shown, UrlKey(read->kept)});
  }
  return targets;
}

Deliverer::Deliverer(const config::Settings& settings, store::Store& store, std::string signing_key)
    : settings_(settings),
      store_(store),
      signing_key_(std::move(signing_key)),
      owner_(OwnerName(settings)) {}

Deliverer::~Deliverer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void Deliverer::Run(const Target& target) {
  HttpPoster poster(stopping_);
  std::optional<int64_t> cursor;  // set while this instance holds the URL's lease
  int64_t renew_at = 0;
  bool warned = false;  // a storage failure is logged once until it heals
  while (!stopping_) {
    // The lease is claimed (a write) when not held or due for renewal, not at every poll.
    if (!cursor || NowMs() >= renew_at) {
      const int64_t now = NowMs();
      auto claimed = store_.ClaimWebhookCursor(target.key, owner_, now, now + kLeaseMs);
      if (!claimed && !warned) {
        obs::Warn("webhooks: reading the delivery cursor failed",
                  {{"url", target.shown}, {"error", claimed.error().detail}});
      }
      warned = !claimed;
      cursor = claimed ? *claimed : std::nullopt;
      if (!cursor) {  // no store, or another instance delivers to this URL
        Sleep(claimed ? kStandbyMs : 1000);
        continue;
      }
      renew_at = now + kRenewMs;
    }
    const Page page = DeliverPage(target, *cursor, poster);
    if (page == Page::kLeaseLost) cursor.reset();
    if (page == Page::kIdle) Sleep(kPollMs);
  }
  // Stopping: another instance may take the URL over at once.
  (void)store_.AdvanceWebhookCursor(target.key, owner_, 0, 0);
}

Deliverer::Page Deliverer::DeliverPage(const Target& target, int64_t& cursor, HttpPoster& poster) {
  store::EventQuery query;
  query.after = cursor;
  query.limit = kPageSize;
  auto page = store_.ListEvents(query);
  auto& metrics = obs::GlobalWebhookMetrics();
  if (!page || page->empty()) {
    if (page) metrics.SetPendingSince(target.slot, 0);
    return Page::kIdle;
  }
  const int64_t stored = cursor;
  for (const store::StoredEvent& event : *page) {
    if (Wanted(event.event.type)) {
      metrics.SetPendingSince(target.slot, std::max<int64_t>(event.event.at_ms, 1));
      const Outcome outcome = DeliverWithRetries(target, cursor, event, poster);
      if (outcome == Outcome::kLeaseLost || outcome == Outcome::kStopping) return Page::kLeaseLost;
      // Only after a 2xx (or giving up): a crash before this write sends the event again.
      if (!MoveCursor(target, event.id)) return Page::kLeaseLost;
    }
    cursor = event.id;  // an unwanted event: passed with the next write
  }
  if (cursor != stored && !MoveCursor(target, cursor)) return Page::kLeaseLost;
  return Page::kDelivered;
}

bool Deliverer::MoveCursor(const Target& target, int64_t delivered) {
  auto held = store_.AdvanceWebhookCursor(target.key, owner_, delivered, NowMs() + kLeaseMs);
  return held && *held;  // otherwise read again from the stored cursor
}

Deliverer::Outcome Deliverer::DeliverWithRetries(const Target& target, int64_t cursor,
                                                 const store::StoredEvent& event,
                                                 HttpPoster& poster) {
  auto& metrics = obs::GlobalWebhookMetrics();
  const int64_t first = NowMs();
  for (int attempt = 0;; ++attempt) {
    if (Attempt(target, event, poster)) return Outcome::kDelivered;
    if (stopping_) return Outcome::kStopping;
    const int64_t delay = RetryDelayMs(attempt);
    if (NowMs() + delay - first > kGiveUpMs) {
      metrics.RecordGivenUp();
      obs::Error("webhooks: gave up on an event after 24 h of failed attempts; skipping it",
                 {{"url", target.shown},
                  {"webhook_id", WebhookId(event.id)},
                  {"type", event.event.type},
                  {"attempts", std::to_string(attempt + 1)}});
      return Outcome::kGivenUp;
    }
    metrics.SetRetryPending(target.slot, true);
    const bool held = WaitHoldingLease(target, cursor, delay);
    metrics.SetRetryPending(target.slot, false);
    if (!held) return stopping_ ? Outcome::kStopping : Outcome::kLeaseLost;
  }
}

bool Deliverer::Attempt(const Target& target, const store::StoredEvent& event, HttpPoster& poster) {
  const std::string id = WebhookId(event.id);
  const int64_t timestamp = NowMs() / 1000;
  const std::string body = WebhookBody(event);
  const std::vector<std::string> headers = {
      "Content-Type: application/json",
      "User-Agent: gatehouse/" GATEHOUSE_VERSION,
      "webhook-id: " + id,
      "webhook-timestamp: " + std::to_string(timestamp),
      "webhook-signature: " + Signature(signing_key_, id, timestamp, body),
  };
  const PostAnswer answer = poster.Post(target.url, headers, body);
  if (answer.status >= 200 && answer.status < 300) {
    obs::GlobalWebhookMetrics().RecordDelivered();
    return true;
  }
  if (stopping_) return false;
  obs::GlobalWebhookMetrics().RecordFailedAttempt();
  obs::Warn("webhooks: attempt failed; retrying", {{"url", target.shown},
                                                   {"webhook_id", id},
                                                   {"status", std::to_string(answer.status)},
                                                   {"error", answer.error}});
  return false;
}

bool Deliverer::WaitHoldingLease(const Target& target, int64_t cursor, int64_t ms) {
  const int64_t until = NowMs() + ms;
  for (int64_t now = NowMs(); now < until; now = NowMs()) {
    if (!Sleep(std::min(until - now, kRenewMs))) return false;
    auto held = store_.AdvanceWebhookCursor(target.key, owner_, cursor, NowMs() + kLeaseMs);
    if (held && !*held) return false;  // a storage failure keeps the lease until it runs out
  }
  return !stopping_;
}

bool Deliverer::Sleep(int64_t ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
  return !stopping_;
}

bool Deliverer::Wanted(const std::string& type) const {
  const auto& wanted = settings_.webhook_events;
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), type) != wanted.end();
}

}  // namespace gatehouse::webhooks
