#include "auth/jose_json.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

// nlohmann stops at a NUL byte as if the input ended there, so "{}\0junk" would pass; JSON
// text can never contain a raw NUL, so it is refused up front.
bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool IsAsciiJwt(std::string_view s) {
  return s.size() == 3 && (s[0] | 0x20) == 'j' && (s[1] | 0x20) == 'w' && (s[2] | 0x20) == 't';
}

}  // namespace

std::optional<Json> ParseJoseHeader(std::string_view text) {
  if (HasNul(text)) return std::nullopt;
  std::vector<std::string> names;
  bool duplicate = false;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key) {
      const auto& name = parsed.get_ref<const std::string&>();
      duplicate = duplicate || std::find(names.begin(), names.end(), name) != names.end();
      names.push_back(name);
    }
    return true;
  };
  Json header = Json::parse(text, on_event, /*allow_exceptions=*/false);
  if (duplicate || !header.is_object() || header.contains("crit")) return std::nullopt;
  const auto typ = header.find("typ");
  if (typ != header.end() &&
      !(typ->is_string() && IsAsciiJwt(typ->get_ref<const std::string&>()))) {
    return std::nullopt;
  }
  return header;
}

bool SplitCompact(std::string_view token, CompactParts& parts) {
  if (token.size() > kMaxTokenBytes) return false;
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == token.npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos) return false;
  parts.header = token.substr(0, dot1);
  parts.payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  parts.signature = token.substr(dot2 + 1);
  parts.signing_input = token.substr(0, dot2);
  return !parts.header.empty() && !parts.payload.empty() && !parts.signature.empty();
}

bool IsJsonObjectText(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && !HasNul(text) &&
         Json::accept(text);
}

}  // namespace gatehouse::auth
