// Staged rotation: which keys are in use, and `gatehouse keys rotate`.
#include <algorithm>

#include "auth/key_source.hpp"
#include "auth/keyring.hpp"
#include "auth/passwords.hpp"

namespace gatehouse::auth {

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

namespace {

// The new key (after the generated HS256 secret, on a first start), then the deletions a
// running server's reload makes.
Result<std::string> Rotate(KeyringOptions& options, int64_t now, int64_t* signs_from) {
  auto listed = ListKeys(options);
  if (!listed) return listed.error();
  for (auto& listing : *listed) Wipe(listing.pem);
  if (StartupStatus secret = GenerateFirstSecret(options, *listed, now); !secret) {
    return KeyError(secret.error().detail);
  }
  const bool immediately = options.publication_delay == 0;
  if (immediately) {
    // Keys still waiting to sign have signed nothing: the key made now replaces them.
    std::erase_if(*listed, [&](const KeyListing& listing) {
      if (listing.signs_from <= now) return false;
      RemoveKey(options, listing.name);
      return true;
    });
  }
  // Nothing signs yet (a first key): no resource server can hold an older key set. An HS256
  // secret from before a change of algorithm signs until the new key's time.
  const bool first =
      listed->empty() && IsAsymmetric(options.algorithm) && options.hmac_secret.empty();
  const int64_t start = immediately || first ? now : now + options.publication_delay;
  auto created = CreateKey(options, start, *listed);
  if (!created) return created.error();
  if (signs_from != nullptr) *signs_from = created->signs_from;
  if (Status removed = Keyring::DeleteClosedKeys(options, now); !removed) return removed.error();
  return created->kid;
}

}  // namespace

Result<std::string> RotateSigningKey(const KeyringOptions& given, int64_t now,
                                     int64_t* signs_from) {
  if (!Rotatable(given)) {
    return KeyError(IsAsymmetric(given.algorithm)
                        ? "keys rotate cannot replace jwt.private_key_file: put a new key there "
                          "instead"
                        : "keys rotate cannot replace a configured jwt.secret: change it instead");
  }
  KeyringOptions options = given;  // holds the generated secret, made on a first start
  auto kid = Rotate(options, now, signs_from);
  Wipe(options.hmac_secret);
  return kid;
}

}  // namespace gatehouse::auth
