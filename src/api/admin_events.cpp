// GET /admin/events (API.md §12): the account event log, oldest first, paged by event id. The
// id increases in commit order on both backends, so a reader that asks again after the last id
// it got never misses an event committed meanwhile nor sees one twice.
#include <string>

#include "api/admin_request.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// {"id", "type", "at", "username", "sid" (when one applies), "client_address", "user_agent"}.
void AppendEventJson(std::string& out, const store::StoredEvent& stored) {
  const store::AccountEvent& event = stored.event;
  JsonObjectWriter writer;
  writer.Add("id", stored.id)
      .Add("type", event.type)
      .Add("at", Rfc3339Millis(event.at_ms))
      .Add("username", event.username);
  if (!event.sid.empty()) writer.Add("sid", event.sid);
  out += writer.Add("client_address", event.client_address)
             .Add("user_agent", event.user_agent)
             .Finish();
}

http::Response ListEvents(Services& services, const EventListQuery& query) {
  store::EventQuery page{query.after, query.limit, query.type, {}};
  if (!query.username.empty()) page.username_key = store::UsernameKey(query.username).str();
  auto events = services.store.ListEvents(page);
  if (!events) return http::ErrorResponse(events.error());
  std::string body = "{\"events\":[";
  for (std::size_t i = 0; i < events->size(); ++i) {
    if (i != 0) body += ',';
    AppendEventJson(body, (*events)[i]);
  }
  // Never null: an empty page hands the same cursor back, to poll again with.
  const int64_t next = events->empty() ? query.after : events->back().id;
  body += "],\"next\":";
  AppendJsonString(body, std::to_string(next));
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
