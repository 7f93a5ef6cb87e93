#include "auth/client_auth.hpp"

#include <sodium.h>
#include <strings.h>

#include <optional>
#include <string>

#include "auth/passwords.hpp"
#include "auth/token_service.hpp"

namespace gatehouse::auth {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded, as RFC 6749 §2.3.1 has the client id and secret encoded.
std::optional<std::string> FormDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

// The password part of `Basic <base64(id:password)>`, or nothing when malformed.
std::optional<std::string> BasicPassword(std::string_view authorization) {
  if (authorization.size() < 6 || strncasecmp(authorization.data(), "Basic ", 6) != 0) {
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded(encoded.size(), '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                        encoded.data(), encoded.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  decoded.resize(length);
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto password = FormDecode(std::string_view(decoded).substr(colon + 1));
  sodium_memzero(decoded.data(), decoded.size());
  return password;
}

}  // namespace

bool CallerHoldsSecret(std::string_view authorization, std::string_view secret) {
  if (secret.empty()) return false;
  if (auto bearer = TokenService::BearerToken(authorization)) return SecretEquals(*bearer, secret);
  auto password = BasicPassword(authorization);
  if (!password) return false;
  const bool equal = SecretEquals(*password, secret);
  sodium_memzero(password->data(), password->size());
  return equal;
}

}  // namespace gatehouse::auth
