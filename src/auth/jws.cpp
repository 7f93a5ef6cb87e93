// The low-level SHA-256 functions behind HmacKey are deprecated in OpenSSL 3; see HmacKey::Impl.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "auth/jws.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "auth/jose_json.hpp"

namespace gatehouse::auth {
namespace {

constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kMacChars = 43;  // base64url of 32 bytes, unpadded

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> kDecodeTable = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}();

constexpr std::size_t EncodedSize(std::size_t n) { return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0); }

constexpr void EncodeTo(std::string_view in, char* out) {
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16 |
                            static_cast<unsigned char>(in[i + 1]) << 8 |
                            static_cast<unsigned char>(in[i + 2]);
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = kAlphabet[v & 63];
  }
  if (i == in.size()) return;
  const bool two = i + 2 == in.size();
  const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16 |
                          (two ? static_cast<unsigned char>(in[i + 1]) << 8 : 0);
  *out++ = kAlphabet[v >> 18];
  *out++ = kAlphabet[(v >> 12) & 63];
  if (two) *out = kAlphabet[(v >> 6) & 63];
}

// Four characters per step; an invalid character makes the OR of all lookups negative.
// Caller guarantees text.size() % 4 != 1 and room for DecodedSize(text.size()) bytes.
bool DecodeTo(std::string_view text, unsigned char* out) {
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::int32_t invalid = 0;
  auto sextet = [&](std::size_t i) {
    invalid |= kDecodeTable[in[i]];
    return static_cast<std::uint32_t>(kDecodeTable[in[i]] & 63);
  };
  std::size_t n = text.size();
  for (; n >= 4; n -= 4, in += 4) {
    const std::uint32_t v = sextet(0) << 18 | sextet(1) << 12 | sextet(2) << 6 | sextet(3);
    *out++ = static_cast<unsigned char>(v >> 16);
    *out++ = static_cast<unsigned char>(v >> 8);
    *out++ = static_cast<unsigned char>(v);
  }
  if (n == 0) return invalid >= 0;
  const std::uint32_t v = sextet(0) << 18 | sextet(1) << 12 | (n == 3 ? sextet(2) << 6 : 0);
  *out++ = static_cast<unsigned char>(v >> 16);
  if (n == 3) *out = static_cast<unsigned char>(v >> 8);
  // Bits below the last whole byte must be zero, or several texts would decode alike.
  return invalid >= 0 && (v & (n == 3 ? 0xFFu : 0xFFFFu)) == 0;
}

constexpr std::size_t DecodedSize(std::size_t n) { return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0); }

constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";
constexpr auto kHeaderStorage = [] {
  std::array<char, EncodedSize(kHeaderJson.size())> encoded{};
  EncodeTo(kHeaderJson, encoded.data());
  return encoded;
}();
constexpr std::string_view kHeaderB64(kHeaderStorage.data(), kHeaderStorage.size());

// Only authenticated headers other than our own reach this. A key without a kid accepts no
// kid, and a key with one only its own: any other kid names a key this one is not (RFC 8725
// §3.1), even when the MAC happens to match.
bool HeaderAcceptable(const std::string& text, const std::string& kid) {
  const auto header = ParseJoseHeader(text);
  if (!header || header->alg != "HS256") return false;
  return kid.empty() ? !header->kid : header->kid == kid;
}

std::string HeaderB64(std::string_view kid) {
  if (kid.empty()) return std::string(kHeaderB64);
  // A kid is base64url (a thumbprint), so it needs no JSON escaping.
  std::string json(kHeaderJson.substr(0, kHeaderJson.size() - 1));
  json.append(R"(,"kid":")").append(kid).append(R"("})");
  std::string out(EncodedSize(json.size()), '\0');
  EncodeTo(json, out.data());
  return out;
}

// Splits `token` once and hands the parts to `verify_parts`; any failure clears the payload.
template <typename VerifyParts>
Status VerifySplit(std::string_view token, std::string& payload_json, VerifyParts verify_parts) {
  CompactParts parts;
  if (SplitCompact(token, parts) && verify_parts(parts)) return Ok{};
  payload_json.clear();
  return ErrorCode::kInvalidToken;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(EncodedSize(bytes.size()), '\0');
  EncodeTo(bytes, out.data());
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 1) {
    out.resize(DecodedSize(text.size()));
    if (DecodeTo(text, reinterpret_cast<unsigned char*>(out.data()))) return true;
  }
  out.clear();
  return false;
}

// HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256, with the key's inner and outer states
// computed once. OpenSSL 3's EVP_MAC duplicates its digest context on every re-initialisation
// (an allocation, a copy and a cleanse, twice per MAC); the low-level SHA-256 state is a plain
// struct, so a MAC here is two struct copies and the compression function itself, 30% less
// time per token. Those functions are deprecated in OpenSSL 3 but kept throughout 3.x; the
// unit tests check this against EVP's HMAC on random keys and messages.
struct HmacKey::Impl {
 public:
  Impl(std::string_view secret, std::string_view key_id)
      : kid(key_id), header_b64(HeaderB64(key_id)) {
    // An empty HMAC key lets anyone forge tokens: a configuration bug, not input.
    if (secret.empty()) throw std::invalid_argument("HmacKey: empty secret");
    unsigned char block[SHA256_CBLOCK] = {};
    if (secret.size() > sizeof block) {
      SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), block);
    } else {
      std::copy(secret.begin(), secret.end(), reinterpret_cast<char*>(block));
    }
    unsigned char pad[SHA256_CBLOCK];
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x36;
    const bool inner = SHA256_Init(&inner_) == 1 && SHA256_Update(&inner_, pad, sizeof pad) == 1;
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x5c;
    const bool outer = SHA256_Init(&outer_) == 1 && SHA256_Update(&outer_, pad, sizeof pad) == 1;
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!inner || !outer) throw std::runtime_error("HmacKey: OpenSSL SHA-256 unavailable");
  }
  ~Impl() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  bool Mac(std::string_view input, unsigned char (&out)[kMacBytes]) const {
    SHA256_CTX ctx = inner_;
    unsigned char inner_digest[SHA256_DIGEST_LENGTH];
    bool ok = SHA256_Update(&ctx, input.data(), input.size()) == 1 &&
              SHA256_Final(inner_digest, &ctx) == 1;
    ctx = outer_;
    ok = ok && SHA256_Update(&ctx, inner_digest, sizeof inner_digest) == 1 &&
         SHA256_Final(out, &ctx) == 1;
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return ok;
  }

  bool Verify(const CompactParts& parts, std::string& payload_json) const {
    if (parts.signature.size() != kMacChars) return false;
    const std::string_view header = parts.header;
    const std::string_view payload = parts.payload;
    const std::string_view signature = parts.signature;

    unsigned char given[kMacBytes];
    unsigned char expected[kMacBytes];
    if (!DecodeTo(signature, given) || !Mac(parts.signing_input, expected) ||
        CRYPTO_memcmp(given, expected, kMacBytes) != 0) {
      return false;
    }
    // Authenticated before any JSON parsing; our own header needs no parsing at all.
    if (header != header_b64 &&
        !(Base64UrlDecode(header, payload_json) && HeaderAcceptable(payload_json, kid))) {
      return false;
    }
    return Base64UrlDecode(payload, payload_json) && IsJsonObjectText(payload_json);
  }

  const std::string kid;
  const std::string header_b64;

 private:
  // The only copies of the secret: SHA-256 states after the key XOR ipad and opad blocks.
  SHA256_CTX inner_;
  SHA256_CTX outer_;
};

HmacKey::HmacKey(std::string_view secret, std::string_view kid)
    : impl_(std::make_unique<Impl>(secret, kid)) {}

const std::string& HmacKey::kid() const { return impl_->kid; }
const std::string& HmacKey::header_b64() const { return impl_->header_b64; }

HmacKey::~HmacKey() = default;

std::string HmacKey::Sign(std::string_view payload_json) const {
  const std::string& header = impl_->header_b64;
  const std::size_t signed_chars = header.size() + 1 + EncodedSize(payload_json.size());
  std::string token(signed_chars + 1 + kMacChars, '.');  // the fill supplies both dots
  std::copy(header.begin(), header.end(), token.data());
  EncodeTo(payload_json, token.data() + header.size() + 1);
  unsigned char mac[kMacBytes];
  if (!impl_->Mac(std::string_view(token).substr(0, signed_chars), mac)) {
    throw std::runtime_error("HmacKey: HMAC computation failed");
  }
  EncodeTo({reinterpret_cast<const char*>(mac), kMacBytes}, token.data() + signed_chars + 1);
  return token;
}

Status HmacKey::Verify(std::string_view token, std::string& payload_json) const {
  return VerifySplit(token, payload_json,
                     [&](const CompactParts& parts) { return Verify(parts, payload_json); });
}

bool HmacKey::Verify(const CompactParts& parts, std::string& payload_json) const {
  return impl_->Verify(parts, payload_json);
}

// ---- HmacKeySet ---------------------------------------------------------------------------

void HmacKeySet::SetKey(std::shared_ptr<const HmacKey> key) { first_ = std::move(key); }

Status HmacKeySet::AddKey(std::shared_ptr<const HmacKey> key) {
  if (!key || key->kid().empty()) {
    return Error{ErrorCode::kInvalidKey, "verifier set: no HS256 key with a kid"};
  }
  const auto existing = by_kid_.find(key->kid());
  if (existing != by_kid_.end()) {
    if (existing->second == key) return Ok{};
    return Error{ErrorCode::kConflict, "verifier set: kid " + key->kid() + " names another key"};
  }
  by_header_.emplace(key->header_b64(), key);
  by_kid_.emplace(key->kid(), std::move(key));
  return Ok{};
}

const HmacKey* HmacKeySet::ForHeader(std::string_view header_b64) const {
  if (header_b64 == kHeaderB64) return first_.get();
  if (by_header_.empty()) return nullptr;
  const auto ours = by_header_.find(header_b64);
  return ours != by_header_.end() ? ours->second.get() : nullptr;
}

const HmacKey* HmacKeySet::ForKid(const std::optional<std::string>& kid) const {
  if (!kid) return first_.get();
  const auto it = by_kid_.find(*kid);
  return it != by_kid_.end() ? it->second.get() : nullptr;
}

Status HmacKeySet::Verify(std::string_view token, std::string& payload_json) const {
  return VerifySplit(token, payload_json,
                     [&](const CompactParts& parts) { return VerifyParts(parts, payload_json); });
}

bool HmacKeySet::VerifyParts(const CompactParts& parts, std::string& payload_json) const {
  // Our own headers (every token we sign): the key is known without parsing anything.
  if (const HmacKey* key = ForHeader(parts.header)) return key->Verify(parts, payload_json);
  if (parts.header == kHeaderB64) return false;  // no key without kid
  // Another writer's header (Flask): the kid picks the secret; the key checks it again.
  if (!Base64UrlDecode(parts.header, payload_json)) return false;
  const auto header = ParseJoseHeader(payload_json);
  if (!header || header->alg != "HS256") return false;
  const HmacKey* key = ForKid(header->kid);
  return key != nullptr && key->Verify(parts, payload_json);
}

}  // namespace gatehouse::auth
