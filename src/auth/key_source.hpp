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
// The one rule for keys kept in <data_dir>/keys, for a start (which refuses what fails) and a
// reload (which loads nothing that fails, and warns): kUnsafeSecretFile naming the directory
// when group or others can write to it (anyone could plant a key), or naming the key file
// `name` ("": the directory only) when they can read it (CheckPrivateFile, as for jwt-secret
// and jwt.private_key_file). Ok for a store's keys, and for a directory not made yet (the
// first key makes it 0700).
StartupStatus CheckKeyPrivacy(const KeyringOptions& options, const std::string& name);
Result<std::string> ReadKeyFile(const std::string& path);
// RFC 7638 thumbprint of the secret as an oct JWK: a name for it that reveals nothing of it.
std::string HmacKid(std::string_view secret);

// A new key signing from `signs_from`, or later: never before a key in `existing` (the keys
// listed now), so that the newest key signs last.
Result<CreatedKey> CreateKey(const KeyringOptions& options, int64_t signs_from,
                             const std::vector<KeyListing>& existing);
void RemoveKey(const KeyringOptions& options, const std::string& name);
// Deletes the generated HS256 secret (<data_dir>/jwt-secret, or the store's row): its window
// has closed. A later start generates a new one, which no token names.
void RemoveGeneratedSecret(const KeyringOptions& options);

// HS256 with no jwt.secret: sets options.hmac_secret to the generated secret, made here on a
// first start only (`listed`, the keys of every algorithm, is empty). Once keys were rotated,
// a missing secret was deleted when its window closed, and a new one would verify tokens it
// never signed. Fails with kEnvironment (one line, never the secret) as LoadOrCreateSecret.
StartupStatus GenerateFirstSecret(KeyringOptions& options, const std::vector<KeyListing>& listed,
                                  int64_t now);

}  // namespace gatehouse::auth
