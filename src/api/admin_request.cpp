#include "api/admin_request.hpp"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include "api/attempt_limits.hpp"
#include "auth/accounts.hpp"
#include "auth/passwords.hpp"
#include "http/body.hpp"

namespace gatehouse::api {
namespace {

// A path segment or query value decoded from %XX (and '+' as a space in a query); nullopt
// for a malformed escape or more than `max_bytes` decoded.
std::optional<std::string> PercentDecode(std::string_view text, std::size_t max_bytes,
                                         bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_bytes) return std::nullopt;
    char c = text[i];
    if (c == '%') {
      unsigned value = 0;
      if (i + 2 >= text.size()) return std::nullopt;
      const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
      c = static_cast<char>(value);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out += c;
  }
  return out;
}

// The longest username a path or query may name: beyond it no account can exist (imported
// names included, whose bound is the token's 256-byte claim bound).
constexpr std::size_t kMaxPathNameBytes = 256;
// The events filter takes a name as a failed login typed it, of any length: the request line
// bounds it (limits.header_bytes, at most 65536), and the filter cuts it as events are cut.
constexpr std::size_t kMaxQueryNameBytes = 65536;

// A listing's `limit` query value (nullopt: undecodable) read into `limit`: the one rule of
// both listings.
Status ReadLimit(const std::optional<std::string>& value, int& limit) {
  if (value) {
    const char* last = value->data() + value->size();
    const auto [end, ec] = std::from_chars(value->data(), last, limit);
    if (ec == std::errc() && end == last && limit >= 1 && limit <= 1000) return Ok{};
  }
  return FieldError("limit", "Must be between 1 and 1000");
}

constexpr std::string_view kNotACursor = "Not a cursor this server gave";

// An event cursor is an event id: decimal digits only (no sign), within int64.
Result<int64_t> ParseEventCursor(std::string_view text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || text[0] == '-' || ec != std::errc() || end != text.data() + text.size()) {
    return FieldError("after", kNotACursor);
  }
  return id;
}

// API.md §12's event types: the only values GET /admin/events filters by.
constexpr std::string_view kEventTypes[] = {"user.created",
                                            "login.succeeded",
                                            "login.failed",
                                            "login.throttled",
                                            "token.revoked",
                                            "session.revoked",
                                            "user.logged_out_everywhere",
                                            "password.changed",
                                            "password.reset_requested",
                                            "user.disabled",
                                            "user.enabled",
                                            "user.claims_changed",
                                            "user.removed",
                                            "refresh_token.reused"};

bool IsEventType(std::string_view type) {
  return std::find(std::begin(kEventTypes), std::end(kEventTypes), type) != std::end(kEventTypes);
}

}  // namespace

Status CheckAdminSecret(const http::Request& request, Services& services) {
  return CheckCallerSecret(request, services, services.settings.admin_secret, "/admin",
                           ErrorCode::kWrongAdminSecret);
}

Status CheckCallerSecret(const http::Request& request, Services& services, std::string_view secret,
                         std::string_view bucket, ErrorCode wrong) {
  auto given = auth::TokenService::BearerToken(request.authorization);
  if (given && auth::SecretEquals(*given, secret)) return Ok{};
  // Its own bucket under the per-address login limit: the name part cannot be a username.
  const int64_t wait = services.limits.login_per_address.Take(
      auth::LimiterKeyOf(bucket, request.client_address), auth::MonotonicMillis());
  if (wait > 0) return TooMany(wait, obs::RateLimitKind::kLoginPerAddress);
  return Error{wrong, {}};
}

AdminPath ParseAdminPath(std::string_view path) {
  AdminPath parsed;
  if (path == "/admin/events") parsed.shape = AdminShape::kEvents;
  constexpr std::string_view kUsers = "/admin/users";
  if (path.substr(0, kUsers.size()) != kUsers) return parsed;
  std::string_view rest = path.substr(kUsers.size());
  if (!rest.empty() && rest.front() != '/') return parsed;
  parsed.shape = AdminShape::kUsers;
  if (rest.size() <= 1) return parsed;  // "/admin/users" or "/admin/users/"
  rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  parsed.username = PercentDecode(rest.substr(0, slash), kMaxPathNameBytes, false);
  if (!parsed.username || parsed.username->empty()) parsed.valid = false;
  parsed.shape = AdminShape::kUser;
  if (slash == std::string_view::npos) return parsed;
  // Whatever follows is the action; one the admin API lacks ("", "a/b") answers 404.
  const std::string_view action = rest.substr(slash + 1);
  constexpr std::string_view kSession = "sessions/";
  parsed.shape = action == "sessions"           ? AdminShape::kUserSessions
                 : action.starts_with(kSession) ? AdminShape::kUserSession
                 : action == "logout"           ? AdminShape::kUserLogout
                 : action == "password-reset"   ? AdminShape::kUserPasswordReset
                                                : AdminShape::kNone;
  if (parsed.shape == AdminShape::kUserSession) parsed.session_id = action.substr(kSession.size());
  return parsed;
}

