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
#include "util/event_types.hpp"

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

constexpr std::string_view kNotACursor = "Not a cursor this server gave";

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

std::vector<QueryParam> ReadQuery(std::string_view query, std::span<const std::string_view> names,
                                  std::size_t max_bytes) {
  std::vector<std::optional<std::string_view>> raw(names.size());
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const auto name = std::find(names.begin(), names.end(), pair.substr(0, eq));
    if (name == names.end()) continue;
    raw[name - names.begin()] = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
  }
  std::vector<QueryParam> params(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (raw[i]) params[i] = {true, PercentDecode(*raw[i], max_bytes, true)};
  }
  return params;
}

Status ReadLimit(const QueryParam& param, int& limit) {
  if (!param.given) return Ok{};
  if (const auto& value = param.value) {
    const char* last = value->data() + value->size();
    const auto [end, ec] = std::from_chars(value->data(), last, limit);
    if (ec == std::errc() && end == last && limit >= 1 && limit <= 1000) return Ok{};
  }
  return FieldError("limit", "Must be between 1 and 1000");
}

Result<int64_t> ParseIdCursor(std::string_view text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || text[0] == '-' || ec != std::errc() || end != text.data() + text.size()) {
    return FieldError("after", kNotACursor);
  }
  return id;
}

Status ReadIdCursor(const QueryParam& param, int64_t& cursor) {
  if (!param.given) return Ok{};
  auto id = param.value ? ParseIdCursor(*param.value) : FieldError("after", kNotACursor);
  if (!id) return id.error();
  cursor = *id;
  return Ok{};
}

Result<UserListQuery> ParseUserListQuery(std::string_view query) {
  static constexpr std::string_view kNames[] = {"limit", "prefix", "after"};
  const std::vector<QueryParam> params = ReadQuery(query, kNames, kMaxPathNameBytes);
  UserListQuery out;
  if (Status read = ReadLimit(params[0], out.limit); !read) return read.error();
  if (const QueryParam& prefix = params[1]; prefix.given) {
    if (!prefix.value || (!prefix.value->empty() && !auth::CheckNewUsername(*prefix.value))) {
      return FieldError("prefix", "Only letters, digits and . _ @ + - are allowed, at most 64");
    }
    out.prefix = *prefix.value;
  }
  if (const QueryParam& after = params[2]; after.given) {
    if (!after.value || after.value->find('\0') != std::string::npos) {
      return FieldError("after", kNotACursor);
    }
    out.after = *after.value;
  }
  return out;
}

Result<EventListQuery> ParseEventListQuery(std::string_view query) {
  static constexpr std::string_view kNames[] = {"limit", "after", "type", "username"};
  const std::vector<QueryParam> params = ReadQuery(query, kNames, kMaxQueryNameBytes);
  EventListQuery out;
  if (Status read = ReadLimit(params[0], out.limit); !read) return read.error();
  if (Status read = ReadIdCursor(params[1], out.after); !read) return read.error();
  if (const QueryParam& type = params[2]; type.given) {
    if (!type.value || !IsEventType(*type.value)) return FieldError("type", "Not an event type");
    out.type = *type.value;
  }
  if (const QueryParam& username = params[3]; username.given) {
    if (!username.value) return FieldError("username", "Malformed percent-encoding");
    out.username = *username.value;
  }
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
