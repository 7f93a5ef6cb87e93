#include "store/recent_session_uses.hpp"

namespace gatehouse::store {
namespace {

// A collision makes one use of the same second look repeated and skips it: last_used_at is
// right either way, only the client shown for that second may be the earlier one.
std::size_t ClientHash(std::string_view client_address, std::string_view user_agent) {
  const std::size_t address = std::hash<std::string_view>{}(client_address);
  return address ^ (std::hash<std::string_view>{}(user_agent) + 0x9e3779b97f4a7c15ULL +
                    (address << 6) + (address >> 2));
}

}  // namespace

bool RecentSessionUses::Claim(std::string_view sid, int64_t second, std::string_view client_address,
                              std::string_view user_agent) {
  const std::size_t client = ClientHash(client_address, user_agent);
  std::lock_guard lock(mutex_);
  if (second != second_) {
    if (second < second_) return true;  // a late thread's older second: not remembered
    client_by_sid_.clear();
    second_ = second;
  }
  const auto found = client_by_sid_.find(sid);
  if (found != client_by_sid_.end()) {
    if (found->second == client) return false;
    found->second = client;
    return true;
  }
  if (client_by_sid_.size() < kMaxRemembered) client_by_sid_.emplace(sid, client);
  return true;
}

void RecentSessionUses::Forget(std::string_view sid) {
  std::lock_guard lock(mutex_);
  if (const auto found = client_by_sid_.find(sid); found != client_by_sid_.end()) {
    client_by_sid_.erase(found);
  }
}

}  // namespace gatehouse::store
