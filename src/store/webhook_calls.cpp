// Store's webhook cursor calls (store/store.hpp), beside store_calls.cpp.
#include "store/store.hpp"

namespace gatehouse::store {

Result<std::optional<int64_t>> Store::ClaimWebhookCursor(std::string_view url_key,
                                                         std::string_view owner, int64_t now_ms,
                                                         int64_t lease_until_ms) {
  return LeaseWebhookCursor(url_key, owner, now_ms, lease_until_ms);
}

Result<bool> Store::AdvanceWebhookCursor(std::string_view url_key, std::string_view owner,
                                         int64_t delivered, int64_t lease_until_ms) {
  return UpdateWebhookCursor(url_key, owner, delivered, lease_until_ms);
}

}  // namespace gatehouse::store
