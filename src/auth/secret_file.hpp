// The HS256 secret when none is configured: generated once into <data_dir>/jwt-secret (mode
// 0600), or into the store when it is shared by several instances, and reused by every later
// start, so tokens survive restarts.
#pragma once

#include <string>
#include <string_view>

#include "store/store.hpp"
#include "util/result.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::auth {

// The kid of the generated secret's row in a shared store's signing keys.
inline constexpr std::string_view kStoredSecretKid = "hs256";

// 32 random bytes as 43 base64url characters: a new HS256 secret.
std::string GenerateSecret();

// True for an HS256 secret gatehouse refuses (util/secret_strength.hpp's rule, 32 bytes).
bool IsWeakSecret(std::string_view secret);

// Fails with kUnsafeSecretFile naming the file when group or others may read it (mode & 077),
// or with kEnvironment when it cannot be examined. For every file that holds a secret.
StartupStatus CheckPrivateFile(const std::string& path);

// Fails with kUnsafeSecretFile naming the directory when group or others may write to it, or
// another user than this process's (or root) owns it: either could replace the secrets it
// holds. `holds` says what it holds, for the refusal; kEnvironment when it cannot be examined.
// For every directory that holds a secret: data_dir, and its keys directory.
StartupStatus CheckPrivateDir(const std::string& dir, std::string_view holds);

// Reads the secret file, or creates it with 32 random bytes written as 43 base64url
// characters (the key is those characters, so a Flask service can use the same string).
// Fails with kEnvironment and a one-line detail (never the secret itself), or
// kUnsafeSecretFile when the file is weak (IsWeakSecret) or readable by group or others.
StartupResult<std::string> LoadOrCreateSecret(const std::string& data_dir);

// The same, kept in the store's signing keys (kid kStoredSecretKid): instances starting at once on
// one database agree on the first one written. Fails with the store's error.
Result<std::string> LoadOrCreateStoredSecret(store::Store& store, int64_t now);

// The generated secret if one was made, else "", making none: after a change of jwt.algorithm
// away from HS256, it verifies the tokens it signed until their window closes.
StartupResult<std::string> LoadExistingSecret(const std::string& data_dir);
Result<std::string> LoadExistingStoredSecret(store::Store& store);

}  // namespace gatehouse::auth
