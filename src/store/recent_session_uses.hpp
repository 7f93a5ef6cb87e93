// The session uses this process recorded in the current second, so that a refresh whose use
// would change nothing is not written again. A session's record keeps `last_used_at` in whole
// seconds with the last address and user agent: a second use of the same second from the same
// client leaves the row as it is, yet each was a durable write (a transaction and an fsync on
// the writer thread) until this filter. A busy client refreshing many times a second now costs
// one write a second; different clients and sessions are written as before.
// Thread safety: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gatehouse::store {

class RecentSessionUses {
 public:
  // True when the use of `sid` in `second` from this client is new this second (the caller records
  // it), false when the same use was already claimed. Remembers the current second only, and at
  // most kMaxRemembered sessions of it: past that, every use counts as new (written, as before the
  // filter).
  bool Claim(std::string_view sid, int64_t second, std::string_view client_address,
             std::string_view user_agent);

  // The claimed use of `sid` was not written after all (a full disk): a repeat must write.
  void Forget(std::string_view sid);

  static constexpr std::size_t kMaxRemembered = 65536;

 private:
  std::mutex mutex_;
  int64_t second_ = 0;
  struct SidHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sid) const {
      return std::hash<std::string_view>{}(sid);
    }
  };
  // sid -> hash of the address and user agent of its use this second
  std::unordered_map<std::string, std::size_t, SidHash, std::equal_to<>> client_by_sid_;
};

}  // namespace gatehouse::store
