// Signing keys for serve and `gatehouse keys rotate`.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "obs/logging.hpp"
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

// jwt.algorithm as last used, kept with the keys: <data_dir>/jwt-algorithm, or a row of a
// shared store's signing keys whose "algorithm" is kAlgorithmRecord, a name no algorithm has,
// so that no key listing ever holds it.
constexpr std::string_view kAlgorithmRecord = "record";
constexpr std::string_view kAlgorithmRecordKid = "jwt.algorithm";

Result<std::optional<JwsAlgorithm>> RecordedAlgorithm(const config::Settings& settings,
                                                      store::Store& store) {
  std::string name;
  if (store.IsShared()) {
    auto rows = store.LoadSigningKeys(kAlgorithmRecord);
    if (!rows) return rows.error();
    for (const auto& row : *rows) {
      if (row.kid == kAlgorithmRecordKid) name = row.material;
    }
  } else {
    std::ifstream(settings.data_dir + "/jwt-algorithm") >> name;
  }
  return ParseAlgorithm(name);
}

Status RecordAlgorithm(const config::Settings& settings, store::Store& store) {
  const std::string name(AlgorithmName(settings.jwt_algorithm));
  if (store.IsShared()) {
    if (Status removed = store.RemoveSigningKey(kAlgorithmRecordKid); !removed) return removed;
    auto added = store.AddSigningKey(
        {std::string(kAlgorithmRecordKid), std::string(kAlgorithmRecord), name, UnixNow()});
    if (!added) return added.error();
    return Ok{};
  }
  const std::string path = settings.data_dir + "/jwt-algorithm";
  std::ofstream out(path + ".tmp");
  out << name << '\n';
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    return Error{ErrorCode::kStorageFailure, path + ": cannot write the algorithm"};
  }
  return Ok{};
}

}  // namespace

StartupStatus RememberAlgorithm(config::Settings& settings, store::Store& store) {
  auto recorded = RecordedAlgorithm(settings, store);
  if (!recorded) return EnvironmentError(recorded.error());
  if (!settings.jwt_algorithm_given && *recorded) settings.jwt_algorithm = **recorded;
  if (*recorded == settings.jwt_algorithm) return Ok{};
  if (*recorded) {
    obs::Warn(std::string("jwt.algorithm changed from ") + std::string(AlgorithmName(**recorded)) +
              " to " + std::string(AlgorithmName(settings.jwt_algorithm)) +
              ": tokens signed under the old one no longer verify");
  }
  // Not kept (a read-only data_dir): this start is right, only a later one without
  // jwt.algorithm falls back to the default.
  if (Status written = RecordAlgorithm(settings, store); !written) {
    obs::Warn("jwt.algorithm not kept with the keys", {{"error", written.error().detail}});
  }
  return Ok{};
}

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

namespace {

void PrintRotated(const std::string& kid, JwsAlgorithm algorithm, int64_t rotated_at,
                  int64_t signs_from) {
  std::cout << "new signing key " << kid << " (" << AlgorithmName(algorithm)
            << "): published now; ";
  if (signs_from <= rotated_at) {
    std::cout << "running servers sign with it within a second\n";
  } else {
    std::cout << "running servers sign with it from " << Rfc3339(signs_from) << " (in "
              << signs_from - rotated_at << " s, keys.publication_delay), once every cached "
              << "key set lists it\n";
  }
  if (algorithm == JwsAlgorithm::kHS256) {
    std::cout << "resource servers that verify with the HS256 secret need the new one; "
                 "gatehouse keeps accepting tokens of the previous one until they expire\n";
  }
}

}  // namespace

int KeysRotate(const config::Settings& given, bool now) {
  if (!auth::InitCrypto()) return Failure("libsodium failed to initialise");
  auto store = OpenStoreOrReport(given);
  if (!store) return 1;
  config::Settings settings = given;
  if (StartupStatus remembered = RememberAlgorithm(settings, *store); !remembered) {
    return Failure(remembered.error().detail);
  }
  const bool hs256 = settings.jwt_algorithm == JwsAlgorithm::kHS256;
  if (hs256 && !settings.jwt_secret.empty()) {
    // A configured secret means exactly what it says: gatehouse signs with it and nothing
    // else, so a secret made here would silently take its place.
    return Failure(
        "keys rotate: jwt.secret is set, and gatehouse signs with exactly that value; change "
        "jwt.secret yourself (tokens of the old value stop verifying), or remove it and let "
        "gatehouse generate and rotate its own (docs/operations.md, Key rotation)");
  }
  auto options = KeyringOptionsFor(settings, *store);
  if (!options) return Failure(options.error().detail);
  if (now) options->publication_delay = 0;
  const int64_t rotated_at = UnixNow();
  int64_t signs_from = 0;
  auto kid = auth::RotateSigningKey(*options, rotated_at, &signs_from);
  if (!kid) return Failure(kid.error().detail);
  PrintRotated(*kid, settings.jwt_algorithm, rotated_at, signs_from);
  return 0;
}

}  // namespace gatehouse::cli
