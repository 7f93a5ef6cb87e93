#include "auth/keyring.hpp"

#include <algorithm>
#include <cctype>

#include "auth/jose_json.hpp"
#include "auth/key_source.hpp"
#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "auth/signing_key.hpp"
#include "obs/logging.hpp"

namespace gatehouse::auth {
namespace {

// parsed_'s name for the generated HS256 secret: neither a file name nor a kid.
const std::string kGeneratedSecret;

std::string_view TrimEnd(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

StartupResult<std::shared_ptr<const SigningKey>> LoadPrivateKeyFile(const KeyringOptions& options) {
  if (StartupStatus private_file = CheckPrivateFile(options.private_key_file); !private_file) {
    return private_file.error();
  }
  auto pem = ReadKeyFile(options.private_key_file);
  if (!pem) return EnvironmentError(pem.error());
  auto key = SigningKey::FromPrivatePem(*pem, options.algorithm);
  Wipe(*pem);
  if (!key) {
    return EnvironmentError(
        KeyError("jwt.private_key_file " + options.private_key_file + ": " + key.error().detail));
  }
  return std::shared_ptr<const SigningKey>(std::move(key).value());
}

// A key file that group or others can read, or any new key of a keys directory they can write
// to, found while the server runs, is left out with a warning until the next start (which
// refuses it while it stays so). A start logs nothing here: its refusal names the file.
void WarnNotLoaded(const StartupError& error, bool at_start) {
  if (at_start) return;
  static std::atomic<int64_t> last_logged{0};
  if (obs::LogDue(last_logged, 60)) {
    obs::Warn("a signing key that group or others can read or replace is not loaded",
              {{"reason", error.detail}});
  }
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
  std::string signer_header;       // base64url of the exact header the signer writes
  // The retired keys by kid ("" for the generated HS256 secret): when their successor began
  // signing. Empty outside a rotation window, so verification then costs nothing more.
  std::map<std::string, int64_t, std::less<>> retired_at;
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

Status Keyring::Verify(std::string_view token, std::string& payload_json, IssueBound& bound) const {
  const State& state = CurrentOnThisThread();
  // HS256 alone takes its own path; keys of both kinds (during a change of jwt.algorithm) go
  // through VerifierSet, where the header's alg picks the kind and the kid the key.
  Status verified = state.verifiers.PublicKeyCount() == 0
                        ? state.hmac_keys.Verify(token, payload_json)
                        : state.verifiers.Verify(token, payload_json);
  bound = verified && !state.retired_at.empty() ? BoundOf(state, token) : IssueBound{};
  return verified;
}

Status Keyring::Verify(std::string_view token, std::string& payload_json) const {
  IssueBound bound;
  return Verify(token, payload_json, bound);
}

IssueBound Keyring::BoundOf(const State& state, std::string_view token) const {
  CompactParts parts;
  if (!SplitCompact(token, parts) || parts.header == state.signer_header) return {};
  // Verified already, so the header parses and names one of this state's keys.
  std::string header_json;
  if (!Base64UrlDecode(parts.header, header_json)) return {};
  const auto header = ParseJoseHeader(header_json);
  if (!header) return {};
  const auto retired = state.retired_at.find(header->kid.value_or(""));
  if (retired == state.retired_at.end()) return {};
  return IssueBound{retired->second + kRetiredKeyLeeway};
}

std::shared_ptr<const std::string> Keyring::JwksJson() const { return Current()->jwks; }

std::string Keyring::SigningKid() const {
  const auto state = Current();
  return state->signer ? state->signer->kid() : state->hmac->kid();
}

Keyring::ParsedKey Keyring::ParseKey(std::optional<Algorithm> algorithm, std::string& material) {
  ParsedKey parsed;
  if (algorithm == Algorithm::kHS256) {
    if (const std::string_view secret = TrimEnd(material); secret.size() >= 32) {
      parsed.hmac = std::make_shared<const HmacKey>(secret, HmacKid(secret));
    }
  } else {
    // A PEM file does not name its algorithm, its key type does: it fits exactly one.
    for (const auto& named : kJwsAlgorithms) {
      if (parsed || !IsAsymmetric(named.algorithm) ||
          algorithm.value_or(named.algorithm) != named.algorithm)
        continue;
      auto key = SigningKey::FromPrivatePem(material, named.algorithm);
      if (key) parsed.asymmetric = std::move(key).value();
    }
  }
  Wipe(material);
  return parsed;
}

Result<std::shared_ptr<const Keyring::State>> Keyring::MakeState(
    std::vector<std::string> included, const std::string& signer,
    const std::map<std::string, int64_t>& retired_at) const {
  auto state = std::make_shared<State>();
  const ParsedKey& signing = parsed_.at(signer);
  state->signer = signing.asymmetric;
  state->hmac = signing.hmac;
  state->signer_header =
      signing.asymmetric ? signing.asymmetric->header_b64() : signing.hmac->header_b64();
  for (const auto& [name, when] : retired_at) {
    const ParsedKey& key = parsed_.at(name);
    state->retired_at[key.asymmetric ? key.asymmetric->kid() : key.hmac->kid()] = when;
  }
  for (const auto& name : included) {
    const ParsedKey& key = parsed_.at(name);
    Status added = Ok{};
    if (key.asymmetric) {
      added = state->verifiers.AddPublicKey(key.asymmetric->Public());
    } else if (key.hmac->kid().empty()) {
      state->hmac_keys.SetKey(key.hmac);
      state->verifiers.SetHmacKey(key.hmac);
    } else {
      added = state->hmac_keys.AddKey(key.hmac);
      if (added) added = state->verifiers.AddHmacKey(key.hmac);
    }
    if (!added) return added.error();
  }
  state->jwks = std::make_shared<const std::string>(state->verifiers.Jwks().dump());
  state->files = std::move(included);
  state->signer_file = signer;
  return std::shared_ptr<const State>(std::move(state));
}

StartupStatus Keyring::ParseNewKeys(std::vector<KeyListing>& listed, bool at_start) {
  StartupStatus verdict = Ok{};
  for (auto& listing : listed) {
    if (verdict && parsed_.count(listing.name) == 0) {
      if (StartupStatus private_enough = CheckKeyPrivacy(options_, listing.name); !private_enough) {
        if (at_start) verdict = private_enough;
        WarnNotLoaded(private_enough.error(), at_start);
        parsed_[listing.name] = ParsedKey{};  // until the next start, even once made private
      } else {
        auto material = listing.pem.empty() ? ReadKeyFile(KeysDir(options_) + "/" + listing.name)
                                            : Result<std::string>(listing.pem);
        parsed_[listing.name] = material ? ParseKey(listing.algorithm, *material) : ParsedKey{};
      }
    }
    Wipe(listing.pem);
  }
  return verdict;
}

void Keyring::HoldGeneratedSecret() {
  if (options_.hmac_secret.empty()) return;
  parsed_[kGeneratedSecret] =
      ParsedKey{nullptr, std::make_shared<const HmacKey>(options_.hmac_secret)};
}

Result<bool> Keyring::Reload(int64_t now) {
  if (!Rotatable(options_)) return false;
  auto listed = ListKeys(options_);
  if (!listed) return listed.error();
  (void)ParseNewKeys(*listed, false);
  return Install(*listed, now);
}

Result<Keyring::InUse> Keyring::KeysInUse(const std::vector<KeyListing>& listed, int64_t now) {
  std::vector<std::string> usable;
  std::vector<int64_t> signs_from;
  // The HS256 secret came before every rotated key.
  if (!options_.hmac_secret.empty() && !generated_secret_removed_) {
    usable.push_back(kGeneratedSecret);
    signs_from.push_back(0);
  }
  for (const auto& listing : listed) {
    const auto parsed = parsed_.find(listing.name);
    if (parsed == parsed_.end() || !parsed->second) continue;
    usable.push_back(listing.name);
    signs_from.push_back(listing.signs_from);
  }
  if (usable.empty()) return KeyError(KeySourceName(options_) + ": no key for the algorithm");
  const KeySelection selection = SelectKeys(signs_from, now, options_.max_token_lifetime);
  RemoveClosedKeys(usable, selection);
  InUse in_use;
  for (std::size_t index : selection.in_use) {
    in_use.included.push_back(usable[index]);
    // Older than the signer: it stopped signing when the key after it started.
    if (index < selection.signer) in_use.retired_at[usable[index]] = signs_from[index + 1];
  }
  in_use.signer = usable[selection.signer];
  return in_use;
}

Result<bool> Keyring::Install(const std::vector<KeyListing>& listed, int64_t now) {
  auto in_use = KeysInUse(listed, now);
  if (!in_use) return in_use.error();
  const auto current = Current();
  if (current && current->files == in_use->included && current->signer_file == in_use->signer) {
    return false;
  }
  auto state = MakeState(std::move(in_use->included), in_use->signer, in_use->retired_at);
  if (!state) return state.error();
  std::atomic_store(&state_, std::move(*state));
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

// A key whose window has closed is deleted at once, so that no later start can bring it back
// (a longer jwt.refresh_ttl would reopen its window: a leaked key would verify again). The
// generated HS256 secret goes too (<data_dir>/jwt-secret, or its row); a configured jwt.secret
// is the operator's.
void Keyring::RemoveClosedKeys(const std::vector<std::string>& usable,
                               const KeySelection& selection) {
  for (std::size_t index = 0; index < selection.in_use.back(); ++index) {
    if (usable[index] != kGeneratedSecret) {
      RemoveKey(options_, usable[index]);
    } else if (options_.hmac_secret_generated) {
      RemoveGeneratedSecret(options_);
      generated_secret_removed_ = true;
    }
    obs::Info("deleted a signing key whose verification window has closed",
              {{"key", usable[index].empty() ? "the generated HS256 secret" : usable[index]}});
  }
}

Status Keyring::DeleteClosedKeys(const KeyringOptions& options, int64_t now) {
  Keyring keyring(options);
  auto listed = ListKeys(options);
  if (!listed) return listed.error();
  (void)keyring.ParseNewKeys(*listed, false);
  keyring.HoldGeneratedSecret();
  auto in_use = keyring.KeysInUse(*listed, now);
  if (!in_use) return in_use.error();
  return Ok{};
}

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

bool Keyring::HoldsKeyOf(Algorithm algorithm) const {
  return std::any_of(parsed_.begin(), parsed_.end(), [&](const auto& named) {
    return named.second.asymmetric && named.second.asymmetric->algorithm() == algorithm;
  });
}

// The keys of <data_dir>/keys or the store, after the generated HS256 secret if there is one.
StartupStatus Keyring::OpenRotatable(int64_t now) {
  if (StartupStatus dir = CheckKeyPrivacy(options_, ""); !dir) return dir;
  auto listed = ListKeys(options_);
  if (!listed) return EnvironmentError(listed.error());
  if (StartupStatus secret = GenerateFirstSecret(options_, *listed, now); !secret) return secret;
  if (StartupStatus parsed = ParseNewKeys(*listed, true); !parsed) return parsed;
  HoldGeneratedSecret();
  Result<bool> loaded = IsAsymmetric(options_.algorithm) && !HoldsKeyOf(options_.algorithm)
                            ? CreateFirstKey(*listed, now)
                            : Install(*listed, now);
  if (!loaded) return EnvironmentError(loaded.error());
  return Ok{};
}

// A first start (or the first with jwt.algorithm remembered): the first key, named after the
// keys already there (of another algorithm), never in their place; then loaded as at a reload.
Result<bool> Keyring::CreateFirstKey(const std::vector<KeyListing>& listed, int64_t now) {
  auto created = CreateKey(options_, now, listed);
  if (!created) return created.error();
  const std::string where = KeySourceName(options_);
  obs::Info("generated the first " + std::string(AlgorithmName(options_.algorithm)) +
                " signing key in " + where + "; later starts reuse it",
            {{"kid", created->kid}, {"path", where}});
  return Reload(now);
}

StartupResult<std::unique_ptr<Keyring>> Keyring::Open(KeyringOptions options, int64_t now) {
  std::unique_ptr<Keyring> keyring(new Keyring(std::move(options)));
  StartupStatus opened =
      Rotatable(keyring->options_) ? keyring->OpenRotatable(now) : keyring->OpenFixed();
  if (!opened) return opened.error();
  return keyring;
}

}  // namespace gatehouse::auth
