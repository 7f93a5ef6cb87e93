// The admin API's request side (API.md §12): the admin secret check, the path's parts, the
// query of a listing and the JSON bodies of create and PATCH. No I/O; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/services.hpp"
#include "http/request.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// Ok when the request carries `Authorization: Bearer <admin.secret>` (compared in constant
// time). Otherwise one failure is counted for the client address: kWrongAdminSecret, or
// kRateLimited once the address is over rate_limit.login_per_address in its own bucket. A
// right secret is never counted nor refused, so nobody else's failures lock the operator out.
Status CheckAdminSecret(const http::Request& request, Services& services);
// The same check for another Bearer secret (GET /revocations): failures are counted in the
// address's bucket named `bucket` and answered with `wrong`.
Status CheckCallerSecret(const http::Request& request, Services& services, std::string_view secret,
                         std::string_view bucket, ErrorCode wrong);

// The one reading of a query string (docs/api.md), for /admin/... and /revocations alike: each
// of `names` (the parameters the endpoint has; any other is ignored) taken once, its last
// occurrence winning (an earlier one is not read at all, so `limit=x&limit=5` is 5), its value
// percent-decoded ('+' a space) and bounded by `max_bytes` decoded. One QueryParam per name, in
// the order of `names`.
struct QueryParam {
  bool given = false;                // the name is in the query
  std::optional<std::string> value;  // nullopt: given, but a malformed escape or over the bound
};
std::vector<QueryParam> ReadQuery(std::string_view query, std::span<const std::string_view> names,
                                  std::size_t max_bytes = 256);

// A listing's `limit` into `limit` when given: 1-1000, else the FieldError
// `limit: Must be between 1 and 1000`.
Status ReadLimit(const QueryParam& param, int& limit);
// A cursor that is an id (an event's, a revocation feed entry's): decimal digits within int64,
// else the FieldError `after: Not a cursor this server gave`.
Result<int64_t> ParseIdCursor(std::string_view text);
// `after` into `cursor` when given, as ParseIdCursor reads it.
Status ReadIdCursor(const QueryParam& param, int64_t& cursor);

// The paths of the admin API (API.md §12), by shape; kNone: one it does not have (404).
enum class AdminShape {
  kNone,
  kEvents,             // /admin/events
  kUsers,              // /admin/users
  kUser,               // /admin/users/{username}
  kUserSessions,       // /admin/users/{username}/sessions
  kUserSession,        // /admin/users/{username}/sessions/{id}
  kUserLogout,         // /admin/users/{username}/logout
  kUserPasswordReset,  // /admin/users/{username}/password-reset
};

// An /admin/ path taken apart; `username` percent-decoded.
struct AdminPath {
  AdminShape shape = AdminShape::kNone;
  std::optional<std::string> username;  // the {username} segment, if any
  std::string_view session_id;          // kUserSession's {id}: all that follows "sessions/"
  bool valid = true;  // false: an undecodable or empty name (404 User not found, any shape)
};
AdminPath ParseAdminPath(std::string_view path);

// The methods an /admin/ path serves, "" for a path the admin API does not have (or all of
// them when admin.secret is unset), from the admin API's route table (admin_api.cpp): the one
// source of its 405's Allow and of its CORS preflight's allowed methods (API.md §11; a
// preflight carries no credentials).
std::string AdminMethods(const Services& services, std::string_view path);

// GET /admin/users's query: prefix (username characters, at most 64), after (a cursor of at
// most 256 bytes), limit (1-1000, default 100). FieldErrors for each.
struct UserListQuery {
  std::string prefix;
  std::string after;
  int limit = 100;
};
Result<UserListQuery> ParseUserListQuery(std::string_view query);

// GET /admin/events's query: after (an event id, the cursor; default 0: from the oldest), limit
// (1-1000, default 100), type (one of API.md §12's event types), username (as typed, bounded by
// the request line; the filter cleans and cuts it as events' usernames are). FieldErrors for
// each.
struct EventListQuery {
  int64_t after = 0;
  int limit = 100;
  std::string type;
  std::string username;
};
Result<EventListQuery> ParseEventListQuery(std::string_view query);

// GET and HEAD /admin/events (admin_events.cpp), after the secret and the method were checked.
void ServeEvents(const http::Request& request, Services& services, Reply reply);

// A JSON object body, refusing duplicate names at any depth and nesting beyond
// http::kMaxJsonDepth (kMalformedBody); or a form body (application/x-www-form-urlencoded, or
// none with an empty body) read as the object its fields spell, `disabled` and `claims` given
// as text (docs/api.md); any other Content-Type: kUnsupportedMedia.
Result<nlohmann::json> ParseAdminBody(const http::Request& request);
// JSON text as an object, refusing duplicate names at any depth (parsers differ on which copy
// counts) and nesting beyond http::kMaxJsonDepth; nullopt for anything else. The admin bodies'
// rule, and `gatehouse user claims`'s.
std::optional<nlohmann::json> StrictJsonObject(std::string_view text);

// `name` of `body` when it is a string (nullopt when absent); a FieldError when not a string
// or holding a NUL byte.
Result<std::optional<std::string>> StringField(const nlohmann::json& body, std::string_view name);

}  // namespace gatehouse::api
