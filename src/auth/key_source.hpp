// Where the rotatable keys of a Keyring live, and how they are listed, made and removed:
// <data_dir>/keys/<signs from>-<sequence>.pem|.hs256 (0600), or the rows of a shared store.
// A key's name (its file name, or its kid in a store) sorts in signing order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/keyring.hpp"
#include "util/result.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::auth {

// One key as its source lists it; sources list oldest first.
struct KeyListing {
  std::string name;        // the file name, or the kid in a store
  int64_t signs_from = 0;  // the store's created_at column holds it too
  std::string pem;         // from a store; empty for files, which are read when first seen
  // A store's row and an .hs256 file name it; a .pem file says it when parsed.
  std::optional<Algorithm> algorithm;
};

// A key made now: its kid and the second it signs from.
struct CreatedKey {
  std::string kid;
  int64_t signs_from = 0;
};

// Storage failures of keys: one line, never key material.
Error KeyError(const std::string& what);
std::string KeysDir(const KeyringOptions& options);
// "database", or the keys directory: where a message sends the operator.
std::string KeySourceName(const KeyringOptions& options);

// Keys come from the keys directory or the store, so they can be rotated, unless the key is
// fixed by the configuration (jwt.private_key_file, jwt.secret).
bool Rotatable(const KeyringOptions& options);

// The keys of every algorithm, oldest first (a change of jwt.algorithm leaves the old one's
// keys verifying beside the new one's); a store's generated HS256 secret is not listed.
Result<std::vector<KeyListing>> ListKeys(const KeyringOptions& options);
// At start, for keys in <data_dir>/keys: kUnsafeSecretFile when the directory is writable by
// group or others (anyone could plant a key) or a key file is readable by them (CheckPrivateFile),
// as for jwt-secret and jwt.private_key_file. Ok for a store's keys.
StartupStatus CheckKeyFiles(const KeyringOptions& options);
Result<std::string> ReadKeyFile(const std::string& path);
// RFC 7638 thumbprint of the secret as an oct JWK: a name for it that reveals nothing of it.
std::string HmacKid(std::string_view secret);

// A new key signing from `signs_from`, or later: never before a key in `existing` (the keys
// listed now), so that the newest key signs last.
Result<CreatedKey> CreateKey(const KeyringOptions& options, int64_t signs_from,
                             const std::vector<KeyListing>& existing);
// The first key of the algorithm, named after the keys already there (of another algorithm,
// left from before jwt.algorithm was remembered), never in their place.
Result<CreatedKey> CreateFirstKey(const KeyringOptions& options, int64_t now);
void RemoveKey(const KeyringOptions& options, const std::string& name);
// Deletes the generated HS256 secret (<data_dir>/jwt-secret, or the store's row): its window
// has closed. A later start generates a new one, which no token names.
void RemoveGeneratedSecret(const KeyringOptions& options);

}  // namespace gatehouse::auth
