// Logging: one JSON object per line on stderr (for journald and log shippers), or readable
// text when stderr is a terminal. Every line is an event with a message and named fields;
// values are escaped, so a client-controlled string (a path) cannot forge log lines.
// Never pass a password, a hash, a token or a secret as a field.
// Thread safety: any thread, after InitLogging().
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace gatehouse::obs {

enum class Level { kDebug, kInfo, kWarn, kError };

using Field = std::pair<std::string_view, std::string_view>;

// Chooses the format from whether stderr is a terminal. Before it is called, events go to a
// plain default logger.
void InitLogging();

void Log(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kError, m, f);
}

// Whether a line that every failing request would repeat may be logged now: true at most once
// every `seconds` for one `last_logged` (a static of the log site). Any thread.
bool LogDue(std::atomic<int64_t>& last_logged, int64_t seconds);

// A short id for one request ("5f3a9c21-1b"), unique within the process, random across
// processes; answered as X-Request-Id and written with every event about the request.
// Fixed size, so that making one per request allocates nothing.
class RequestId {
 public:
  std::string_view view() const { return {text_, size_}; }

 private:
  friend RequestId NewRequestId();
  char text_[32];
  std::size_t size_ = 0;
};
RequestId NewRequestId();

}  // namespace gatehouse::obs
