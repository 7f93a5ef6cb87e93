// `gatehouse serve`: opens the store, loads revocations and keys, and serves HTTP until
// SIGTERM/SIGINT, then drains and returns.
#pragma once

#include "config/settings.hpp"

namespace gatehouse::cli {

// Returns the process exit status: 0 after a clean drain; when start-up fails, 2 for what the
// operator must fix (a setting, a secret or key file), else 1 (cli/commands.hpp's ExitStatus).
int Serve(const config::Settings& settings);

}  // namespace gatehouse::cli
