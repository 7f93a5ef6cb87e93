#include "auth/passwords.hpp"

#include <sodium.h>

#include <string>

namespace gatehouse::auth {

bool SecretEquals(std::string_view given, std::string_view expected) {
  unsigned char a[crypto_generichash_BYTES];
  unsigned char b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(given.data()),
                     given.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()),
                     expected.size(), nullptr, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

void Wipe(std::string& secret) { sodium_memzero(secret.data(), secret.size()); }

bool InitCrypto() { return sodium_init() >= 0; }

}  // namespace gatehouse::auth
