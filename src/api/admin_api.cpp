// The admin API (API.md §12): /admin/users and what hangs below it. Every call needs the admin
// secret; unset, the whole /admin/ tree answers 404. A handler is: secret, path, decode and
// check, then one auth::Accounts call (or a listing) on a worker pool, then the user encoded.
#include <algorithm>

#include "api/admin_request.hpp"
#include "api/routes.hpp"
#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

// {"username", "created_at", "disabled", "claims"}; the claims are stored as compact JSON.
std::string UserJson(const store::UserRecord& user) {
  std::string out = JsonObjectWriter()
                        .Add("username", user.username)
                        .Add("created_at", Rfc3339(user.created_at))
                        .Add("disabled", user.disabled)
                        .Finish();
  out.back() = ',';
  out.append("\"claims\":").append(user.claims.empty() ? "{}" : user.claims).append("}");
  return out;
}

http::Response UserResponse(unsigned status, const store::UserRecord& user) {
  http::Response response;
  response.status = status;
  response.body = UserJson(user);
  return response;
}

// One page more than asked is read: whether it exists says whether `next` is null.
http::Response ListUsers(Services& services, const UserListQuery& query) {
  // A cursor is a username key already; lower-casing one given in capitals changes nothing.
  auto users = services.store.ListUsers(store::UsernameKey(query.after).str(), query.limit + 1,
                                        store::UsernameKey(query.prefix));
  if (!users) return http::ErrorResponse(users.error());
  const bool more = static_cast<int>(users->size()) > query.limit;
  if (more) users->resize(query.limit);
  std::string body = "{\"users\":[";
  for (std::size_t i = 0; i < users->size(); ++i) {
    if (i != 0) body += ',';
    body += UserJson((*users)[i]);
  }
  body += "],\"next\":";
  if (more) {
    AppendJsonString(body, store::UsernameKey(users->back().username).str());
  } else {
    body += "null";
  }
  body += '}';
  http::Response response;
  response.body = std::move(body);
  return response;
}

// What a handler of the table reads of the path: the user's key (made once, here, for every
// call the request makes) and kUserSession's {id}.
struct AdminTarget {
  store::UsernameKey key;
  std::string_view session_id;
};

struct NewUser {
  auth::Credentials credentials;
  std::optional<std::string> claims;
};

// POST /admin/users: the registration rules, then the claims' rules, all before any work.
Result<NewUser> ReadNewUser(const http::Request& request, Services& services) {
  auto body = ParseAdminBody(request);
  if (!body) return body.error();
  auto username = StringField(*body, "username");
  if (!username) return username.error();
  auto password = StringField(*body, "password");
  if (!password) return password.error();
  NewUser user{auth::Credentials(username->value_or(""), password->value_or("")), {}};
  if (Status valid = auth::CheckRegistration(user.credentials, PasswordRulesOf(services)); !valid) {
    return valid.error();
  }
  if (const auto it = body->find("claims"); it != body->end()) {
    auto claims = auth::CheckClaims(*it);
    if (!claims) return claims.error();
    user.claims = std::move(*claims);
  }
  return user;
}

// A taken name's 409 names the account as stored (API.md §12: admin messages echo the
// username as first given), not as this request spelled it; /registration echoes the caller's
// spelling instead (docs/api.md), so an anonymous caller learns nothing it did not send.
Error TakenAsStored(auth::Accounts& accounts, const store::UsernameKey& key, Error error) {
  if (error.code != ErrorCode::kUsernameTaken) return error;
  if (auto stored = accounts.Find(key)) error.field = stored->username;
  return error;
}

void CreateUser(const http::Request& request, Services& services, Reply reply, const AdminTarget&) {
  auto user = ReadNewUser(request, services);
  if (!user) return reply(http::ErrorResponse(user.error()));
  auto shared = std::make_shared<NewUser>(std::move(*user));
  RunOnPool(
      services.hash_pool, std::move(reply), [shared, &services, use = SessionUseOf(request, 0)] {
        const store::UsernameKey key(shared->credentials.username);
        auth::Accounts accounts = AccountsOf(services);
        // The claims are stored with the user: one row, one user.created event.
        auto created =
            accounts.From(use).Create(shared->credentials, key, shared->claims.value_or("{}"));
        if (!created) {
          return http::ErrorResponse(TakenAsStored(accounts, key, created.error()));
        }
        return UserResponse(201, *created);
      });
}

