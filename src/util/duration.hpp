// Parsing the duration and rate forms every setting uses.
#pragma once

#include <cstdint>
#include <string>

namespace gatehouse {

// "90", "90s", "15m", "2h", "30d" -> seconds (at most ten years). False on anything else.
bool ParseDuration(const std::string& text, int64_t& seconds);

struct RateLimit {
  int64_t count = 0;  // 0: no limit
  int64_t period_seconds = 0;
  bool enabled() const { return count > 0; }
};

// "10/15m" -> {10, 900}; "0" -> no limit. False on anything else.
bool ParseRateLimit(const std::string& text, RateLimit& out);

}  // namespace gatehouse
