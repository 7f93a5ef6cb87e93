// Signing keys for serve and `gatehouse keys rotate`.
#include <algorithm>
#include <iostream>

#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

// The generated HS256 secret: in a store shared by several instances, else in data_dir.
StartupResult<std::string> GeneratedSecret(const config::Settings& settings, store::Store& store) {
  if (!store.IsShared()) return auth::LoadOrCreateSecret(settings.data_dir);
  auto stored = auth::LoadOrCreateStoredSecret(store, UnixNow());
  if (!stored) return EnvironmentError(stored.error());
  return std::move(*stored);
}

// A store shared by several instances keeps the keys (and the generated HS256 secret), so a
// new instance needs no files copied; a store of one machine leaves them in data_dir.
StartupResult<auth::KeyringOptions> KeyringOptionsFor(const config::Settings& settings,
                                                      store::Store& store) {
  auth::KeyringOptions options;
  if (store.IsShared()) options.store = &store;
  options.algorithm = settings.jwt_algorithm;
  options.data_dir = settings.data_dir;
  options.private_key_file = settings.jwt_private_key_file;
  // A replaced key verifies as long as any token it signed can live.
  options.max_token_lifetime = std::max(settings.access_ttl_seconds, settings.refresh_ttl_seconds);
  options.publication_delay = settings.key_publication_delay;
  if (options.algorithm == auth::Algorithm::kHS256) {
    options.hmac_secret = settings.jwt_secret;
    options.hmac_secret_generated = options.hmac_secret.empty();
    if (options.hmac_secret_generated) {
      auto generated = GeneratedSecret(settings, store);
      if (!generated) return generated.error();
      options.hmac_secret = std::move(*generated);
    }
  }
  return options;
}

}  // namespace

StartupResult<std::shared_ptr<auth::Keyring>> OpenKeyring(const config::Settings& settings,
                                                          store::Store& store) {
  auto options = KeyringOptionsFor(settings, store);
  if (!options) return options.error();
  auto keyring = auth::Keyring::Open(*options, UnixNow());
  auth::Wipe(options->hmac_secret);
  if (!keyring) return keyring.error();
  return std::shared_ptr<auth::Keyring>(std::move(keyring).value());
}

auth::TokenLifetimes TokenPolicyFor(const config::Settings& settings) {
  return {settings.access_ttl_seconds, settings.refresh_ttl_seconds, settings.jwt_issuer,
          settings.jwt_audience};
}

int KeysRotate(const config::Settings& settings, bool now) {
  if (!auth::InitCrypto()) return Failure("libsodium failed to initialise");
  const bool hs256 = settings.jwt_algorithm == JwsAlgorithm::kHS256;
  if (hs256 && !settings.jwt_secret.empty()) {
    // A configured secret means exactly what it says: gatehouse signs with it and nothing
    // else, so a secret made here would silently take its place.
    return Failure(
        "keys rotate: jwt.secret is set, and gatehouse signs with exactly that value; change "
        "jwt.secret yourself (tokens of the old value stop verifying), or remove it and let "
        "gatehouse generate and rotate its own (docs/operations.md, Key rotation)");
  }
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  auto options = KeyringOptionsFor(settings, *store);
  if (!options) return Failure(options.error().detail);
  if (now) options->publication_delay = 0;
  const int64_t rotated_at = UnixNow();
  int64_t signs_from = 0;
  auto kid = auth::RotateSigningKey(*options, rotated_at, &signs_from);
  if (!kid) return Failure(kid.error().detail);
  std::cout << "new signing key " << *kid << " (" << AlgorithmName(settings.jwt_algorithm)
            << "): published now; ";
  if (signs_from <= rotated_at) {
    std::cout << "running servers sign with it within a second\n";
  } else {
    std::cout << "running servers sign with it from " << Rfc3339(signs_from) << " (in "
              << signs_from - rotated_at << " s, keys.publication_delay), once every cached "
              << "key set lists it\n";
  }
  if (hs256) {
    std::cout << "resource servers that verify with the HS256 secret need the new one; "
                 "gatehouse keeps accepting tokens of the previous one until they expire\n";
  }
  return 0;
}

}  // namespace gatehouse::cli
