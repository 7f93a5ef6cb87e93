#include "obs/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
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

std::string NewRequestId() {
  static const uint32_t process_prefix = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  char text[32];
  std::snprintf(text, sizeof text, "%08x-%llx", process_prefix,
                static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
  return text;
}

}  // namespace gatehouse::obs
