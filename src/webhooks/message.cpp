#include "webhooks/message.hpp"

#include <sodium.h>

#include "store/event_json.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"

namespace gatehouse::webhooks {
namespace {

std::string Base64(const unsigned char* bytes, std::size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

}  // namespace

std::string WebhookBody(const store::StoredEvent& stored) {
  std::string body = "{\"type\":";
  AppendJsonString(body, stored.event.type);
  body += ",\"timestamp\":";
  AppendJsonString(body, Rfc3339Millis(stored.event.at_ms));
  body += ",\"data\":";
  body += store::EventJson(stored);
  body += '}';
  return body;
}

std::string WebhookId(int64_t event_id) { return "evt_" + std::to_string(event_id); }

std::string Signature(std::string_view key, std::string_view id, int64_t timestamp,
                      std::string_view body) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  const std::string prefix = std::string(id) + "." + std::to_string(timestamp) + ".";
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()),
                                prefix.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  return "v1," + Base64(mac, sizeof mac);
}

}  // namespace gatehouse::webhooks
