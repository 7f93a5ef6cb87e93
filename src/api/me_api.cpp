// GET /me, the smallest protected resource.
#include <ctime>

#include "api/services.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::api {
namespace {

http::Response MeResponse(const store::UserCache::Entry& user) {
  http::Response response;
  response.body = JsonObjectWriter()
                      .Add("username", user.username)
                      .Add("created_at", Rfc3339(user.created_at))
                      .Finish();
  return response;
}

}  // namespace

void Me(const http::Request& request, Services& services, Reply reply) {
  auto claims = services.tokens.VerifyBearer(request.authorization, auth::TokenType::kAccess);
  if (!claims) return reply(http::ErrorResponse(claims.error()));

  std::string key = store::UsernameKey(claims->sub);
  if (auto cached = services.users.Get(key)) return reply(MeResponse(*cached));
  // Not cached (e.g. after a restart): one indexed read, off the I/O thread.
  RunOnPool(services.store_pool, std::move(reply),
            [&services, key = std::move(key), sub = claims->sub] {
              auto user = services.store.FindUser(sub);
              if (!user) return http::ErrorResponse(user.error());
              if (!*user) return http::ErrorResponse(Error{ErrorCode::kUserNotFound, {}});
              services.users.Put(key, (*user)->username, (*user)->created_at, (*user)->claims);
              return MeResponse({(*user)->username, (*user)->created_at, {}});
            });
}

}  // namespace gatehouse::api
