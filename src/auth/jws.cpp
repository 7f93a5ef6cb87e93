#include "auth/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "auth/jose_json.hpp"

namespace gatehouse::auth {
namespace {

constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kMacChars = 43;  // base64url of 32 bytes, unpadded
// Beyond this many live threads a call falls back to a throw-away context (slow but correct).
constexpr std::size_t kMaxThreadSlots = 256;

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

// Gives every live thread a small dense index, recycled at thread exit, so a key can keep one
// pre-keyed context per thread in a plain array that it owns. Unlike a thread_local cache keyed
// by key, nothing outlives the key (its material is freed with it) and a new key at a reused
// address cannot meet an old context. The registry is leaked so late-exiting threads are safe.
class ThreadSlot {
 public:
  ThreadSlot() {
    std::lock_guard lock(Shared().mutex);
    std::vector<std::size_t>& spare = Shared().spare;
    index_ = spare.empty() ? Shared().next++ : spare.back();
    if (!spare.empty()) spare.pop_back();
  }
  ~ThreadSlot() {
    std::lock_guard lock(Shared().mutex);
    Shared().spare.push_back(index_);
  }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;
  std::size_t index() const { return index_; }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::size_t> spare;
    std::size_t next = 0;
  };
  static State& Shared() {
    static auto* const instance = new State;
    return *instance;
  }
  std::size_t index_;
};

// Only authenticated headers other than our own reach this.
bool HeaderAcceptable(const std::string& text) {
  const auto header = ParseJoseHeader(text);
  // One HMAC key has no id: a `kid` names a key this verifier does not have (RFC 8725 §3.1).
  return header && !header->kid && header->alg == "HS256";
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

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

struct HmacKey::Impl {
 public:
  explicit Impl(std::string_view secret) {
    // An empty HMAC key lets anyone forge tokens: a configuration bug, not input.
    if (secret.empty()) throw std::invalid_argument("HmacKey: empty secret");
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (mac != nullptr) keyed_.reset(EVP_MAC_CTX_new(mac));
    EVP_MAC_free(mac);  // the context holds its own reference
    char digest[] = OSSL_DIGEST_NAME_SHA2_256;
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!keyed_ || EVP_MAC_init(keyed_.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                                secret.size(), params) != 1) {
      throw std::runtime_error("HmacKey: OpenSSL HMAC-SHA256 unavailable");
    }
  }

  bool Mac(std::string_view input, unsigned char (&out)[kMacBytes]) {
    thread_local const ThreadSlot slot;
    MacCtxPtr overflow;
    EVP_MAC_CTX* ctx = nullptr;
    if (slot.index() < kMaxThreadSlots) {
      MacCtxPtr& mine = per_thread_[slot.index()];
      if (!mine) mine.reset(EVP_MAC_CTX_dup(keyed_.get()));
      ctx = mine.get();
    } else {
      overflow.reset(EVP_MAC_CTX_dup(keyed_.get()));
      ctx = overflow.get();
    }
    std::size_t len = 0;
    return ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1 &&
           EVP_MAC_final(ctx, out, &len, kMacBytes) == 1 && len == kMacBytes;
  }

  bool Verify(std::string_view token, std::string& payload_json) {
    CompactParts parts;
    if (!SplitCompact(token, parts) || parts.signature.size() != kMacChars) return false;
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
    if (header != kHeaderB64 &&
        !(Base64UrlDecode(header, payload_json) && HeaderAcceptable(payload_json))) {
      return false;
    }
    return Base64UrlDecode(payload, payload_json) && IsJsonObjectText(payload_json);
  }

 private:
  // The only copies of the secret live in these contexts; EVP_MAC_CTX_free cleanses them.
  MacCtxPtr keyed_;  // template for the per-thread copies; never MACs itself
  std::array<MacCtxPtr, kMaxThreadSlots> per_thread_;
};

HmacKey::HmacKey(std::string_view secret) : impl_(std::make_unique<Impl>(secret)) {}

HmacKey::~HmacKey() = default;

std::string HmacKey::Sign(std::string_view payload_json) const {
  const std::size_t signed_chars = kHeaderB64.size() + 1 + EncodedSize(payload_json.size());
  std::string token(signed_chars + 1 + kMacChars, '.');  // the fill supplies both dots
  std::copy(kHeaderB64.begin(), kHeaderB64.end(), token.data());
  EncodeTo(payload_json, token.data() + kHeaderB64.size() + 1);
  unsigned char mac[kMacBytes];
  if (!impl_->Mac(std::string_view(token).substr(0, signed_chars), mac)) {
    throw std::runtime_error("HmacKey: HMAC computation failed");
  }
  EncodeTo({reinterpret_cast<const char*>(mac), kMacBytes}, token.data() + signed_chars + 1);
  return token;
}

Status HmacKey::Verify(std::string_view token, std::string& payload_json) const {
  if (impl_->Verify(token, payload_json)) return Ok{};
  payload_json.clear();
  return ErrorCode::kInvalidToken;
}

}  // namespace gatehouse::auth
