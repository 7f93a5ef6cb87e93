#include "obs/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace gatehouse::obs {

void InitLogging() {
  auto logger = spdlog::stderr_logger_mt("gatehouse");
  if (isatty(STDERR_FILENO)) {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  } else {
    // Messages are written by this code only, never raw client input, so they need no escaping.
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
}

}  // namespace gatehouse::obs
