#include "auth/keyring.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "auth/signing_key.hpp"
#include "obs/logging.hpp"

namespace gatehouse::auth {

// One key as its source lists it; sources list oldest first.
struct KeyListing {
  std::string name;        // the file name, or the kid in a store
  int64_t signs_from = 0;  // the store's created_at column holds it too
  std::string pem;         // from a store; empty for files, which are read when first seen
};

namespace {

// "<10-digit unix seconds>-<8 hex sequence><suffix>", the seconds being when the key starts
// signing (`keys rotate` publishes a key before that): names sort in signing order.
constexpr std::size_t kKeyStemLength = 10 + 1 + 8;

// parsed_'s name for the generated HS256 secret: neither a file name nor a kid.
const std::string kGeneratedSecret;

Error KeyError(const std::string& what) { return Error{ErrorCode::kStorageFailure, what}; }

std::string KeysDir(const KeyringOptions& options) { return options.data_dir + "/keys"; }

// Private keys are PEM files; rotated HS256 secrets are one line of text.
std::string_view KeySuffix(Algorithm algorithm) {
  return IsAsymmetric(algorithm) ? ".pem" : ".hs256";
}

// Keys come from the keys directory or the store, so they can be rotated, unless the key is
// fixed by the configuration (jwt.private_key_file, jwt.secret).
bool Rotatable(const KeyringOptions& options) {
  return IsAsymmetric(options.algorithm) ? options.private_key_file.empty()
                                         : options.hmac_secret_generated;
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

Result<std::vector<std::string>> ListKeyFiles(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return names;
    return KeyError(dir + ": " + std::strerror(errno));
  }
  while (const dirent* entry = ::readdir(handle)) {
    if (IsKeyFileName(entry->d_name, suffix)) names.emplace_back(entry->d_name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return KeyError(path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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

Result<std::vector<KeyListing>> ListKeys(const KeyringOptions& options) {
  std::vector<KeyListing> keys;
  if (options.store != nullptr) {
    auto stored = options.store->LoadSigningKeys(AlgorithmName(options.algorithm));
    if (!stored) return stored.error();
    for (auto& key : *stored) {
      // The generated secret is not a rotated one: the keyring holds it from the start.
      if (key.kid == kStoredSecretKid) {
        Wipe(key.material);
        continue;
      }
      keys.push_back({key.kid, key.created_at, std::move(key.material)});
    }
    return keys;
  }
  auto names = ListKeyFiles(KeysDir(options), KeySuffix(options.algorithm));
  if (!names) return names.error();
  for (auto& name : *names) keys.push_back({name, SignsFrom(name), {}});
  return keys;
}

std::string KeySourceName(const KeyringOptions& options) {
  return options.store != nullptr ? std::string("database") : KeysDir(options);
}

// RFC 7638 thumbprint of the secret as an oct JWK: a name for it that reveals nothing of it.
std::string HmacKid(std::string_view secret) {
  std::string jwk = R"({"k":")" + Base64UrlEncode(secret) + R"(","kty":"oct"})";
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(jwk.data()), jwk.size());
  Wipe(jwk);
  return Base64UrlEncode({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string_view TrimEnd(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
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

// A key made now: its kid and the second it signs from.
struct CreatedKey {
  std::string kid;
  int64_t signs_from = 0;
};

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

// A new key signing from `signs_from`, or later: never before a key in `existing` (the keys
// listed now), so that the newest key signs last.
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

// The first key of the algorithm, named after the files already there (keys of another
// algorithm, left from before a change of jwt.algorithm), never in their place.
Result<CreatedKey> CreateFirstKey(const KeyringOptions& options, int64_t now) {
  auto existing = ListKeys(options);
  if (!existing) return existing.error();
  for (auto& listing : *existing) Wipe(listing.pem);
  return CreateKey(options, now, *existing);
}

void RemoveKey(const KeyringOptions& options, const std::string& name) {
  if (options.store != nullptr) {
    (void)options.store->RemoveSigningKey(name);
  } else {
    ::unlink((KeysDir(options) + "/" + name).c_str());
  }
}

// Keys whose window has closed go: every key but the newest whose successor started signing
// longer than the longest token lifetime ago (the rule SelectKeys applies).
Status RemoveClosedKeys(const KeyringOptions& options, int64_t now) {
  auto listed = ListKeys(options);
  if (!listed) return listed.error();
  for (auto& listing : *listed) Wipe(listing.pem);
  for (std::size_t i = 0; i + 1 < listed->size(); ++i) {
    if ((*listed)[i + 1].signs_from + options.max_token_lifetime <= now) {
      RemoveKey(options, (*listed)[i].name);
    }
  }
  return Ok{};
}

}  // namespace

struct Keyring::State {
  VerifierSet verifiers;  // asymmetric algorithms (and the JWKS)
  HmacKeySet hmac_keys;   // HS256: its own path, never through VerifierSet
  std::shared_ptr<const HmacKey> hmac;
  std::shared_ptr<const SigningKey> signer;
  std::shared_ptr<const std::string> jwks;
  std::vector<std::string> files;  // the keys (file names, kids) this state holds, newest first
  std::string signer_file;         // the one of them that signs
};

Keyring::Keyring(KeyringOptions options)
    : options_(std::move(options)), id_([] {
        static std::atomic<uint64_t> next_id{1};
        return next_id.fetch_add(1, std::memory_order_relaxed);
      }()) {}

// Every token signed or verified reads the state. std::atomic_load of a shared_ptr takes a
// lock from libstdc++'s global mutex pool and moves the reference count, a cache line that
// all I/O threads then share; so each thread keeps its own reference to the state it last
// read and only reloads it when the generation says Reload replaced it. One slot per thread:
// a thread alternating between keyrings (tests) reloads each time and stays correct. The copy
// keeps a replaced state, key material included, alive until that thread reads again.
const Keyring::State& Keyring::CurrentOnThisThread() const {
  struct Copy {
    uint64_t keyring_id = 0;
    uint64_t generation = 0;
    std::shared_ptr<const State> state;
  };
  thread_local Copy copy;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (copy.keyring_id != id_ || copy.generation != generation) {
    copy.state = Current();
    copy.keyring_id = id_;
    copy.generation = generation;
  }
  return *copy.state;
}

std::string Keyring::Sign(std::string_view payload_json) const {
  const State& state = CurrentOnThisThread();
  return state.signer ? state.signer->Sign(payload_json) : state.hmac->Sign(payload_json);
}

Status Keyring::Verify(std::string_view token, std::string& payload_json) const {
  const State& state = CurrentOnThisThread();
  return IsAsymmetric(options_.algorithm) ? state.verifiers.Verify(token, payload_json)
                                          : state.hmac_keys.Verify(token, payload_json);
}

std::shared_ptr<const std::string> Keyring::JwksJson() const { return Current()->jwks; }

std::string Keyring::SigningKid() const {
  const auto state = Current();
  return state->signer ? state->signer->kid() : state->hmac->kid();
}

Keyring::ParsedKey Keyring::ParseKey(const KeyringOptions& options, std::string& material) {
  ParsedKey parsed;
  if (IsAsymmetric(options.algorithm)) {
    // A key of another algorithm (left from before jwt.algorithm changed) is not ours to use.
    auto key = SigningKey::FromPrivatePem(material, options.algorithm);
    if (key) parsed.asymmetric = std::move(key).value();
  } else if (const std::string_view secret = TrimEnd(material); secret.size() >= 32) {
    parsed.hmac = std::make_shared<const HmacKey>(secret, HmacKid(secret));
  }
  Wipe(material);
  return parsed;
}

Result<std::shared_ptr<const Keyring::State>> Keyring::MakeState(std::vector<std::string> included,
                                                                 const std::string& signer) const {
  auto state = std::make_shared<State>();
  const ParsedKey& signing = parsed_.at(signer);
  state->signer = signing.asymmetric;
  state->hmac = signing.hmac;
  for (const auto& name : included) {
    const ParsedKey& key = parsed_.at(name);
    Status added = Ok{};
    if (key.asymmetric) {
      added = state->verifiers.AddPublicKey(key.asymmetric->Public());
    } else if (key.hmac->kid().empty()) {
      state->hmac_keys.SetKey(key.hmac);
    } else {
      added = state->hmac_keys.AddKey(key.hmac);
    }
    if (!added) return added.error();
  }
  state->jwks = std::make_shared<const std::string>(state->verifiers.Jwks().dump());
  state->files = std::move(included);
  state->signer_file = signer;
  return std::shared_ptr<const State>(std::move(state));
}

KeySelection SelectKeys(const std::vector<int64_t>& signs_from, int64_t now,
                        int64_t max_token_lifetime) {
  KeySelection selection;
  bool signer_found = false;
  int64_t successor_signs_from = 0;
  for (std::size_t i = signs_from.size(); i-- > 0;) {
    if (signer_found && successor_signs_from + max_token_lifetime <= now) break;
    selection.in_use.push_back(i);
    // A key whose time has not come is published only; when none has come, the oldest signs.
    if (!signer_found && (signs_from[i] <= now || i == 0)) {
      selection.signer = i;
      signer_found = true;
    }
    if (signer_found) successor_signs_from = signs_from[i];
  }
  return selection;
}

void Keyring::ParseNewKeys(std::vector<KeyListing>& listed) {
  for (auto& listing : listed) {
    if (parsed_.count(listing.name) == 0) {
      auto material = listing.pem.empty() ? ReadFile(KeysDir(options_) + "/" + listing.name)
                                          : Result<std::string>(listing.pem);
      parsed_[listing.name] = material ? ParseKey(options_, *material) : ParsedKey{};
    }
    Wipe(listing.pem);
  }
}

Result<bool> Keyring::Reload(int64_t now) {
  if (!Rotatable(options_)) return false;
  auto listed = ListKeys(options_);
  if (!listed) return listed.error();
  ParseNewKeys(*listed);
  // The generated HS256 secret came before every rotated one (Open parsed it).
  if (!IsAsymmetric(options_.algorithm))
    listed->insert(listed->begin(), KeyListing{kGeneratedSecret, 0, {}});
  std::vector<std::string> usable;
  std::vector<int64_t> signs_from;
  for (const auto& listing : *listed) {
    if (!parsed_[listing.name]) continue;
    usable.push_back(listing.name);
    signs_from.push_back(listing.signs_from);
  }
  if (usable.empty()) return KeyError(KeySourceName(options_) + ": no key for the algorithm");
  const KeySelection selection = SelectKeys(signs_from, now, options_.max_token_lifetime);
  std::vector<std::string> included;
  for (std::size_t index : selection.in_use) included.push_back(usable[index]);
  const std::string& signer = usable[selection.signer];
  const auto current = Current();
  if (current && current->files == included && current->signer_file == signer) return false;
  auto state = MakeState(std::move(included), signer);
  if (!state) return state.error();
  std::atomic_store(&state_, std::move(*state));
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

namespace {

StartupResult<std::shared_ptr<const SigningKey>> LoadPrivateKeyFile(const KeyringOptions& options) {
  if (StartupStatus private_file = CheckPrivateFile(options.private_key_file); !private_file) {
    return private_file.error();
  }
  auto pem = ReadFile(options.private_key_file);
  if (!pem) return EnvironmentError(pem.error());
  auto key = SigningKey::FromPrivatePem(*pem, options.algorithm);
  Wipe(*pem);
  if (!key) {
    return EnvironmentError(
        KeyError("jwt.private_key_file " + options.private_key_file + ": " + key.error().detail));
  }
  return std::shared_ptr<const SigningKey>(std::move(key).value());
}

}  // namespace

// The one key of the configuration: jwt.secret, or jwt.private_key_file.
StartupStatus Keyring::OpenFixed() {
  auto state = std::make_shared<State>();
  if (!IsAsymmetric(options_.algorithm)) {
    state->hmac = std::make_shared<const HmacKey>(options_.hmac_secret);
    state->hmac_keys.SetKey(state->hmac);
  } else {
    auto key = LoadPrivateKeyFile(options_);
    if (!key) return key.error();
    state->signer = std::move(*key);
    if (Status added = state->verifiers.AddPublicKey(state->signer->Public()); !added) {
      return EnvironmentError(added.error());
    }
  }
  state->jwks = std::make_shared<const std::string>(state->verifiers.Jwks().dump());
  state_ = std::move(state);
  return Ok{};
}

// The keys of <data_dir>/keys or the store, after the generated HS256 secret if there is one.
StartupStatus Keyring::OpenRotatable(int64_t now) {
  if (!IsAsymmetric(options_.algorithm)) {
    parsed_[kGeneratedSecret] =
        ParsedKey{nullptr, std::make_shared<const HmacKey>(options_.hmac_secret)};
  }
  auto loaded = Reload(now);
  if (!loaded && IsAsymmetric(options_.algorithm)) {
    // A first start (or a switch of algorithm): make the first key, then load again.
    auto created = CreateFirstKey(options_, now);
    if (!created) return EnvironmentError(created.error());
    const std::string where = KeySourceName(options_);
    obs::Info("generated the first " + std::string(AlgorithmName(options_.algorithm)) +
                  " signing key in " + where + "; later starts reuse it",
              {{"kid", created->kid}, {"path", where}});
    loaded = Reload(now);
  }
  if (!loaded) return EnvironmentError(loaded.error());
  return Ok{};
}

StartupResult<std::unique_ptr<Keyring>> Keyring::Open(KeyringOptions options, int64_t now) {
  std::unique_ptr<Keyring> keyring(new Keyring(std::move(options)));
  StartupStatus opened =
      Rotatable(keyring->options_) ? keyring->OpenRotatable(now) : keyring->OpenFixed();
  if (!opened) return opened.error();
  return keyring;
}

Result<std::string> RotateSigningKey(const KeyringOptions& options, int64_t now,
                                     int64_t* signs_from) {
  if (!Rotatable(options)) {
    return KeyError(IsAsymmetric(options.algorithm)
                        ? "keys rotate cannot replace jwt.private_key_file: put a new key there "
                          "instead"
                        : "keys rotate cannot replace a configured jwt.secret: change it instead");
  }
  auto listed = ListKeys(options);
  if (!listed) return listed.error();
  for (auto& listing : *listed) Wipe(listing.pem);
  const bool immediately = options.publication_delay == 0;
  if (immediately) {
    // Keys still waiting to sign have signed nothing: the key made now replaces them.
    std::erase_if(*listed, [&](const KeyListing& listing) {
      if (listing.signs_from <= now) return false;
      RemoveKey(options, listing.name);
      return true;
    });
  }
  // Nothing signs yet (a first key): no resource server can hold an older key set.
  const bool first = listed->empty() && IsAsymmetric(options.algorithm);
  const int64_t start = immediately || first ? now : now + options.publication_delay;
  auto created = CreateKey(options, start, *listed);
  if (!created) return created.error();
  if (signs_from != nullptr) *signs_from = created->signs_from;
  if (Status removed = RemoveClosedKeys(options, now); !removed) return removed.error();
  return created->kid;
}

}  // namespace gatehouse::auth
