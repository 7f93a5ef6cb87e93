#include "auth/sealed_answer.hpp"

#include <sodium.h>

#include <array>
#include <utility>

#include "auth/jws.hpp"

namespace gatehouse::auth {
namespace {

constexpr std::string_view kKeyContext = "gatehouse rotated refresh answer v1";

std::array<unsigned char, crypto_secretbox_KEYBYTES> KeyOf(std::string_view token) {
  std::array<unsigned char, crypto_secretbox_KEYBYTES> key{};
  crypto_generichash(key.data(), key.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), reinterpret_cast<const unsigned char*>(kKeyContext.data()),
                     kKeyContext.size());
  return key;
}

}  // namespace

std::string SealAnswer(std::string_view presented_token, const TokenPair& answer) {
  // Tokens are base64url and dots, csrf values UUIDs: a newline cannot occur inside one. The csrf
  // values travel too, so that a replay in cookie mode gets its CSRF cookies again.
  const std::string plain = answer.access_token + "\n" + answer.refresh_token + "\n" +
                            answer.access_csrf + "\n" + answer.refresh_csrf;
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(out, crypto_secretbox_NONCEBYTES);
  auto key = KeyOf(presented_token);
  crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), out,
                        key.data());
  sodium_memzero(key.data(), key.size());
  return Base64UrlEncode(box);
}

std::optional<TokenPair> OpenAnswer(std::string_view presented_token, std::string_view sealed) {
  std::string box;
  if (!Base64UrlDecode(sealed, box) ||
      box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(box.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  auto key = KeyOf(presented_token);
  const int opened = crypto_secretbox_open_easy(
      reinterpret_cast<unsigned char*>(plain.data()), in + crypto_secretbox_NONCEBYTES,
      box.size() - crypto_secretbox_NONCEBYTES, in, key.data());
  sodium_memzero(key.data(), key.size());
  if (opened != 0) return std::nullopt;
  std::array<std::string, 4> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t end = i + 1 < fields.size() ? plain.find('\n', start) : plain.size();
    if (end == std::string::npos) return std::nullopt;
    fields[i] = plain.substr(start, end - start);
    start = end + 1;
  }
  return TokenPair{std::move(fields[0]), std::move(fields[1]), std::move(fields[2]),
                   std::move(fields[3])};
}

}  // namespace gatehouse::auth
