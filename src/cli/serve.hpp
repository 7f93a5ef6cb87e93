// `gatehouse serve`: opens the store, loads revocations and keys, and serves HTTP until
// SIGTERM/SIGINT, then drains and returns.
#pragma once

#include "config/settings.hpp"

namespace gatehouse::cli {

// Returns the process exit status: 0 after a clean drain, 1 when start-up fails.
int Serve(const config::Settings& settings);

}  // namespace gatehouse::cli
