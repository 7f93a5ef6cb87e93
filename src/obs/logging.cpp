#include "obs/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>

#include "util/json_writer.hpp"

namespace gatehouse::obs {
namespace {

std::atomic<bool> json_lines{true};

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void InitLogging() {
  auto logger = spdlog::stderr_logger_mt("gatehouse");
  json_lines = !isatty(STDERR_FILENO);
  if (json_lines) {
    // The event's own members (already escaped JSON) follow the time and level.
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
}

void Log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(128);
  if (json_lines) {
    line += "\"msg\":";
    AppendJsonString(line, message);
    for (const auto& [name, value] : fields) {
      line += ',';
      AppendJsonString(line, name);
      line += ':';
      AppendJsonString(line, value);
    }
  } else {
    line += message;
    for (const auto& [name, value] : fields) {
      line.append(" ").append(name).append("=");
      AppendJsonString(line, value);  // quoted and escaped: no forged lines on a terminal either
    }
  }
  spdlog::log(ToSpdlog(level), "{}", line);
}

bool LogDue(std::atomic<int64_t>& last_logged, int64_t seconds) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_logged.load(std::memory_order_relaxed);
  return now - last >= seconds && last_logged.compare_exchange_strong(last, now);
}

RequestId NewRequestId() {
  static const uint32_t process_prefix = std::random_device{}();
  // Each thread takes numbers in blocks: one shared counter bumped per request made the I/O
  // threads fight over its cache line.
  constexpr uint64_t kBlock = 1024;
  static std::atomic<uint64_t> next_block{0};
  thread_local uint64_t next = 0, end = 0;
  if (next == end) {
    next = next_block.fetch_add(kBlock, std::memory_order_relaxed);
    end = next + kBlock;
  }
  const uint64_t number = next++;
  static constexpr char kHex[] = "0123456789abcdef";
  RequestId id;
  for (int shift = 28; shift >= 0; shift -= 4)
    id.text_[id.size_++] = kHex[(process_prefix >> shift) & 0xF];
  id.text_[id.size_++] = '-';
  int shift = 60;
  while (shift > 0 && ((number >> shift) & 0xF) == 0) shift -= 4;  // no leading zeros, as %llx
  for (; shift >= 0; shift -= 4) id.text_[id.size_++] = kHex[(number >> shift) & 0xF];
  return id;
}

}  // namespace gatehouse::obs
