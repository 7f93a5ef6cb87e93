// Wall-clock time as the tokens and the store use it: whole unix seconds.
#pragma once

#include <cstdint>
#include <string>

namespace gatehouse {

int64_t UnixNow();
// CLOCK_MONOTONIC_COARSE in nanoseconds: the kernel's last tick (1 to 10 ms old), read from
// memory without a system call, for the hot paths' time checks.
int64_t CoarseMonotonicNs();
// "2026-11-24T10:21:20Z" (RFC 3339, UTC, whole seconds).
std::string Rfc3339(int64_t unix_seconds);
// "2026-11-24T10:21:20.045Z" (RFC 3339, UTC, exactly three fraction digits).
std::string Rfc3339Millis(int64_t unix_millis);

}  // namespace gatehouse
