// Wall-clock time as the tokens and the store use it: whole unix seconds.
#pragma once

#include <cstdint>
#include <string>

namespace gatehouse {

int64_t UnixNow();
// "2026-11-24T10:21:20Z" (RFC 3339, UTC, whole seconds).
std::string Rfc3339(int64_t unix_seconds);
// "2026-11-24T10:21:20.045Z" (RFC 3339, UTC, exactly three fraction digits).
std::string Rfc3339Millis(int64_t unix_millis);

}  // namespace gatehouse
