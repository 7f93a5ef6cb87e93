// Signing keys for serve and `gatehouse keys rotate`.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "auth/key_source.hpp"
#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "obs/logging.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

// jwt.secret, or the generated HS256 secret if one was made, else "": under HS256 the secret
// that signs (Keyring::Open makes it on a first start), otherwise the one of before a change of
// algorithm, so that its tokens keep verifying.
StartupResult<std::string> ExistingSecret(const config::Settings& settings, store::Store& store) {
  if (!settings.jwt_secret.empty()) return settings.jwt_secret;
  if (!store.IsShared()) return auth::LoadExistingSecret(settings.data_dir);
  auto stored = auth::LoadExistingStoredSecret(store);
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
  options.hmac_secret_generated = settings.jwt_secret.empty();
  auto secret = ExistingSecret(settings, store);
  if (!secret) return secret.error();
  options.hmac_secret = std::move(*secret);
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
  if (!*recorded) {
    // The first start (or the first since jwt.algorithm is kept): keep this one. Not kept (a
    // read-only data_dir): this start is right, only a later one without jwt.algorithm falls
    // back to the default.
    if (Status written = RecordAlgorithm(settings, store); !written) {
      obs::Warn("jwt.algorithm not kept with the keys", {{"error", written.error().detail}});
    }
    return Ok{};
  }
  if (!settings.jwt_algorithm_given) settings.jwt_algorithm = **recorded;
  if (**recorded == settings.jwt_algorithm) return Ok{};
  const std::string kept(AlgorithmName(**recorded));
  const std::string wanted(AlgorithmName(settings.jwt_algorithm));
  return StartupError{
      StartupErrorCode::kBadSetting,
      "jwt.algorithm is " + wanted + ", but the keys are " + kept + "'s (kept in " +
          (store.IsShared() ? std::string("the database") : settings.data_dir + "/jwt-algorithm") +
          "); switching at a start would invalidate every token. To keep " + kept +
          ", remove jwt.algorithm or set it to " + kept + "; to change to " + wanted +
          " with the old tokens still valid, run `gatehouse keys rotate --jwt-algorithm " + wanted +
          "` (docs/operations.md, Changing the algorithm)"};
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

// The algorithm this rotation is for: the one kept, unless jwt.algorithm names another (the
// change of algorithm) or none is kept yet. Whether it is to be kept after the rotation.
Result<bool> AlgorithmToRotate(config::Settings& settings, store::Store& store) {
  auto recorded = RecordedAlgorithm(settings, store);
  if (!recorded) return recorded.error();
  if (!*recorded) return true;
  if (!settings.jwt_algorithm_given) settings.jwt_algorithm = **recorded;
  if (settings.jwt_algorithm == **recorded) return false;
  std::cout << "jwt.algorithm changes from " << AlgorithmName(**recorded) << " to "
            << AlgorithmName(settings.jwt_algorithm) << ": tokens of the "
            << AlgorithmName(**recorded) << " keys keep verifying until they expire\n";
  return true;
}

}  // namespace

int KeysRotate(const config::Settings& given, bool now) {
  if (!auth::InitCrypto()) return Failure("libsodium failed to initialise");
  auto store = OpenStoreOrReport(given);
  if (!store) return 1;
  config::Settings settings = given;
  auto keep = AlgorithmToRotate(settings, *store);
  if (!keep) return Failure(keep.error().detail);
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
  auth::Wipe(options->hmac_secret);
  if (!kid) return Failure(kid.error().detail);
  // Kept only once its key exists: a start in between still finds a key of the kept one.
  if (*keep) {
    if (Status kept = RecordAlgorithm(settings, *store); !kept) return Failure(kept.error().detail);
  }
  PrintRotated(*kid, settings.jwt_algorithm, rotated_at, signs_from);
  return 0;
}

}  // namespace gatehouse::cli
