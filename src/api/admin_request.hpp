// The admin API's request side (API.md §12): the admin secret check, the path's parts, the
// query of a listing and the JSON bodies of create and PATCH. No I/O; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
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

// A query string's name=value pairs in order, each value percent-decoded ('+' a space); a
// malformed or over-long (256 bytes) value is nullopt.
struct QueryParam {
  std::string_view name;
  std::optional<std::string> value;
};
std::vector<QueryParam> QueryParams(std::string_view query);

// A listing's `limit` (1-1000), else the FieldError `limit: Must be between 1 and 1000`.
Result<int> ParsePageLimit(std::string_view text);

// "/admin/users/{username}/{action}" taken apart; `username` percent-decoded.
struct AdminPath {
  bool users = false;                   // the path is /admin/users or below it
  std::optional<std::string> username;  // the {username} segment, if any
  std::string action;                   // "", "logout", "password-reset", or other (404)
  bool valid = true;                    // false: an undecodable or empty name
};
AdminPath ParseAdminPath(std::string_view path);

// GET /admin/users's query: prefix (username characters, at most 64), after (a cursor of at
// most 256 bytes), limit (1-1000, default 100). FieldErrors for each.
struct UserListQuery {
  std::string prefix;
  std::string after;
  int limit = 100;
};
Result<UserListQuery> ParseUserListQuery(std::string_view query);

// A JSON object body (Content-Type application/json, else kUnsupportedMedia), refusing
// duplicate names at any depth and nesting beyond http::kMaxJsonDepth (kMalformedBody).
Result<nlohmann::json> ParseAdminBody(const http::Request& request);

// `name` of `body` when it is a string (nullopt when absent); a FieldError when not a string
// or holding a NUL byte.
Result<std::optional<std::string>> StringField(const nlohmann::json& body, std::string_view name);

}  // namespace gatehouse::api
