#include "util/duration.hpp"

namespace gatehouse {
namespace {

// Ten years is far beyond any sensible lifetime and keeps later arithmetic from overflowing.
constexpr int64_t kMaxSeconds = 10LL * 365 * 86400;

bool ParseCount(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 12) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

}  // namespace

bool ParseDuration(const std::string& text, int64_t& seconds) {
  if (text.empty()) return false;
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      unit = 0;
      break;
  }
  if (unit != 0) {
    digits.pop_back();
  } else {
    unit = 1;
  }
  int64_t value = 0;
  if (!ParseCount(digits, value) || value > kMaxSeconds / unit) return false;
  seconds = value * unit;
  return true;
}

bool ParseRateLimit(const std::string& text, RateLimit& out) {
  if (text == "0") {
    out = {};
    return true;
  }
  const auto slash = text.find('/');
  if (slash == std::string::npos) return false;
  int64_t count = 0;
  int64_t period = 0;
  if (!ParseCount(text.substr(0, slash), count) || count == 0 || count > 1000000000 ||
      !ParseDuration(text.substr(slash + 1), period) || period == 0) {
    return false;
  }
  out = {count, period};
  return true;
}

}  // namespace gatehouse
