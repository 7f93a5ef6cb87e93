#include "webhooks/http_post.hpp"

#include <curl/curl.h>

namespace gatehouse::webhooks {
namespace {

constexpr long kAnswerWithinMs = 10000;  // API.md §12: no answer within 10 s is a failure

// `part` of `parsed` appended to `out` after `before`; false when it has none.
bool AppendPart(std::string& out, CURLU* parsed, CURLUPart part, const char* before) {
  char* value = nullptr;
  const bool present = curl_url_get(parsed, part, &value, 0) == CURLUE_OK;
  if (present) out.append(before).append(value);
  curl_free(value);
  return present;
}

size_t DropBody(char*, size_t size, size_t count, void*) { return size * count; }

int AbortWhenStopping(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

}  // namespace

void InitHttpClient() { curl_global_init(CURL_GLOBAL_DEFAULT); }

std::optional<WebhookUrl> ReadWebhookUrl(const std::string& url) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return std::nullopt;
  std::optional<WebhookUrl> read;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    WebhookUrl forms;
    AppendPart(forms.shown, parsed, CURLUPART_SCHEME, "");
    AppendPart(forms.shown, parsed, CURLUPART_HOST, "://");
    AppendPart(forms.shown, parsed, CURLUPART_PORT, ":");  // only when the URL gives one
    AppendPart(forms.shown, parsed, CURLUPART_PATH, "");
    curl_url_set(parsed, CURLUPART_USER, nullptr, 0);
    curl_url_set(parsed, CURLUPART_PASSWORD, nullptr, 0);
    curl_url_set(parsed, CURLUPART_OPTIONS, nullptr, 0);
    if (AppendPart(forms.kept, parsed, CURLUPART_URL, "")) read = std::move(forms);
  }
  curl_url_cleanup(parsed);
  return read;
}

HttpPoster::HttpPoster(const std::atomic<bool>& stopping)
    : curl_(curl_easy_init()), stopping_(stopping) {}

HttpPoster::~HttpPoster() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

PostAnswer HttpPoster::Post(const std::string& url, const std::vector<std::string>& headers,
                            std::string_view body) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return {0, "libcurl failed to initialise"};
  curl_easy_reset(curl);  // keeps the connection cache: one connection per URL is reused
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  // No "Expect: 100-continue" round trip for bodies over 1 KiB.
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kAnswerWithinMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DropBody);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &AbortWhenStopping);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping_);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(list);
  PostAnswer answer;
  if (code != CURLE_OK) {
    answer.error = curl_easy_strerror(code);
    return answer;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace gatehouse::webhooks