struct UserPatch {
  std::optional<bool> disabled;
  std::optional<std::string> claims;
};

Result<UserPatch> ReadUserPatch(const http::Request& request) {
  auto body = ParseAdminBody(request);
  if (!body) return body.error();
  UserPatch patch;
  if (const auto it = body->find("disabled"); it != body->end()) {
    if (!it->is_boolean()) return FieldError("disabled", "Must be true or false");
    patch.disabled = it->get<bool>();
  }
  if (const auto it = body->find("claims"); it != body->end()) {
    auto claims = auth::CheckClaims(*it);
    if (!claims) return claims.error();
    patch.claims = std::move(*claims);
  }
  return patch;
}

http::Response PatchUser(Services& services, const store::UsernameKey& key, const UserPatch& patch,
                         const store::SessionUse& use) {
  auth::Accounts accounts = AccountsOf(services);
  accounts.From(use);
  if (patch.disabled) {
    if (Status set = accounts.SetDisabled(key, *patch.disabled); !set) {
      return http::ErrorResponse(set.error());
    }
  }
  if (patch.claims) {
    if (Status set = accounts.SetClaims(key, *patch.claims); !set) {
      return http::ErrorResponse(set.error());
    }
  }
  auto user = accounts.Find(key);
  if (!user) return http::ErrorResponse(user.error());
  return UserResponse(200, *user);
}

// DELETE and POST .../logout: the user as stored first, for the 404 and the message.
http::Response RemoveOrLogout(Services& services, const store::UsernameKey& key, bool remove,
                              const store::SessionUse& use) {
  auth::Accounts accounts = AccountsOf(services);
  accounts.From(use);
  auto user = accounts.Find(key);
  if (!user) return http::ErrorResponse(user.error());
  Status done = remove ? accounts.Remove(key, user->username)
                       : accounts.RevokeEveryToken(key, user->username);
  if (!done && done.error().code == ErrorCode::kNotFound) {
    return http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}});
  }
  if (!done) return http::ErrorResponse(done.error());
  return http::MessageResponse(200, remove ? "User " + user->username + " was removed"
                                           : std::string("All tokens have been revoked"));
}

http::Response NewResetCode(Services& services, const store::UsernameKey& key,
                            const store::SessionUse& use) {
  auto code = AccountsOf(services).From(use).IssueResetCode(
      key, services.settings.password_reset_ttl_seconds);
  if (!code) return http::ErrorResponse(code.error());
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("reset_code", code->code)
                      .Add("expires_at", Rfc3339(code->expires_at))
                      .Finish();
  response.no_store = true;
  return response;
}

void ListUsersRoute(const http::Request& request, Services& services, Reply reply,
                    const AdminTarget&) {
  auto query = ParseUserListQuery(request.query);
  if (!query) return reply(http::ErrorResponse(query.error()));
  RunOnPool(services.store_pool, std::move(reply),
            [&services, query = std::move(*query)] { return ListUsers(services, query); });
}

void GetUser(const http::Request&, Services& services, Reply reply, const AdminTarget& target) {
  RunOnPool(services.store_pool, std::move(reply), [&services, key = target.key] {
    auto user = AccountsOf(services).Find(key);
    return user ? UserResponse(200, *user) : http::ErrorResponse(user.error());
  });
}

void PatchUserRoute(const http::Request& request, Services& services, Reply reply,
                    const AdminTarget& target) {
  auto patch = ReadUserPatch(request);
  if (!patch) return reply(http::ErrorResponse(patch.error()));
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = target.key, patch = std::move(*patch),
             use = SessionUseOf(request, 0)] { return PatchUser(services, key, patch, use); });
}

// DELETE .../{username} and POST .../logout.
template <bool kRemove>
void RemoveOrLogoutRoute(const http::Request& request, Services& services, Reply reply,
                         const AdminTarget& target) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = target.key, use = SessionUseOf(request, 0)] {
              return RemoveOrLogout(services, key, kRemove, use);
            });
}

void ResetCodeRoute(const http::Request& request, Services& services, Reply reply,
                    const AdminTarget& target) {
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = target.key, use = SessionUseOf(request, 0)] {
              return NewResetCode(services, key, use);
            });
}

