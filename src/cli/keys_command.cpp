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
  return {settings.access_ttl_seconds,
          settings.refresh_ttl_seconds,
          settings.jwt_issuer,
          settings.jwt_audience,
          {settings.tokens_in_headers, settings.tokens_in_cookies}};
}

int KeysRotate(const config::Settings& settings) {
  if (!auth::InitCrypto()) return Failure("libsodium failed to initialise");
  const bool hs256 = settings.jwt_algorithm == JwsAlgorithm::kHS256;
  if (hs256 && !settings.jwt_secret.empty()) {
    // A configured secret means exactly what it says: gatehouse signs with it and nothing
    // else, so a secret made here would silently take its place.
    return Failure(
        "keys rotate: jwt.secret is set, and gatehouse signs with exactly that value; change "
        "jwt.secret yourself (tokens of the old value stop verifying), or remove it and let "
        "gatehouse generate and rotate its own (docs/operations.md, Rotating the HS256 secret)");
  }
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  auto options = KeyringOptionsFor(settings, *store);
  if (!options) return Failure(options.error().detail);
  auto kid = auth::RotateSigningKey(*options, UnixNow());
  if (!kid) return Failure(kid.error().detail);
  std::cout << "new signing key " << *kid << " (" << AlgorithmName(settings.jwt_algorithm)
            << "); running servers switch to it within a second\n";
  if (hs256) {
    std::cout << "resource servers that verify with the HS256 secret need the new one; "
                 "gatehouse keeps accepting tokens of the previous one until they expire\n";
  }
  return 0;
}

}  // namespace gatehouse::cli
