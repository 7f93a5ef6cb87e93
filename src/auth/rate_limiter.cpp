#include "auth/rate_limiter.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "util/ascii.hpp"

namespace gatehouse::auth {
namespace {

const unsigned char* DigestKey() {
  // Drawn once per process: the table lives only in memory, so the key never needs to outlive
  // it, and without it nobody can choose keys that land in one set to push a victim out.
  static const auto key = [] {
    std::array<unsigned char, crypto_shorthash_siphashx24_KEYBYTES> bytes{};
    if (sodium_init() < 0) std::abort();
    randombytes_buf(bytes.data(), bytes.size());
    return bytes;
  }();
  return key.data();
}

// The parts are framed by the username's length, so ("a b", "c") and ("a", "b c") differ.
void Frame(std::string_view username, std::string_view address, char* out) {
  const uint64_t length = username.size();
  std::memcpy(out, &length, sizeof length);
  std::transform(username.begin(), username.end(), out + sizeof length,
                 [](char c) { return AsciiLower(c); });
  // An empty view may hold a null pointer, which memcpy must not be given even for 0 bytes.
  if (!address.empty()) {
    std::memcpy(out + sizeof length + username.size(), address.data(), address.size());
  }
}

}  // namespace

LimiterKey LimiterKeyOf(std::string_view username, std::string_view address) {
  const std::size_t size = sizeof(uint64_t) + username.size() + address.size();
  std::array<char, kInlineKeyBytes + sizeof(uint64_t)> inline_bytes;
  std::string heap_bytes;  // only for keys no registered user has (e.g. a 16 KB login name)
  char* bytes = inline_bytes.data();
  if (size > inline_bytes.size()) {
    heap_bytes.resize(size);
    bytes = heap_bytes.data();
  }
  Frame(username, address, bytes);
  unsigned char digest[crypto_shorthash_siphashx24_BYTES];
  crypto_shorthash_siphashx24(digest, reinterpret_cast<const unsigned char*>(bytes), size,
                              DigestKey());
  LimiterKey key;
  std::memcpy(key.data(), digest, sizeof digest);
  if (key[0] == 0 && key[1] == 0) key[1] = 1;  // {0, 0} marks a free entry
  return key;
}

RateLimiter::RateLimiter(RateLimit limit, std::size_t capacity)
    : limit_(limit),
      sets_per_shard_(
          std::max<std::size_t>(1, (capacity + kShards * kWays - 1) / (kShards * kWays))),
      // calloc: zeroed (every entry free) without touching the pages, so the table costs
      // resident memory only as it fills, and never more than MemoryBytes().
      entries_(static_cast<Entry*>(std::calloc(Capacity(), sizeof(Entry)))) {
  if (!entries_) throw std::bad_alloc();
}

double RateLimiter::Refilled(const Entry& entry, int64_t now_ms) const {
  const double per_ms = static_cast<double>(limit_.count) / (limit_.period_seconds * 1000.0);
  const int64_t elapsed = std::max<int64_t>(0, now_ms - entry.updated_ms);
  return std::min<double>(limit_.count, entry.tokens + elapsed * per_ms);
}

RateLimiter::Entry* RateLimiter::SetOf(const LimiterKey& key, std::size_t& shard) {
  shard = key[0] % kShards;
  const std::size_t set = (key[0] / kShards) % sets_per_shard_;
  return entries_.get() + (shard * sets_per_shard_ + set) * kWays;
}

RateLimiter::Entry& RateLimiter::Claim(Entry* set, const LimiterKey& key, int64_t now_ms) {
  // A set full of other keys gives up the entry whose forgetting grants the least: a free or
  // full entry (the same as none), else the one with the most attempts left, the oldest among
  // equals. A key under attack has few left, so pushing it out takes filling its set with keys
  // each drained as far (N failed attempts apiece), in a set nobody can aim at (keyed digest).
  // Refusing new keys instead would let the same flood lock every newcomer out, which is
  // worse for an authentication service than returning a few attempts to one key.
  Entry* chosen = set;
  double chosen_tokens = -1;
  for (Entry* entry = set; entry != set + kWays; ++entry) {
    if (entry->key == key) return *entry;
    const bool free = entry->key[0] == 0 && entry->key[1] == 0;
    const double tokens = free ? limit_.count + 1.0 : Refilled(*entry, now_ms);
    if (tokens > chosen_tokens ||
        (tokens == chosen_tokens && entry->updated_ms < chosen->updated_ms)) {
      chosen = entry;
      chosen_tokens = tokens;
    }
  }
  *chosen = Entry{key, static_cast<double>(limit_.count), now_ms};
  return *chosen;
}

int64_t RateLimiter::Take(const LimiterKey& key, int64_t now_ms) {
  if (!limit_.enabled()) return 0;
  std::size_t shard = 0;
  Entry* set = SetOf(key, shard);
  std::lock_guard lock(shards_[shard].mutex);
  Entry& entry = Claim(set, key, now_ms);
  entry.tokens = Refilled(entry, now_ms);
  entry.updated_ms = std::max(entry.updated_ms, now_ms);
  if (entry.tokens >= 1.0) {
    entry.tokens -= 1.0;
    return 0;
  }
  const double ms_per_token = limit_.period_seconds * 1000.0 / limit_.count;
  const double wait_ms = (1.0 - entry.tokens) * ms_per_token;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000.0)));
}

void RateLimiter::GiveBack(const LimiterKey& key, int64_t now_ms) {
  if (!limit_.enabled()) return;
  std::size_t shard = 0;
  Entry* set = SetOf(key, shard);
  std::lock_guard lock(shards_[shard].mutex);
  for (Entry* entry = set; entry != set + kWays; ++entry) {
    if (entry->key != key) continue;
    entry->tokens = std::min<double>(limit_.count, Refilled(*entry, now_ms) + 1.0);
    entry->updated_ms = std::max(entry->updated_ms, now_ms);
    return;
  }
}

std::size_t RateLimiter::Size(int64_t now_ms) {
  std::size_t size = 0;
  for (std::size_t shard = 0; shard < kShards; ++shard) {
    std::lock_guard lock(shards_[shard].mutex);
    const Entry* first = entries_.get() + shard * sets_per_shard_ * kWays;
    for (const Entry* entry = first; entry != first + sets_per_shard_ * kWays; ++entry) {
      const bool free = entry->key[0] == 0 && entry->key[1] == 0;
      if (!free && Refilled(*entry, now_ms) < limit_.count) ++size;
    }
  }
  return size;
}

int64_t MonotonicMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace gatehouse::auth
