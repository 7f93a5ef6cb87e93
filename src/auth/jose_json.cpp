#include "auth/jose_json.hpp"

#include <algorithm>
#include <vector>

#include "auth/json_object.hpp"

namespace gatehouse::auth {
namespace {

bool IsAsciiJwt(std::string_view s) {
  return s.size() == 3 && (s[0] | 0x20) == 'j' && (s[1] | 0x20) == 'w' && (s[2] | 0x20) == 't';
}

}  // namespace

std::optional<JoseHeader> ParseJoseHeader(std::string_view text) {
  simdjson::dom::object object;
  if (!ParseJsonObject(text, object)) return std::nullopt;
  // Member names as views into this thread's parse; sorted to find repeats in n log n, since
  // an unauthenticated header may carry thousands of members.
  thread_local std::vector<std::string_view> names;
  names.clear();
  JoseHeader header;
  bool has_alg = false;
  for (const simdjson::dom::key_value_pair member : object) {
    const std::string_view name = member.key;
    names.push_back(name);
    std::string_view value;
    if (name == "crit") return std::nullopt;
    if (name == "typ") {
      if (member.value.get(value) || !IsAsciiJwt(value)) return std::nullopt;
    } else if (name == "alg") {
      if (member.value.get(value)) return std::nullopt;
      header.alg = value;
      has_alg = true;
    } else if (name == "kid") {
      if (member.value.get(value)) return std::nullopt;
      header.kid = std::string(value);
    }
  }
  std::sort(names.begin(), names.end());
  if (!has_alg || std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return std::nullopt;
  }
  return header;
}

bool IsJsonObjectText(std::string_view text) {
  simdjson::dom::object object;
  return ParseJsonObject(text, object);
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

}  // namespace gatehouse::auth
