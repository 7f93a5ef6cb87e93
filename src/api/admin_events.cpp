// GET /admin/events (API.md §12): the account event log, oldest first, paged by event id. The
// id increases in commit order on both backends, so a reader that asks again after the last id
// it got never misses an event committed meanwhile nor sees one twice.
#include <algorithm>
#include <string>
#include <vector>

#include "api/admin_request.hpp"
#include "http/error_response.hpp"
#include "store/event_json.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// Never null: a page's last id, or for an empty page the cursor it was asked with, to poll
// again with; but never above the highest id this database ever gave. A cursor beyond it (one
// kept across a restore from an older backup, or from another database) comes back as that id,
// so the poller sees the events recorded from now on instead of waiting, silently, for the ids
// to pass a number they may take long to reach.
Result<int64_t> NextCursor(store::Store& store, int64_t after,
                           const std::vector<store::StoredEvent>& page) {
  if (!page.empty()) return page.back().id;
  if (after == 0) return after;
  auto last = store.LastEventId();
  if (!last) return last.error();
  return std::min(after, *last);
}

http::Response ListEvents(Services& services, const EventListQuery& query) {
  store::EventQuery page{query.after, query.limit, query.type, {}};
  // Cleaned and cut as the kept key was: a name typed longer than the bound, or with a
  // character the log replaces, finds its events as typed.
  if (!query.username.empty()) {
    page.username_key = store::EventUsername(store::UsernameKey(query.username).str());
  }
  auto events = services.store.ListEvents(page);
  if (!events) return http::ErrorResponse(events.error());
  std::string body = "{\"events\":[";
  for (std::size_t i = 0; i < events->size(); ++i) {
    if (i != 0) body += ',';
    body += store::EventJson((*events)[i]);
  }
  auto next = NextCursor(services.store, query.after, *events);
  if (!next) return http::ErrorResponse(next.error());
  body += "],\"next\":";
  AppendJsonString(body, std::to_string(*next));
  body += '}';
  http::Response response;
  response.body = std::move(body);
  response.no_store = true;
  return response;
}

}  // namespace

void ServeEvents(const http::Request& request, Services& services, Reply reply) {
  auto query = ParseEventListQuery(request.query);
  if (!query) return reply(http::ErrorResponse(query.error()));
  RunOnPool(services.store_pool, std::move(reply),
            [&services, query = std::move(*query)] { return ListEvents(services, query); });
}

}  // namespace gatehouse::api