// GET .../sessions and DELETE .../sessions/{id}: the user's sessions as GET /sessions lists
// them (without `current`), and one ended as DELETE /sessions/{id} ends it. An unknown user
// answers 404 `User not found` first, so an empty list always means a user without sessions.
void ListUserSessions(const http::Request&, Services& services, Reply reply,
                      const AdminTarget& target) {
  RunOnPool(services.store_pool, std::move(reply), [&services, key = target.key] {
    if (auto user = AccountsOf(services).Find(key); !user) return http::ErrorResponse(user.error());
    return SessionsOf(services, key, nullptr);
  });
}

void EndUserSession(const http::Request& request, Services& services, Reply reply,
                    const AdminTarget& target) {
  if (!IsSessionId(target.session_id)) {
    return reply(http::ErrorResponse(Error{ErrorCode::kSessionNotFound, {}}));
  }
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = target.key, sid = std::string(target.session_id),
             use = SessionUseOf(request, 0)] {
              auto user = AccountsOf(services).Find(key);
              if (!user) return http::ErrorResponse(user.error());
              const store::AccountEvent event =
                  store::NewEvent("session.revoked", user->username, key, sid, use);
              return EndSessionOf(services, key, sid, &event);
            });
}

struct AdminRoute {
  AdminShape shape;
  http::Method method;  // GET serves HEAD too (RouteServes)
  void (*handler)(const http::Request&, Services&, Reply, const AdminTarget&);
};

// The admin API's routes: the one source of its dispatch, its 405s' Allow and its preflights.
// A path shape with several methods has one entry each, next to each other, in Allow's order.
constexpr AdminRoute kAdminRoutes[] = {
    {AdminShape::kEvents, http::Method::kGet,
     [](const http::Request& request, Services& services, Reply reply, const AdminTarget&) {
       ServeEvents(request, services, std::move(reply));
     }},
    {AdminShape::kUsers, http::Method::kGet, ListUsersRoute},
    {AdminShape::kUsers, http::Method::kPost, CreateUser},
    {AdminShape::kUser, http::Method::kGet, GetUser},
    {AdminShape::kUser, http::Method::kPatch, PatchUserRoute},
    {AdminShape::kUser, http::Method::kDelete, RemoveOrLogoutRoute<true>},
    {AdminShape::kUserSessions, http::Method::kGet, ListUserSessions},
    {AdminShape::kUserSession, http::Method::kDelete, EndUserSession},
    {AdminShape::kUserLogout, http::Method::kPost, RemoveOrLogoutRoute<false>},
    {AdminShape::kUserPasswordReset, http::Method::kPost, ResetCodeRoute},
};

std::string MethodsOf(AdminShape shape) {
  std::string methods;
  for (const AdminRoute& route : kAdminRoutes) {
    if (route.shape == shape) AppendAllowed(methods, route.method);
  }
  return methods;
}

}  // namespace

std::string AdminMethods(const Services& services, std::string_view path) {
  if (services.settings.admin_secret.empty()) return {};
  const AdminPath parsed = ParseAdminPath(path);
  if (!parsed.valid) return {};
  return MethodsOf(parsed.shape);
}

void Admin(const http::Request& request, Services& services, Reply reply) {
  // Without a configured secret the admin API does not exist.
  if (services.settings.admin_secret.empty()) {
    return reply(http::MessageResponse(404, "Not found"));
  }
  if (Status allowed = CheckAdminSecret(request, services); !allowed) {
    return reply(http::ErrorResponse(allowed.error()));
  }
  const AdminPath path = ParseAdminPath(request.path);
  if (!path.valid) return reply(http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}}));
  if (path.shape == AdminShape::kNone) return reply(http::MessageResponse(404, "Not found"));
  const auto route =
      std::find_if(std::begin(kAdminRoutes), std::end(kAdminRoutes), [&](const AdminRoute& r) {
        return r.shape == path.shape && RouteServes(r.method, request.method);
      });
  if (route == std::end(kAdminRoutes)) {
    http::Response response = http::MessageResponse(405, "Method not allowed");
    response.headers.emplace_back("Allow", MethodsOf(path.shape));
    return reply(std::move(response));
  }
  AdminTarget target;
  if (path.username) target.key = store::UsernameKey(*path.username);
  target.session_id = path.session_id;
  route->handler(request, services, std::move(reply), target);
}

}  // namespace gatehouse::api
