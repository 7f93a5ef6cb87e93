// PostgreSQL: the webhook delivery cursors (store/store.hpp). The lease is one UPDATE: two
// instances claiming at once serialise on the row lock, and the second re-reads the row with
// the first's lease and matches nothing, so one instance delivers to a URL at a time.
#include "store/postgres/pg_statements.hpp"
#include "store/postgres/postgres_store.hpp"

namespace gatehouse::store {

Result<std::optional<int64_t>> PostgresStore::LeaseWebhookCursor(std::string_view url_key,
                                                                 std::string_view owner,
                                                                 int64_t now_ms,
                                                                 int64_t lease_until_ms) {
  if (auto created = pool_.Run(pg::kCreateWebhookCursor, url_key); !created) {
    return created.error();
  }
  auto rows = pool_.Run(pg::kLeaseWebhookCursor, url_key, owner, now_ms, lease_until_ms);
  if (!rows) return rows.error();
  if (rows->Count() != 1) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->Int(0, 0));
}

Result<bool> PostgresStore::UpdateWebhookCursor(std::string_view url_key, std::string_view owner,
                                                int64_t delivered, int64_t lease_until_ms) {
  auto rows = pool_.Run(pg::kAdvanceWebhookCursor, url_key, owner, delivered, lease_until_ms);
  if (!rows) return rows.error();
  return rows->Affected() == 1;
}

}  // namespace gatehouse::store
