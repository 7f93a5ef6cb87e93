// An account event as JSON (API.md §12). The one serializer of an event: GET /admin/events
// answers it as an item of "events", and a webhook sends it as "data", so a receiver and a
// poller of the log see the same object for the same event.
#pragma once

#include <string>

#include "store/store.hpp"

namespace gatehouse::store {

// {"id", "type", "at" (RFC 3339 UTC, exactly three fraction digits), "username", "sid" (only
// when one applies), "client_address", "user_agent"}.
std::string EventJson(const StoredEvent& stored);

}  // namespace gatehouse::store
