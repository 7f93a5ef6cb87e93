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
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace gatehouse::auth {
namespace {

using Json = nlohmann::json;

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

// Caller guarantees text.size() % 4 != 1 and room for the decoded bytes.
bool DecodeTo(std::string_view text, unsigned char* out) {
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::int8_t v = kDecodeTable[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *out++ = static_cast<unsigned char>(acc >> bits);
    }
  }
  // Leftover bits must be zero, or several texts would decode to the same bytes.
  return (acc & ((1u << bits) - 1)) == 0;
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
// pre-keyed context per thread in a plain array that it owns and frees (and with it the key
// material) when it is destroyed. The registry is leaked so threads exiting late stay safe.
class ThreadSlot {
 public:
  ThreadSlot() {
    std::lock_guard lock(Shared().mutex);
    if (Shared().free.empty()) {
      index_ = Shared().next++;
    } else {
      index_ = Shared().free.back();
      Shared().free.pop_back();
    }
  }
  ~ThreadSlot() {
    std::lock_guard lock(Shared().mutex);
    Shared().free.push_back(index_);
  }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;
  std::size_t index() const { return index_; }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::size_t> free;
    std::size_t next = 0;
  };
  static State& Shared() {
    static auto* const instance = new State;
    return *instance;
  }
  std::size_t index_;
};

bool IsAsciiJwt(std::string_view s) {
  return s.size() == 3 && (s[0] | 0x20) == 'j' && (s[1] | 0x20) == 'w' && (s[2] | 0x20) == 't';
}

// Validates the JOSE header while nlohmann parses it, without building a DOM. Duplicate
// member names are rejected (RFC 7515 §4 permits either that or last-wins).
class HeaderChecker {
 public:
  bool null() { return Value(nullptr); }
  bool boolean(bool) { return Value(nullptr); }
  bool number_integer(Json::number_integer_t) { return Value(nullptr); }
  bool number_unsigned(Json::number_unsigned_t) { return Value(nullptr); }
  bool number_float(Json::number_float_t, const std::string&) { return Value(nullptr); }
  bool string(std::string& s) { return Value(&s); }
  bool binary(Json::binary_t&) { return false; }
  bool start_object(std::size_t) { return Open(); }
  bool start_array(std::size_t) { return depth_ > 0 && Open(); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }
  bool key(std::string& name) {
    if (depth_ != 1) return true;
    if (name == "crit") return false;
    member_ = name == "alg" ? Member::kAlg : name == "typ" ? Member::kTyp : Member::kOther;
    names_.push_back(name);
    return true;
  }

  bool Accepted() {
    std::sort(names_.begin(), names_.end());
    return alg_ok_ && std::adjacent_find(names_.begin(), names_.end()) == names_.end();
  }

 private:
  enum class Member { kAlg, kTyp, kOther };

  bool Open() {
    if (depth_ == 1 && !Value(nullptr)) return false;
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool Value(const std::string* s) {
    if (depth_ != 1) return depth_ > 1;  // a bare top-level value is not a header
    if (member_ == Member::kAlg) return alg_ok_ = s != nullptr && *s == "HS256";
    if (member_ == Member::kTyp) return s != nullptr && IsAsciiJwt(*s);
    return true;
  }

  int depth_ = 0;
  Member member_ = Member::kOther;
  bool alg_ok_ = false;
  std::vector<std::string> names_;
};

// nlohmann stops at a NUL byte as if the input ended there, so "{}\0junk" would pass; JSON
// text can never contain a raw NUL, so refuse it up front.
bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

bool HeaderAcceptable(const std::string& header_json) {
  HeaderChecker checker;
  return !HasNul(header_json) && Json::sax_parse(header_json, &checker) && checker.Accepted();
}

// A valid JSON text whose first significant character is '{' is an object.
bool IsJsonObject(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{' && !HasNul(text) && Json::accept(text);
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
  MacCtxPtr keyed;  // template for the per-thread copies; never MACs itself
  std::array<MacCtxPtr, kMaxThreadSlots> per_thread;

  bool Mac(std::string_view input, unsigned char (&out)[kMacBytes]) {
    thread_local const ThreadSlot slot;
    MacCtxPtr overflow;
    EVP_MAC_CTX* ctx = nullptr;
    if (slot.index() < kMaxThreadSlots) {
      MacCtxPtr& mine = per_thread[slot.index()];
      if (!mine) mine.reset(EVP_MAC_CTX_dup(keyed.get()));
      ctx = mine.get();
    } else {
      overflow.reset(EVP_MAC_CTX_dup(keyed.get()));
      ctx = overflow.get();
    }
    std::size_t len = 0;
    return ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1 &&
           EVP_MAC_final(ctx, out, &len, kMacBytes) == 1 && len == kMacBytes;
  }

  bool Verify(std::string_view token, std::string& payload_json) {
    if (token.size() > kMaxTokenBytes) return false;
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == token.npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos) return false;
    const std::string_view header = token.substr(0, dot1);
    const std::string_view payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signature = token.substr(dot2 + 1);
    if (header.empty() || payload.empty() || signature.size() != kMacChars) return false;

    unsigned char given[kMacBytes];
    unsigned char expected[kMacBytes];
    if (!DecodeTo(signature, given) || !Mac(token.substr(0, dot2), expected) ||
        CRYPTO_memcmp(given, expected, kMacBytes) != 0) {
      return false;
    }
    // Authenticated before any JSON parsing; our own header needs no parsing at all.
    if (header != kHeaderB64 &&
        !(Base64UrlDecode(header, payload_json) && HeaderAcceptable(payload_json))) {
      return false;
    }
    return Base64UrlDecode(payload, payload_json) && IsJsonObject(payload_json);
  }
};

HmacKey::HmacKey(std::string_view secret) : impl_(std::make_unique<Impl>()) {
  // An empty HMAC key lets anyone forge tokens; that is a configuration bug, not input.
  if (secret.empty()) throw std::invalid_argument("HmacKey: empty secret");
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac != nullptr) impl_->keyed.reset(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!impl_->keyed ||
      EVP_MAC_init(impl_->keyed.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                   secret.size(), params) != 1) {
    throw std::runtime_error("HmacKey: OpenSSL HMAC-SHA256 unavailable");
  }
}

// The only copies of the secret live inside the OpenSSL contexts; EVP_MAC_CTX_free cleanses them.
HmacKey::~HmacKey() = default;

std::string HmacKey::Sign(std::string_view payload_json) const {
  const std::size_t payload_chars = EncodedSize(payload_json.size());
  std::string token;
  token.resize(kHeaderB64.size() + 1 + payload_chars + 1 + kMacChars);
  char* out = std::copy(kHeaderB64.begin(), kHeaderB64.end(), token.data());
  *out++ = '.';
  EncodeTo(payload_json, out);
  out += payload_chars;
  unsigned char mac[kMacBytes];
  if (!impl_->Mac(std::string_view(token.data(), out - token.data()), mac)) {
    throw std::runtime_error("HmacKey: HMAC computation failed");
  }
  *out++ = '.';
  EncodeTo(std::string_view(reinterpret_cast<const char*>(mac), kMacBytes), out);
  return token;
}

Status HmacKey::Verify(std::string_view token, std::string& payload_json) const {
  if (impl_->Verify(token, payload_json)) return Ok{};
  payload_json.clear();
  return ErrorCode::kInvalidToken;
}

}  // namespace gatehouse::auth
