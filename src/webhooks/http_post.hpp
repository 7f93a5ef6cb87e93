// One webhook attempt over HTTP(S) with libcurl, on the calling (deliverer) thread.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::webhooks {

struct PostAnswer {
  long status = 0;    // the HTTP status; 0 when none came (refused, timed out, stopped)
  std::string error;  // libcurl's words when no status came
};

class HttpPoster {
 public:
  // Aborts a transfer in progress (within about a second) once `stopping` is set.
  explicit HttpPoster(const std::atomic<bool>& stopping);
  ~HttpPoster();
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;

  // POSTs `body` (application/json) with `headers` ("name: value"); the whole exchange gets
  // 10 s. The answer's body is read and dropped; redirects are not followed.
  PostAnswer Post(const std::string& url, const std::vector<std::string>& headers,
                  std::string_view body);

 private:
  void* curl_;
  const std::atomic<bool>& stopping_;
};

// Before any thread uses HttpPoster (libcurl's global init is not thread-safe).
void InitHttpClient();

// A webhooks.url as libcurl reads it, in two forms, neither with the user or password it may
// carry: `shown` (scheme, host, port when given, path; no query or fragment either, which may
// hold a token) for logs, and `kept` (the whole URL but the credentials) to name its delivery
// cursor by, so that changing the receiver's password keeps its place. nullopt when libcurl
// cannot read the URL.
struct WebhookUrl {
  std::string shown;
  std::string kept;
};
std::optional<WebhookUrl> ReadWebhookUrl(const std::string& url);

}  // namespace gatehouse::webhooks
