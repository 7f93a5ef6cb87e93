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

#include "store/statement.hpp"
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

// The statement taking an attempt ($1 the key's digest, $2 count, $3 period in ms, $4 now in
// unix ms, $5 attempts): one row, the milliseconds to wait (0 when taken), or no row (a race
// with a prune: wait a second). Sent again after a lost connection, an attempt may count
// twice: the safe side. And the statement deleting buckets full again by $1 (unix ms).
extern const Statement<std::string_view, int64_t, int64_t, int64_t, int64_t> kTakeAttempt;
extern const Statement<int64_t> kPruneAttempts;

// The $1 of kTakeAttempt: the 16-byte digest of the limiter key `key`, as a bytea literal.
std::string AttemptDigest(const AttemptDigestKey& digest_key, std::string_view key);

// kTakeAttempt's answer as whole seconds: 0 when taken, else at least 1.
int64_t WaitSeconds(bool has_row, double wait_ms);

}  // namespace gatehouse::store::pg
