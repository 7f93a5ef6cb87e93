#include "store/event_json.hpp"

#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::store {

std::string EventJson(const StoredEvent& stored) {
  const AccountEvent& event = stored.event;
  JsonObjectWriter writer;
  writer.Add("id", stored.id)
      .Add("type", event.type)
      .Add("at", Rfc3339Millis(event.at_ms))
      .Add("username", event.username);
  if (!event.sid.empty()) writer.Add("sid", event.sid);
  return writer.Add("client_address", event.client_address)
      .Add("user_agent", event.user_agent)
      .Finish();
}

}  // namespace gatehouse::store
