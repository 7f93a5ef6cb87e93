#include "auth/key_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "auth/signing_key.hpp"

namespace gatehouse::auth {
namespace {

// "<10-digit unix seconds>-<8 hex sequence><suffix>", the seconds being when the key starts
// signing (`keys rotate` publishes a key before that): names sort in signing order.
constexpr std::size_t kKeyStemLength = 10 + 1 + 8;

// Private keys are PEM files; rotated HS256 secrets are one line of text.
std::string_view KeySuffix(Algorithm algorithm) {
  return IsAsymmetric(algorithm) ? ".pem" : ".hs256";
}

bool IsKeyFileName(const std::string& name, std::string_view suffix) {
  if (name.size() != kKeyStemLength + suffix.size() ||
      name.compare(kKeyStemLength, suffix.size(), suffix) != 0 || name[10] != '-') {
    return false;
  }
  return std::all_of(name.begin(), name.begin() + 10, ::isdigit) &&
         std::all_of(name.begin() + 11, name.begin() + 19, ::isxdigit);
}

int64_t SignsFrom(const std::string& name) { return std::stoll(name.substr(0, 10)); }

// The key files of every algorithm, in signing order (the stems sort so, whatever the suffix).
Result<std::vector<KeyListing>> ListKeyFiles(const std::string& dir) {
  std::vector<KeyListing> keys;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return keys;
    return KeyError(dir + ": " + std::strerror(errno));
  }
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (IsKeyFileName(name, ".pem")) keys.push_back({name, SignsFrom(name), {}, std::nullopt});
    if (IsKeyFileName(name, ".hs256"))
      keys.push_back({name, SignsFrom(name), {}, Algorithm::kHS256});
  }
  ::closedir(handle);
  std::sort(keys.begin(), keys.end(),
            [](const KeyListing& a, const KeyListing& b) { return a.name < b.name; });
  return keys;
}

// The rows of every algorithm, in signing order: by second, then kid, as each algorithm's are.
Result<std::vector<KeyListing>> ListStoredKeys(store::Store& store) {
  std::vector<KeyListing> keys;
  for (const auto& named : kJwsAlgorithms) {
    auto stored = store.LoadSigningKeys(named.name);
    if (!stored) return stored.error();
    for (auto& key : *stored) {
      // The generated secret is not a rotated one: the keyring holds it from the start.
      if (key.kid == kStoredSecretKid) {
        Wipe(key.material);
        continue;
      }
      keys.push_back({key.kid, key.created_at, std::move(key.material), named.algorithm});
    }
  }
  std::stable_sort(keys.begin(), keys.end(), [](const KeyListing& a, const KeyListing& b) {
    return a.signs_from != b.signs_from ? a.signs_from < b.signs_from : a.name < b.name;
  });
  return keys;
}

// Written to a temporary name and renamed, so a reader never sees half a key.
Status WritePrivateFile(const std::string& path, std::string& contents) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return KeyError(temporary + ": " + std::strerror(errno));
  const bool written =
      ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  Wipe(contents);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return KeyError(path + ": cannot write the key");
  }
  return Ok{};
}

// A new key: its kid and its material (a PEM private key, or an HS256 secret).
struct NewKey {
  std::string kid;
  std::string material;
};

Result<NewKey> GenerateKey(Algorithm algorithm) {
  if (!IsAsymmetric(algorithm)) {
    NewKey key{{}, GenerateSecret()};
    key.kid = HmacKid(key.material);
    return key;
  }
  auto key = SigningKey::Generate(algorithm);
  if (!key) return key.error();
  return NewKey{(*key)->kid(), (*key)->PrivatePem()};
}

Result<std::string> CreateStoredKey(const KeyringOptions& options, int64_t signs_from) {
  auto key = GenerateKey(options.algorithm);
  if (!key) return key.error();
  store::StoredKey stored{key->kid, std::string(AlgorithmName(options.algorithm)),
                          std::move(key->material), signs_from};
  auto added = options.store->AddSigningKey(stored);
  Wipe(stored.material);
  if (!added) return added.error();
  return key->kid;
}

