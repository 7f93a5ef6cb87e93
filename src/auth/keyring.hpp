// The keys that sign and verify tokens, for the configured algorithm.
// - HS256: the configured secret, which alone signs and verifies; or the generated one (no
//   kid), followed by the secrets `gatehouse keys rotate` added (each with a kid) in
//   <data_dir>/keys/<created>-<sequence>.hs256 (0600) or in a shared store, under the same
//   window rule as asymmetric keys. The JWKS is empty.
// - EdDSA, ES256, RS256: private keys in <data_dir>/keys/<created>-<sequence>.pem (0600), in the
//   store when it is shared by several instances (PostgreSQL), or the one key of
//   jwt.private_key_file.
// Staged rotation: every key has the second it starts signing (its file name, its row).
// `gatehouse keys rotate` adds a key that signs only after keys.publication_delay; until then
// it is published (JWKS) and verifies, but the key before it signs. The newest key whose time
// has come signs; an older key keeps verifying until every token it can have signed has
// expired (its successor started signing longer ago than the longest token lifetime), then
// drops out. A server picks up added keys, and the times passing, at its next Reload().
// A change of jwt.algorithm is such a rotation: the keys of every algorithm are listed, so the
// old algorithm's keys (and the HS256 secret) keep verifying beside the new one's, each token
// checked only by the key its kid names and only under that key's algorithm.
// Thread safety: Sign, Verify and JwksJson from any thread; Reload from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/signing_key.hpp"
#include "store/store.hpp"
#include "util/result.hpp"
#include "util/startup_error.hpp"

namespace gatehouse::auth {

struct KeyListing;  // one key as the keys directory or the store lists it (key_source.hpp)

// What the key that verified a token vouches for. A retired key (a newer one has started
// signing) signed only tokens issued before that: it vouches for an `iat` up to its retirement
// plus kRetiredKeyLeeway. Without the bound, a leaked key (what `keys rotate --now` is for)
// would mint tokens with any `iat` that verify until its window closes. (Its window then ends
// its tokens whatever their `exp`, and the key is deleted.) The signing key and keys not
// signing yet are unbounded.
struct IssueBound {
  int64_t issued_until = std::numeric_limits<int64_t>::max();
  bool bounded() const { return issued_until != std::numeric_limits<int64_t>::max(); }
};
// Seconds after a key's retirement in which its tokens still count as issued before it: a
// running server picks up a rotation at its next reload (about twice a second), and instances
// sharing a database may disagree on the time by a few seconds.
inline constexpr int64_t kRetiredKeyLeeway = 60;

// SelectKeys' answer (below).
struct KeySelection {
  std::vector<std::size_t> in_use;  // indices into the times, newest first
  std::size_t signer = 0;
};

struct KeyringOptions {
  Algorithm algorithm = Algorithm::kHS256;
  // HS256: the secret that signs. EdDSA, ES256, RS256: the HS256 secret of before a change of
  // jwt.algorithm (generated, or jwt.secret), if any: it verifies until the window closes.
  std::string hmac_secret;
  std::string data_dir;            // keys live in <data_dir>/keys
  std::string private_key_file;    // asymmetric: a fixed key instead of the keys directory
  store::Store* store = nullptr;   // keys live in this store instead of data_dir
  int64_t max_token_lifetime = 0;  // seconds: how long a replaced key keeps verifying
  // RotateSigningKey: seconds from publishing a new key to signing with it; 0: at once.
  int64_t publication_delay = 0;
  // HS256: the secret was generated, so secrets rotated in after it count too (<data_dir>/keys
  // or the store); a configured secret alone signs and verifies.
  bool hmac_secret_generated = false;
};

class Keyring {
 public:
  // Loads the keys, listing them once, creating the first one when the keys directory has none
  // for the algorithm (HS256: the generated secret, on a first start only; GenerateFirstSecret).
  // Fails (one-line detail, never key material) with kUnsafeSecretFile when
  // jwt.private_key_file is readable by group or others or a key of <data_dir>/keys fails
  // CheckKeyPrivacy, with kEnvironment on unreadable or mismatched keys and storage failures.
  static StartupResult<std::unique_ptr<Keyring>> Open(KeyringOptions options, int64_t now);

  std::string Sign(std::string_view payload_json) const;
  // kInvalidToken for every defect, including a kid or algorithm this keyring does not have.
  // `bound` is what the verifying key vouches for; the caller checks the claims against it.
  Status Verify(std::string_view token, std::string& payload_json, IssueBound& bound) const;
  Status Verify(std::string_view token, std::string& payload_json) const;
  // {"keys":[...]} of the public keys that verify now; {"keys":[]} under HS256.
  std::shared_ptr<const std::string> JwksJson() const;
  Algorithm algorithm() const { return options_.algorithm; }
  // The kid of the signing key ("" under HS256).
  std::string SigningKid() const;

