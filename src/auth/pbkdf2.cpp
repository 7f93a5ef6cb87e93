#include "auth/pbkdf2.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "auth/jws.hpp"

namespace gatehouse::auth {
namespace {

// passlib's own ceiling is far lower; this only stops a corrupt row from pinning a core.
constexpr uint64_t kMaxPbkdf2Rounds = 10'000'000;

// passlib's "ab64" is standard base64 with '.' for '+' and no padding.
bool DecodeAb64(std::string_view text, std::string& out) {
  std::string url(text);
  for (char& c : url) {
    if (c == '.' || c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    } else if (c == '-' || c == '_') {
      return false;
    }
  }
  return Base64UrlDecode(url, out);
}

}  // namespace

bool VerifyPbkdf2Sha256(std::string_view hash, std::string_view password) {
  // $pbkdf2-sha256$<rounds>$<salt>$<checksum>
  std::string_view rest = hash.substr(kPbkdf2Prefix.size());
  const auto dollar1 = rest.find('$');
  const auto dollar2 = rest.find('$', dollar1 + 1);
  if (dollar1 == std::string_view::npos || dollar2 == std::string_view::npos) return false;
  const std::string_view rounds_text = rest.substr(0, dollar1);
  uint64_t rounds = 0;
  if (rounds_text.empty() || rounds_text.size() > 8) return false;
  for (char c : rounds_text) {
    if (c < '0' || c > '9') return false;
    rounds = rounds * 10 + static_cast<uint64_t>(c - '0');
  }
  std::string salt;
  std::string expected;
  if (rounds == 0 || rounds > kMaxPbkdf2Rounds ||
      !DecodeAb64(rest.substr(dollar1 + 1, dollar2 - dollar1 - 1), salt) ||
      !DecodeAb64(rest.substr(dollar2 + 1), expected) || expected.size() != 32) {
    return false;
  }
  unsigned char derived[32];
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                   reinterpret_cast<const unsigned char*>(salt.data()),
                                   static_cast<int>(salt.size()), static_cast<int>(rounds),
                                   EVP_sha256(), sizeof derived, derived);
  const bool matches = ok == 1 && CRYPTO_memcmp(derived, expected.data(), sizeof derived) == 0;
  OPENSSL_cleanse(derived, sizeof derived);
  return matches;
}

}  // namespace gatehouse::auth
