#include "api/admin_request.hpp"

#include <strings.h>

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

}  // namespace

Result<int> ParsePageLimit(std::string_view text) {
  int limit = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || limit < 1 ||
      limit > 1000) {
    return FieldError("limit", "Must be between 1 and 1000");
  }
  return limit;
}

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
  constexpr std::string_view kUsers = "/admin/users";
  if (path.substr(0, kUsers.size()) != kUsers) return parsed;
  std::string_view rest = path.substr(kUsers.size());
  if (!rest.empty() && rest.front() != '/') return parsed;
  parsed.users = true;
  if (rest.size() <= 1) return parsed;  // "/admin/users" or "/admin/users/"
  rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  parsed.username = PercentDecode(rest.substr(0, slash), kMaxPathNameBytes, false);
  if (!parsed.username || parsed.username->empty()) parsed.valid = false;
  if (slash == std::string_view::npos) return parsed;
  // Whatever follows is the action; one the admin API lacks ("", "a/b") answers 404.
  parsed.action = std::string(rest.substr(slash));
  parsed.action.erase(0, 1);
  if (parsed.action.empty()) parsed.action = "/";
  return parsed;
}

std::vector<QueryParam> QueryParams(std::string_view query) {
  std::vector<QueryParam> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    params.push_back(
        {pair.substr(0, eq), PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1),
                                           kMaxPathNameBytes, true)});
  }
  return params;
}

Result<UserListQuery> ParseUserListQuery(std::string_view query) {
  UserListQuery out;
  for (auto& [name, value] : QueryParams(query)) {
    if (name == "limit") {
      auto limit =
          value ? ParsePageLimit(*value) : FieldError("limit", "Must be between 1 and 1000");
      if (!limit) return limit.error();
      out.limit = *limit;
    } else if (name == "prefix") {
      if (!value || (!value->empty() && !auth::CheckNewUsername(*value))) {
        return FieldError("prefix", "Only letters, digits and . _ @ + - are allowed, at most 64");
      }
      out.prefix = std::move(*value);
    } else if (name == "after") {
      if (!value || value->find('\0') != std::string::npos) {
        return FieldError("after", "Not a cursor this server gave");
      }
      out.after = std::move(*value);
    }
  }
  return out;
}

Result<nlohmann::json> ParseAdminBody(const http::Request& request) {
  std::string_view media = request.content_type.substr(0, request.content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16 || strncasecmp(media.data(), "application/json", 16) != 0) {
    return Error{ErrorCode::kUnsupportedMedia, {}};
  }
  if (!http::IsValidUtf8(request.body)) return Error{ErrorCode::kMalformedBody, {}};
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
  nlohmann::json body = nlohmann::json::parse(request.body, check, /*allow_exceptions=*/false);
  if (refused || body.is_discarded() || !body.is_object()) {
    return Error{ErrorCode::kMalformedBody, {}};
  }
  return body;
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