// Calls `take(name, value)` for each name=value pair of a query string, the value
// percent-decoded (nullopt: malformed, or more than `max_bytes`); the first error it answers
// ends the walk.
template <typename Take>
Status ForEachQueryPair(std::string_view query, Take take,
                        std::size_t max_bytes = kMaxPathNameBytes) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    auto value =
        PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), max_bytes, true);
    if (Status taken = take(pair.substr(0, eq), std::move(value)); !taken) return taken;
  }
  return Ok{};
}

std::vector<QueryParam> QueryParams(std::string_view query) {
  std::vector<QueryParam> params;
  Status walked = ForEachQueryPair(
      query, [&](std::string_view name, std::optional<std::string> value) -> Status {
        params.push_back({name, std::move(value)});
        return Ok{};
      });
  (void)walked;
  return params;
}

Result<int> ParsePageLimit(std::string_view text) {
  int limit = 0;
  if (Status read = ReadLimit(std::string(text), limit); !read) return read.error();
  return limit;
}

Result<UserListQuery> ParseUserListQuery(std::string_view query) {
  UserListQuery out;
  Status parsed = ForEachQueryPair(
      query, [&](std::string_view name, std::optional<std::string> value) -> Status {
        if (name == "limit") return ReadLimit(value, out.limit);
        if (name == "prefix") {
          if (!value || (!value->empty() && !auth::CheckNewUsername(*value))) {
            return FieldError("prefix",
                              "Only letters, digits and . _ @ + - are allowed, at most 64");
          }
          out.prefix = std::move(*value);
        } else if (name == "after") {
          if (!value || value->find('\0') != std::string::npos) {
            return FieldError("after", kNotACursor);
          }
          out.after = std::move(*value);
        }
        return Ok{};
      });
  if (!parsed) return parsed.error();
  return out;
}

Result<EventListQuery> ParseEventListQuery(std::string_view query) {
  EventListQuery out;
  Status parsed = ForEachQueryPair(
      query,
      [&](std::string_view name, std::optional<std::string> value) -> Status {
        if (name == "limit") return ReadLimit(value, out.limit);
        if (name == "after") {
          auto after = value ? ParseEventCursor(*value) : FieldError("after", kNotACursor);
          if (!after) return after.error();
          out.after = *after;
        } else if (name == "type") {
          if (!value || !IsEventType(*value)) return FieldError("type", "Not an event type");
          out.type = std::move(*value);
        } else if (name == "username") {
          if (!value) return FieldError("username", "Malformed percent-encoding");
          out.username = std::move(*value);
        }
        return Ok{};
      },
      kMaxQueryNameBytes);
  if (!parsed) return parsed.error();
  return out;
}

std::optional<nlohmann::json> StrictJsonObject(std::string_view text) {
  if (!http::IsValidUtf8(text)) return std::nullopt;
  // One set of names per open object: a name given twice is refused at any depth, since
  // parsers differ on which copy counts.
  std::vector<std::set<std::string>> names;
  bool refused = false;
  auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > http::kMaxJsonDepth) refused = true;
    if (event == Event::object_start) names.emplace_back();
    if (event == Event::object_end && !names.empty()) names.pop_back();
    if (event == Event::key && !names.empty() &&
        !names.back().insert(parsed.get<std::string>()).second) {
      refused = true;
    }
    return !refused;
  };
  nlohmann::json body = nlohmann::json::parse(text, check, /*allow_exceptions=*/false);
  if (refused || body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

namespace {

// A form body (API.md §1: every body may be a form) as the JSON object its fields spell, every
// value a string but the two that are not strings in JSON: `disabled` "true"/"false" becomes a
// boolean and `claims` holding a JSON object becomes that object (docs/api.md). Anything else
// stays a string, which the field's own check then refuses with its message.
Result<nlohmann::json> FormAsJson(const http::Request& request) {
  static const std::vector<std::string_view> kFields = {"username", "password", "disabled",
                                                        "claims"};
  auto fields = http::DecodeFields(request.content_type, request.body, kFields);
  if (!fields) return fields.error();
  nlohmann::json body = nlohmann::json::object();
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    if ((*fields)[i]) body[std::string(kFields[i])] = std::move(*(*fields)[i]);
  }
  if (const auto it = body.find("disabled"); it != body.end()) {
    if (*it == "true" || *it == "false") *it = (*it == "true");
  }
  if (const auto it = body.find("claims"); it != body.end()) {
    if (auto claims = StrictJsonObject(it->get<std::string>())) *it = std::move(*claims);
  }
  return body;
}

}  // namespace

Result<nlohmann::json> ParseAdminBody(const http::Request& request) {
  if (!http::IsJsonContentType(request.content_type)) return FormAsJson(request);
  auto body = StrictJsonObject(request.body);
  if (!body) return Error{ErrorCode::kMalformedBody, {}};
  return std::move(*body);
}

Result<std::optional<std::string>> StringField(const nlohmann::json& body, std::string_view name) {
  const auto it = body.find(name);
  if (it == body.end()) return std::optional<std::string>();
  if (!it->is_string()) return FieldError(name, "must be a string");
  std::string value = it->get<std::string>();
  if (value.find('\0') != std::string::npos) return FieldError(name, "must not contain NUL bytes");
  return std::optional<std::string>(std::move(value));
}

}  // namespace gatehouse::api
