// Reading one cookie out of a request's Cookie header (RFC 6265 §4.2.1: "name=value" pairs
// separated by ";" and optional spaces). Whatever the header holds, this never fails and never
// allocates: hostile or broken pairs are skipped, and only the first kMaxCookieHeaderBytes of
// a header are ever looked at.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse {

// The largest request head gatehouse accepts (limits.header_bytes at most 65536): a Cookie
// header is never longer, and this bound holds even for a caller that passes more.
inline constexpr std::size_t kMaxCookieHeaderBytes = 65536;
// A cookie value longer than this is taken as absent: a token is far shorter.
inline constexpr std::size_t kMaxCookieValueBytes = 16384;

// The value of the first cookie named exactly `name` (case-sensitive, as browsers and
// Werkzeug compare), without the double quotes RFC 6265 allows around it; empty when absent,
// empty-valued or over kMaxCookieValueBytes.
std::string_view FindCookie(std::string_view header, std::string_view name);

}  // namespace gatehouse