  // Rescans the keys directory and swaps in the new key set if anything changed (a rotation,
  // or an old key's verification window closing). Returns whether it changed.
  Result<bool> Reload(int64_t now);

  // `gatehouse keys rotate`: deletes the keys whose verification window has closed, by the rule
  // and over the keys a running server's reload uses (RemoveClosedKeys). Fails when the keys
  // cannot be listed or none is usable.
  static Status DeleteClosedKeys(const KeyringOptions& options, int64_t now);

 private:
  struct State;
  explicit Keyring(KeyringOptions options);
  std::shared_ptr<const State> Current() const { return std::atomic_load(&state_); }
  // The same state through a per-thread copy, for the per-token paths (see keyring.cpp). The
  // reference stays valid until this thread calls it again.
  const State& CurrentOnThisThread() const;

  KeyringOptions options_;  // OpenRotatable may set hmac_secret (a first start); then fixed
  const uint64_t id_;       // unique among the process's keyrings: names this one in thread caches
  std::shared_ptr<const State> state_;   // replaced whole by Reload, read with atomic_load
  std::atomic<uint64_t> generation_{0};  // bumped after each replacement of state_
  // Keys parsed by Reload, by file name or kid (neither key: unreadable or another
  // algorithm); "" is the generated HS256 secret.
  struct ParsedKey {
    std::shared_ptr<const SigningKey> asymmetric;
    std::shared_ptr<const HmacKey> hmac;
    explicit operator bool() const { return asymmetric || hmac; }
  };
  std::map<std::string, ParsedKey> parsed_;
  bool generated_secret_removed_ = false;  // its window closed: no longer listed

  // Wipes `material` (a PEM private key, or an HS256 secret line).
  static ParsedKey ParseKey(std::optional<Algorithm> algorithm, std::string& material);
  // Whether a key of `algorithm` was ever listed and parsed.
  bool HoldsKeyOf(Algorithm algorithm) const;
  // Parses the listed keys not parsed yet, and wipes the listing's material. A key that the
  // privacy rule (CheckKeyPrivacy) refuses fails a start (`at_start`); at a reload it is left
  // out, with a warning, until the next start.
  StartupStatus ParseNewKeys(std::vector<KeyListing>& listed, bool at_start);
  // The generated HS256 secret (options_.hmac_secret), if any, as the oldest key.
  void HoldGeneratedSecret();
  // The keys in use (newest first), the one that signs, and when each retired one's successor
  // began signing; deletes the keys whose window has closed (RemoveClosedKeys).
  struct InUse {
    std::vector<std::string> included;
    std::string signer;
    std::map<std::string, int64_t> retired_at;
  };
  Result<InUse> KeysInUse(const std::vector<KeyListing>& listed, int64_t now);
  // Swaps in the state of `listed` (parsed already) if it changed. Returns whether it did.
  Result<bool> Install(const std::vector<KeyListing>& listed, int64_t now);
  // The state of the keys named (newest first), `signer` signing.
  // `retired_at`: for each included key older than the signer, when its successor began
  // signing.
  Result<std::shared_ptr<const State>> MakeState(
      std::vector<std::string> included, const std::string& signer,
      const std::map<std::string, int64_t>& retired_at) const;
  // The one rule of deletion: the usable keys (oldest first) older than every key `selection`
  // keeps in use have had their window closed, and are deleted from their source.
  void RemoveClosedKeys(const std::vector<std::string>& usable, const KeySelection& selection);
  // The bound of the key that signed `token` (already verified) under `state`.
  IssueBound BoundOf(const State& state, std::string_view token) const;
  StartupStatus OpenFixed();
  StartupStatus OpenRotatable(int64_t now);
  Result<bool> CreateFirstKey(const std::vector<KeyListing>& listed, int64_t now);
};

// The staging rule, on the signing-start times of the usable keys, oldest first (ties in
// creation order). The keys in use, newest first: those whose time has not come (published,
// verifying, not signing); the signer, the newest whose time has come (the oldest when none
// has); then older keys while the key after them started signing less than
// `max_token_lifetime` ago.
KeySelection SelectKeys(const std::vector<int64_t>& signs_from, int64_t now,
                        int64_t max_token_lifetime);

// `gatehouse keys rotate`: writes a new signing key (HS256: a new secret) into <data_dir>/keys
// (or the store) that signs options.publication_delay from now (0: at once, replacing keys
// still waiting to sign; a first key always signs at once), and deletes keys whose
// verification window has closed, as a running server's reload does (Keyring::DeleteClosedKeys).
// Under HS256 on a first start (no key listed) it first makes the generated secret, as a server
// start would (GenerateFirstSecret). Returns the new key's kid, and when it signs into
// `signs_from`. Fails for a configured HS256 secret and a fixed jwt.private_key_file.
Result<std::string> RotateSigningKey(const KeyringOptions& options, int64_t now,
                                     int64_t* signs_from = nullptr);

}  // namespace gatehouse::auth
