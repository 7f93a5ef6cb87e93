#include "auth/passwords.hpp"

#include <sodium.h>

#include <mutex>

namespace gatehouse::auth {

void Wipe(std::string& secret) { sodium_memzero(secret.data(), secret.size()); }

bool InitCrypto() { return sodium_init() >= 0; }

Result<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kArgon2OpsLimit,
                            kArgon2MemLimitBytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error{ErrorCode::kStorageFailure, "argon2id: out of memory"};
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() >= crypto_pwhash_STRBYTES) return false;
  char terminated[crypto_pwhash_STRBYTES] = {};
  hash.copy(terminated, hash.size());
  return crypto_pwhash_str_verify(terminated, password.data(), password.size()) == 0;
}

bool VerifyAgainstDummy(std::string_view password) {
  // A real hash of a random password, made once: verifying against it does exactly the work
  // of a real verification, and no password can match it.
  static const std::string dummy = [] {
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    auto hash = HashPassword(std::string_view(reinterpret_cast<char*>(random), sizeof random));
    return hash.ok() ? hash.value() : std::string();
  }();
  VerifyPassword(dummy, password);
  return false;
}

}  // namespace gatehouse::auth
