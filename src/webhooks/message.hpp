// What one webhook delivery sends (API.md §12, the Standard Webhooks format): the body, and the
// signature over it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace gatehouse::webhooks {

// {"type", "timestamp" (the event's time), "data": the event as GET /admin/events shows it
// (store::EventJson, the one serializer of both)}.
std::string WebhookBody(const store::StoredEvent& stored);

// "evt_<event id>": the same on every attempt, for the receiver to deduplicate by.
std::string WebhookId(int64_t event_id);

// "v1,<base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
std::string Signature(std::string_view key, std::string_view id, int64_t timestamp,
                      std::string_view body);

}  // namespace gatehouse::webhooks
