// GET /sessions and DELETE /sessions/{id} (API.md §10): a user's sessions, seen and ended.
#include <chrono>

#include "api/attempt_limits.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

constexpr std::string_view kSessionsPrefix = "/sessions/";

std::string SessionJson(const store::SessionRecord& session, std::string_view current_sid) {
  return JsonObjectWriter()
      .Add("id", session.sid)
      .Add("created_at", Rfc3339(session.created_at))
      .Add("last_used_at", Rfc3339(session.last_used_at))
      .Add("expires_at", Rfc3339(session.expires_at))
      .Add("client_address", session.client_address)
      .Add("user_agent", session.user_agent)
      .Add("current", session.sid == current_sid)
      .Finish();
}

http::Response SessionsResponse(const std::vector<store::SessionRecord>& sessions,
                                std::string_view current_sid) {
  http::Response response;
  response.body = "{\"sessions\": [";
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (i != 0) response.body += ", ";
    response.body += SessionJson(sessions[i], current_sid);
  }
  response.body += "]}";
  response.no_store = true;
  return response;
}

// A session id as gatehouse makes them (a UUID's 36 characters); anything else names none.
bool IsSessionId(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string CutUserAgent(std::string_view user_agent) {
  if (user_agent.size() <= store::kMaxUserAgentBytes) return std::string(user_agent);
  std::size_t end = store::kMaxUserAgentBytes;
  // The first byte left out continues a character that began before it: leave that one out.
  while (end > 0 && (static_cast<unsigned char>(user_agent[end]) & 0xC0) == 0x80) --end;
  return std::string(user_agent.substr(0, end));
}

store::SessionUse SessionUseOf(const http::Request& request, int64_t now) {
  return store::SessionUse{now, request.client_address, CutUserAgent(request.user_agent)};
}

store::AccountEvent TokenEvent(std::string type, const http::Request& request,
                               const auth::Claims& claims, std::string sid) {
  return store::NewEvent(std::move(type), claims.sub, claims.sub_key, std::move(sid),
                         SessionUseOf(request, 0));
}

int64_t IdleSince(const Services& services, int64_t now) {
  const int64_t timeout = services.settings.session_idle_timeout;
  return timeout > 0 ? now - timeout : 0;
}

void EndSessionAndApply(Services& services, const store::Revocation& ended) {
  services.revocations.Revoke(ended.id, ended.expires_at);
}

void ListSessions(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  RunOnPool(services.store_pool, std::move(reply), [&services, claims = std::move(*claims)] {
    const int64_t now = services.tokens.Now();
    auto sessions = services.store.ListSessions(claims.sub_key, now, IdleSince(services, now));
    if (!sessions) return http::ErrorResponse(sessions.error());
    return SessionsResponse(*sessions, claims.sid);
  });
}

void EndSessionHandler(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));
  const std::string_view id = request.path.substr(kSessionsPrefix.size());
  if (!IsSessionId(id)) return reply(http::ErrorResponse(Error{ErrorCode::kSessionNotFound, {}}));
  if (auto refused = TakeUserAttempt(services.limits.revocation_per_user, claims->sub,
                                     obs::RateLimitKind::kRevocationPerUser)) {
    return reply(http::ErrorResponse(*refused));
  }
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = claims->sub_key, sid = std::string(id),
             event = TokenEvent("session.revoked", request, *claims, std::string(id))] {
              auto ended = services.store.EndSession(key, sid, &event);
              if (!ended) return http::ErrorResponse(ended.error(), "Something went wrong");
              if (!*ended) return http::ErrorResponse(Error{ErrorCode::kSessionNotFound, {}});
              EndSessionAndApply(services, **ended);
              return http::MessageResponse(200, "Session has been revoked");
            });
}

}  // namespace gatehouse::api