// "<signs_from>-<sequence><suffix>": the sequence is one more than the largest already used
// for that second, so names sort in creation order also for keys made within one second.
std::string NewKeyFileName(const std::vector<KeyListing>& existing, int64_t signs_from,
                           std::string_view suffix) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%010lld-", static_cast<long long>(signs_from));
  unsigned long sequence = 0;
  for (const auto& listing : existing) {
    if (listing.name.compare(0, 11, prefix) == 0) {
      sequence = std::max(sequence, std::stoul(listing.name.substr(11, 8), nullptr, 16) + 1);
    }
  }
  char name[32];
  std::snprintf(name, sizeof name, "%s%08lx%.*s", prefix, sequence, static_cast<int>(suffix.size()),
                suffix.data());
  return name;
}

}  // namespace

Error KeyError(const std::string& what) { return Error{ErrorCode::kStorageFailure, what}; }

std::string KeysDir(const KeyringOptions& options) { return options.data_dir + "/keys"; }

bool Rotatable(const KeyringOptions& options) {
  return IsAsymmetric(options.algorithm) ? options.private_key_file.empty()
                                         : options.hmac_secret_generated;
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return KeyError(path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::vector<KeyListing>> ListKeys(const KeyringOptions& options) {
  return options.store != nullptr ? ListStoredKeys(*options.store) : ListKeyFiles(KeysDir(options));
}

std::string KeySourceName(const KeyringOptions& options) {
  return options.store != nullptr ? std::string("database") : KeysDir(options);
}

std::string HmacKid(std::string_view secret) {
  std::string jwk = R"({"k":")" + Base64UrlEncode(secret) + R"(","kty":"oct"})";
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(jwk.data()), jwk.size());
  Wipe(jwk);
  return Base64UrlEncode({reinterpret_cast<const char*>(digest), sizeof digest});
}

Result<CreatedKey> CreateKey(const KeyringOptions& options, int64_t signs_from,
                             const std::vector<KeyListing>& existing) {
  // Stored keys sort by second, then kid: a key made for the second of another is dated one
  // second later, so that it, not the one whose kid sorts later, signs. Files have a sequence.
  const int64_t after = options.store != nullptr ? 1 : 0;
  for (const auto& listing : existing)
    signs_from = std::max(signs_from, listing.signs_from + after);
  if (options.store != nullptr) {
    auto kid = CreateStoredKey(options, signs_from);
    if (!kid) return kid.error();
    return CreatedKey{std::move(*kid), signs_from};
  }
  const std::string dir = KeysDir(options);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return KeyError(dir + ": " + std::strerror(errno));
  }
  auto key = GenerateKey(options.algorithm);
  if (!key) return key.error();
  const std::string name = NewKeyFileName(existing, signs_from, KeySuffix(options.algorithm));
  if (!IsAsymmetric(options.algorithm)) key->material += '\n';
  if (Status written = WritePrivateFile(dir + "/" + name, key->material); !written) {
    return written.error();
  }
  return CreatedKey{std::move(key->kid), signs_from};
}

void RemoveKey(const KeyringOptions& options, const std::string& name) {
  if (options.store != nullptr) {
    (void)options.store->RemoveSigningKey(name);
  } else {
    ::unlink((KeysDir(options) + "/" + name).c_str());
  }
}

StartupStatus CheckKeyPrivacy(const KeyringOptions& options, const std::string& name) {
  if (options.store != nullptr) return Ok{};
  const std::string dir = KeysDir(options);
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) return Ok{};  // none yet: made 0700 with the first key
  if (StartupStatus private_dir = CheckPrivateDir(dir, "signing keys"); !private_dir) {
    return private_dir;
  }
  return name.empty() ? StartupStatus(Ok{}) : CheckPrivateFile(dir + "/" + name);
}

void RemoveGeneratedSecret(const KeyringOptions& options) {
  if (options.store != nullptr) {
    (void)options.store->RemoveSigningKey(std::string(kStoredSecretKid));
  } else {
    ::unlink((options.data_dir + "/jwt-secret").c_str());
  }
}

StartupStatus GenerateFirstSecret(KeyringOptions& options, const std::vector<KeyListing>& listed,
                                  int64_t now) {
  if (options.algorithm != Algorithm::kHS256 || !options.hmac_secret_generated ||
      !options.hmac_secret.empty() || !listed.empty()) {
    return Ok{};
  }
  if (options.store == nullptr) {
    auto secret = LoadOrCreateSecret(options.data_dir);
    if (!secret) return secret.error();
    options.hmac_secret = std::move(*secret);
    return Ok{};
  }
  auto stored = LoadOrCreateStoredSecret(*options.store, now);
  if (!stored) return EnvironmentError(stored.error());
  options.hmac_secret = std::move(*stored);
  return Ok{};
}

}  // namespace gatehouse::auth
