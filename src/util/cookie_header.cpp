#include "util/cookie_header.hpp"

#include "util/ascii.hpp"

namespace gatehouse {
namespace {

// RFC 6265 §4.1.1: a cookie-value may stand in one pair of double quotes.
std::string_view Unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

}  // namespace

std::string_view FindCookie(std::string_view header, std::string_view name) {
  if (header.size() > kMaxCookieHeaderBytes) header = header.substr(0, kMaxCookieHeaderBytes);
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    const std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;  // a pair without '=' names nothing
    if (TrimOws(pair.substr(0, equals)) != name) continue;
    const std::string_view value = Unquote(TrimOws(pair.substr(equals + 1)));
    return value.size() > kMaxCookieValueBytes ? std::string_view() : value;
  }
  return {};
}

}  // namespace gatehouse
