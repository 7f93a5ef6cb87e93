// The HS256 secret when none is configured: generated once into <data_dir>/jwt-secret (mode
// 0600) and reused by every later start, so tokens survive restarts.
#pragma once

#include <string>

#include "util/result.hpp"

namespace gatehouse::auth {

// Reads the secret file, or creates it with 32 random bytes written as 43 base64url
// characters (the key is those characters, so a Flask service can use the same string).
// Fails with kStorageFailure and a one-line detail (never the secret itself).
Result<std::string> LoadOrCreateSecret(const std::string& data_dir);

}  // namespace gatehouse::auth
