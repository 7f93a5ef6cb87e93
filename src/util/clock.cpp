#include "util/clock.hpp"

#include <chrono>
#include <ctime>

namespace gatehouse {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t CoarseMonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

namespace {

void PutDigits(char* out, unsigned value, int digits) {
  for (int i = digits - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

std::string Rfc3339(int64_t unix_seconds) {
  // Calendar arithmetic instead of gmtime_r + strftime: GET /me formats a date per request,
  // and the C library's time-zone bookkeeping cost more than the rest of the answer.
  constexpr int64_t kFirst = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr int64_t kLast = 253402300799;   // 9999-12-31T23:59:59Z
  if (unix_seconds < kFirst || unix_seconds > kLast) {
    const std::time_t time = static_cast<std::time_t>(unix_seconds);
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
  }
  using namespace std::chrono;
  const sys_seconds time{seconds{unix_seconds}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  std::string text = "0000-00-00T00:00:00Z";
  PutDigits(&text[0], static_cast<unsigned>(static_cast<int>(date.year())), 4);
  PutDigits(&text[5], static_cast<unsigned>(date.month()), 2);
  PutDigits(&text[8], static_cast<unsigned>(date.day()), 2);
  PutDigits(&text[11], static_cast<unsigned>(clock.hours().count()), 2);
  PutDigits(&text[14], static_cast<unsigned>(clock.minutes().count()), 2);
  PutDigits(&text[17], static_cast<unsigned>(clock.seconds().count()), 2);
  return text;
}

std::string Rfc3339Millis(int64_t unix_millis) {
  // Floored, so that a time before 1970 keeps its fraction positive.
  const int64_t seconds = unix_millis / 1000 - (unix_millis % 1000 < 0 ? 1 : 0);
  std::string text = Rfc3339(seconds);
  char fraction[] = ".000";
  PutDigits(&fraction[1], static_cast<unsigned>(unix_millis - seconds * 1000), 3);
  text.insert(text.size() - 1, fraction);
  return text;
}

}  // namespace gatehouse
