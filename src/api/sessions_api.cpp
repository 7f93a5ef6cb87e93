// GET /sessions and DELETE /sessions/{id} (API.md §10): a user's sessions, seen and ended.
#include <chrono>

#include "api/attempt_limits.hpp"
#include "api/routes.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"
#include "util/utf8.hpp"

namespace gatehouse::api {
namespace {

constexpr std::string_view kSessionsPrefix = "/sessions/";

// `current_sid` null: the admin's listing, which has no `current` (API.md §12).
std::string SessionJson(const store::SessionRecord& session, const std::string* current_sid) {
  JsonObjectWriter json;
  json.Add("id", session.sid)
      .Add("created_at", Rfc3339(session.created_at))
      .Add("last_used_at", Rfc3339(session.last_used_at))
      .Add("expires_at", Rfc3339(session.expires_at))
      .Add("client_address", session.client_address)
      .Add("user_agent", session.user_agent);
  if (current_sid != nullptr) json.Add("current", session.sid == *current_sid);
  return json.Finish();
}

http::Response SessionsResponse(const std::vector<store::SessionRecord>& sessions,
                                const std::string* current_sid) {
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

}  // namespace

bool IsSessionId(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string CutUserAgent(std::string_view user_agent) {
  return CleanTypedText(user_agent, store::kMaxUserAgentBytes);
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

http::Response SessionsOf(Services& services, const store::UsernameKey& key,
                          const std::string* current_sid) {
  const int64_t now = services.tokens.Now();
  auto sessions = services.store.ListSessions(key, now, IdleSince(services, now));
  if (!sessions) return http::ErrorResponse(sessions.error());
  return SessionsResponse(*sessions, current_sid);
}

http::Response EndSessionOf(Services& services, const store::UsernameKey& key,
                            const std::string& sid, const store::AccountEvent* event) {
  // No fallback by sid: an id this user has no record of answers 404.
  auto ended = AccountsOf(services).EndSession(key, sid, 0, event);
  if (!ended) return http::ErrorResponse(ended.error(), "Something went wrong");
  if (!*ended) return http::ErrorResponse(Error{ErrorCode::kSessionNotFound, {}});
  return http::MessageResponse(200, "Session has been revoked");
}

void ListSessions(const http::Request& request, Services& services, Reply reply) {
  auto claims = VerifyRequestToken(request, services, auth::TokenType::kAccess);
  if (!claims) {
    return reply(TokenRefusal(request, services, auth::TokenType::kAccess, claims.error()));
  }
  RunOnPool(services.store_pool, std::move(reply), [&services, claims = std::move(*claims)] {
    return SessionsOf(services, claims.sub_key, &claims.sid);
  });
}

void EndSessionHandler(const http::Request& request, Services& services, Reply reply) {
  const std::string_view id = request.path.substr(kSessionsPrefix.size());
  // An id no session can have is refused before the budget is spent (a valid token's 404).
  auto claims =
      VerifyRevoker(request, services, auth::TokenType::kAccess, reply,
                    IsSessionId(id) ? std::nullopt
                                    : std::optional<Error>(Error{ErrorCode::kSessionNotFound, {}}));
  if (!claims) return;
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = claims->sub_key, sub = claims->sub, sid = std::string(id),
             event = TokenEvent("session.revoked", request, *claims, std::string(id))] {
              http::Response answer = EndSessionOf(services, key, sid, &event);
              // A 404 revoked nothing: it gives its attempt back, so that a stolen access
              // token spending the budget on made-up ids cannot lock its owner out of the
              // logout that would end it.
              if (answer.status == 404)
                GiveBackUserAttempt(services.limits.revocation_per_user, sub);
              return answer;
            });
}

}  // namespace gatehouse::api
