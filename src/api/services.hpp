// Everything a handler may use. Handlers are plain functions over a Request and these
// services; they never see a socket.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "auth/accounts.hpp"
#include "auth/deny_list.hpp"
#include "auth/keyring.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/revocation_set.hpp"
#include "auth/token_service.hpp"
#include "config/settings.hpp"
#include "http/handler.hpp"
#include "http/request.hpp"
#include "store/store.hpp"
#include "store/user_cache.hpp"
#include "util/worker_pool.hpp"

namespace gatehouse::api {

class RevocationStreams;

struct Services {
  const config::Settings& settings;
  store::Store& store;
  auth::TokenService& tokens;
  auth::RevocationSet& revocations;
  store::UserCache& users;
  auth::AbuseLimits& limits;
  const auth::PasswordDenyList& deny_list;
  WorkerPool& hash_pool;   // argon2id work: registration, login
  WorkerPool& store_pool;  // storage calls that the I/O threads must not wait on
  // GET /revocations streams catching up (reading the feed's backlog a page per turn): apart from
  // store_pool, so that streams never hold up requests' storage calls.
  WorkerPool& stream_pool;
  const auth::Keyring& keyring;
  // GET /revocations's event streams; null where none are served (tests, revocations off).
  RevocationStreams* revocation_streams = nullptr;
};

// The rules a new password meets on this server.
inline auth::PasswordRules PasswordRulesOf(const Services& services) {
  return {static_cast<std::size_t>(services.settings.password_min_length), &services.deny_list};
}

// The account module over this server's store and in-memory token state: references only,
// made per request.
inline auth::Accounts AccountsOf(Services& services) {
  return auth::Accounts(services.store, PasswordRulesOf(services),
                        auth::LiveTokens{services.tokens, services.revocations, services.users});
}

// Delivers the answer. May be called on any thread, exactly once.
using Reply = http::Reply;

// Runs `job` on `pool`; answers 503 at once (and returns false) when the pool's queue is full.
// A job that throws answers 500 (the exception is a bug, logged, never shown).
bool RunOnPool(WorkerPool& pool, Reply reply, std::function<http::Response()> job);
// The same for a job that answers later, through the reply it is given (a durable write that
// answers when its group commit is on disk, without holding the pool's thread until then).
bool RunOnPoolAnsweringLater(WorkerPool& pool, Reply reply, std::function<void(Reply)> job);

// Sessions (api/sessions_api.cpp): who a request that uses a session comes from (the user
// agent made valid UTF-8, then cut to store::kMaxUserAgentBytes on a character boundary); when a
// session last used before ends under `session.idle_timeout` (0: off). Ending one is
// auth::Accounts's EndSession, for every endpoint that ends one.
std::string CutUserAgent(std::string_view user_agent);
store::SessionUse SessionUseOf(const http::Request& request, int64_t now);
// The account event (API.md §12) of a request made with a verified token.
store::AccountEvent TokenEvent(std::string type, const http::Request& request,
                               const auth::Claims& claims, std::string sid);
int64_t IdleSince(const Services& services, int64_t now);
// A session id as gatehouse makes them (a UUID's 36 characters); anything else names none.
bool IsSessionId(std::string_view id);
// On a store thread, for GET /sessions and the admin's listing: the user's live sessions;
// `current_sid` null leaves `current` out.
http::Response SessionsOf(Services& services, const store::UsernameKey& key,
                          const std::string* current_sid);
// On a store thread, for DELETE /sessions/{id} and the admin's: ends one session of the user
// (404 `Session not found` when it has none of that id), durable before the 200, with `event`.
http::Response EndSessionOf(Services& services, const store::UsernameKey& key,
                            const std::string& sid, const store::AccountEvent* event = nullptr);

// The handlers, one per route. Each answers through `reply`, now or later.
void Registration(const http::Request& request, Services& services, Reply reply);
void Login(const http::Request& request, Services& services, Reply reply);
void LogoutAccess(const http::Request& request, Services& services, Reply reply);
void LogoutRefresh(const http::Request& request, Services& services, Reply reply);
void TokenRefresh(const http::Request& request, Services& services, Reply reply);
void LogoutAll(const http::Request& request, Services& services, Reply reply);
void ChangePasswordHandler(const http::Request& request, Services& services, Reply reply);
// The `token` field of a /token/introspect or /token/revoke request whose caller holds
// introspection.secret; kNotFound when none is configured, kWrongCallerSecret, field errors.
Result<std::string> CallerToken(const http::Request& request, const Services& services);
// The claims of that token: nullopt when it is not valid (both endpoints answer that as "nothing
// there"); an error when its validity is unknown (cut off from the other instances' revocations:
// 503), which is never answered as "inactive" or "nothing left to revoke".
Result<std::optional<auth::Claims>> CallerTokenClaims(const std::string& token,
                                                      const Services& services);
void Introspect(const http::Request& request, Services& services, Reply reply);
void TokenRevoke(const http::Request& request, Services& services, Reply reply);
void ServerMetadata(const http::Request& request, Services& services, Reply reply);
void Jwks(const http::Request& request, Services& services, Reply reply);
void Me(const http::Request& request, Services& services, Reply reply);
void Healthz(const http::Request& request, Services& services, Reply reply);
void Readyz(const http::Request& request, Services& services, Reply reply);
void Metrics(const http::Request& request, Services& services, Reply reply);
void ListSessions(const http::Request& request, Services& services, Reply reply);
void EndSessionHandler(const http::Request& request, Services& services, Reply reply);
void OpenApi(const http::Request& request, Services& services, Reply reply);

// docs/openapi.json as the build embedded it (generated by cmake/embed_file.cmake).
std::string_view OpenApiDocument();
void PasswordReset(const http::Request& request, Services& services, Reply reply);
// Every /admin/... path: the admin API's own routing, 404 and 405 (api/admin_api.cpp).
void Admin(const http::Request& request, Services& services, Reply reply);
// GET /revocations (api/revocations_api.cpp).
void Revocations(const http::Request& request, Services& services, Reply reply);

}  // namespace gatehouse::api
