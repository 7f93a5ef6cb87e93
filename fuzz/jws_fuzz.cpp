// Hostile tokens against the JWS layer and the full token check (claims, time, revocation).
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/passwords.hpp"
#include "auth/token_service.hpp"

namespace {

constexpr std::string_view kSecret = "fuzzing-secret-0123456789abcdefghijkl";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool crypto_ready = gatehouse::auth::InitCrypto();
  static gatehouse::auth::RevocationSet revocations;
  static gatehouse::auth::TokenService tokens(kSecret, {}, revocations, [] { return 1700000000; });
  static const gatehouse::auth::HmacKey key(kSecret);
  (void)crypto_ready;

  const std::string_view token(reinterpret_cast<const char*>(data), size);
  std::string payload;
  if (key.Verify(token, payload).ok() && payload.empty()) __builtin_trap();
  (void)tokens.Verify(token, gatehouse::auth::TokenType::kAccess);
  (void)tokens.Verify(token, gatehouse::auth::TokenType::kRefresh);

  // Whatever the input, a payload we sign must verify and round-trip exactly.
  const std::string signed_token = key.Sign(token);
  std::string round_trip;
  const bool is_object = key.Verify(signed_token, round_trip).ok();
  if (is_object && round_trip != token) __builtin_trap();
  return 0;
}
