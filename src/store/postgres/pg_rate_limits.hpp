// The shared brute-force counters of the PostgreSQL store (Store::TakeAttempt): one row per
// token bucket in table rate_limits, keyed by a 16-byte keyed BLAKE2b digest of the limiter
// key, taken or given back by one atomic upsert. The digest key is drawn by the migration that
// creates the table (rate_limit_key) and read by every instance at start, so all instances
// digest alike. Internal to src/store/postgres; the one place outside src/auth that uses
// libsodium, for the digest, since the key comes from the database.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/duration.hpp"
#include "util/result.hpp"

struct pg_conn;

namespace gatehouse::store::pg {

// The digest key every instance shares; zeroed when dropped.
struct AttemptDigestKey {
  std::array<unsigned char, 32> bytes{};
  AttemptDigestKey() = default;
  AttemptDigestKey(const AttemptDigestKey&) = default;
  AttemptDigestKey& operator=(const AttemptDigestKey&) = default;
  ~AttemptDigestKey();
};

// Reads the shared digest key. kStorageFailure when the row is missing or malformed.
Result<AttemptDigestKey> LoadAttemptDigestKey(pg_conn* conn);

// The statement taking an attempt ($1 digest, $2 count, $3 period in ms, $4 now in unix ms,
// $5 attempts): one row, the milliseconds to wait (0 when taken), or no row (a race with a
// prune: wait a second). And the statement deleting buckets full again by $1 (unix ms).
extern const char* const kTakeAttemptSql;
extern const char* const kPruneAttemptsSql;

// The five parameters of kTakeAttemptSql.
std::vector<std::string> TakeAttemptParams(const AttemptDigestKey& digest_key, std::string_view key,
                                           RateLimit limit, int64_t now_ms, int attempts);

// kTakeAttemptSql's answer as whole seconds: 0 when taken, else at least 1.
int64_t WaitSeconds(bool has_row, double wait_ms);

}  // namespace gatehouse::store::pg
