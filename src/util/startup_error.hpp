// Start-up errors: what stops gatehouse from starting, or a command from running, before any
// request is served. They are not request errors (util/result.hpp's Error): no HTTP status
// ever comes of them, and cli/ alone turns one into an exit status (2 when the operator must
// fix the configuration, 1 otherwise) and a line on stderr or in the log.
#pragma once

#include <string>

#include "util/result.hpp"

namespace gatehouse {

enum class StartupErrorCode {
  kBadSetting,        // a value, an unknown name, a listen address or database URL that is none
  kBadConfigFile,     // the --config file cannot be read, is not TOML, or others can read it
  kUnsafeSecretFile,  // a secret or key file that group or others can read, or a weak secret
  kEnvironment,       // anything else: storage, I/O, the address taken, a key that will not load
};

struct StartupError {
  StartupErrorCode code;
  std::string detail;  // one line naming the setting or the file; never a secret
};

template <typename T>
using StartupResult = Result<T, StartupError>;
using StartupStatus = Result<Ok, StartupError>;

// A failure of the environment (storage, I/O) met during start-up.
inline StartupError EnvironmentError(Error error) {
  return StartupError{StartupErrorCode::kEnvironment, std::move(error.detail)};
}

}  // namespace gatehouse
