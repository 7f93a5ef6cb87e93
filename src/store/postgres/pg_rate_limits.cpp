#include "store/postgres/pg_rate_limits.hpp"

#include <libpq-fe.h>
#include <sodium.h>

#include <cmath>
#include <cstring>

namespace gatehouse::store::pg {
namespace {

// The bucket's tokens after refilling from updated_at to now ($4), at most the count ($2).
#define GH_REFILLED                                                                     \
  "LEAST($2::float8, r.tokens + GREATEST(0, $4::bigint - r.updated_at) * $2::float8 / " \
  "$3::float8)"
// When the bucket will be full again: the row is then worth nothing and may be pruned.
#define GH_FULL_AT(tokens, at) \
  "(" at " + CEIL(($2::float8 - (" tokens ")) * $3::float8 / $2::float8)::bigint)"

std::string Hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

// A refusal updates nothing (the WHERE of DO UPDATE fails) and is answered by the second
// SELECT, which reads the row as the statement's snapshot saw it, maybe before a concurrent
// take: a hint for Retry-After only, never below 1 ms, so that it never reads as taken.
const Statement<std::string_view, int64_t, int64_t, int64_t, int64_t> kTakeAttempt{
    {"take_attempt",
     "WITH taken AS (INSERT INTO rate_limits AS r (key, tokens, updated_at, full_at) "
     "VALUES ($1::bytea, LEAST($2::float8, $2::float8 - $5::float8), $4::bigint, " GH_FULL_AT(
         "LEAST($2::float8, $2::float8 - $5::float8)",
         "$4::bigint") ") "
                       "ON CONFLICT (key) DO UPDATE SET "
                       "tokens = LEAST($2::float8, " GH_REFILLED " - $5::float8), "
                       "updated_at = GREATEST(r.updated_at, $4::bigint), "
                       "full_at = " GH_FULL_AT(
                           "LEAST($2::float8, " GH_REFILLED " - $5::float8)",
                           "GREATEST(r.updated_at, $4::bigint)") " "
                                                                 "WHERE " GH_REFILLED
                                                                 " >= $5::float8 RETURNING "
                                                                 "0::float8 AS wait_ms) "
                                                                 "SELECT wait_ms FROM taken UNION "
                                                                 "ALL "
                                                                 "SELECT GREATEST(1, ($5::float8 "
                                                                 "- " GH_REFILLED
                                                                 ") * $3::float8 / $2::float8) "
                                                                 "FROM rate_limits AS r "
                                                                 "WHERE r.key = $1::bytea AND NOT "
                                                                 "EXISTS (SELECT 1 FROM taken)",
     true}};

const Statement<int64_t> kPruneAttempts{
    {"prune_attempts", "DELETE FROM rate_limits WHERE full_at <= $1::bigint", true}};

#undef GH_FULL_AT
#undef GH_REFILLED

AttemptDigestKey::~AttemptDigestKey() { sodium_memzero(bytes.data(), bytes.size()); }

Result<AttemptDigestKey> LoadAttemptDigestKey(PGconn* conn) {
  PGresult* result = PQexec(conn, "SELECT key FROM rate_limit_key WHERE id = 1");
  AttemptDigestKey key{};
  bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
  if (ok) {
    std::size_t size = 0;
    unsigned char* bytes =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result, 0, 0)), &size);
    ok = bytes != nullptr && size == key.bytes.size();
    if (ok) std::memcpy(key.bytes.data(), bytes, key.bytes.size());
    if (bytes != nullptr) {
      sodium_memzero(bytes, size);
      PQfreemem(bytes);
    }
  }
  PQclear(result);
  if (!ok) return Error{ErrorCode::kStorageFailure, "database: read the rate-limit digest key"};
  return key;
}

std::string AttemptDigest(const AttemptDigestKey& digest_key, std::string_view key) {
  // Keyed BLAKE2b rather than the in-memory limiters' SipHash: the key is kept in the database,
  // where more eyes may see it, and BLAKE2b stays collision-resistant without it; this path
  // makes a network round trip anyway, so the extra cost does not show.
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), digest_key.bytes.data(), digest_key.bytes.size());
  return "\\x" + Hex(digest, sizeof digest);
}

int64_t WaitSeconds(bool has_row, double wait_ms) {
  if (!has_row) return 1;
  if (wait_ms <= 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000.0)));
}

}  // namespace gatehouse::store::pg
