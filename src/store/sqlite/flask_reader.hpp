// Reads the SQLite database of the original Flask service: `users(username, password)` with
// passlib pbkdf2_sha256 hashes, and `revoked_tokens(jti)`. Read-only; never writes the file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace gatehouse::store {

struct FlaskUser {
  std::string username;
  std::string password_hash;
};

struct FlaskCounts {
  int64_t users = 0;
  int64_t revoked_tokens = 0;
};

// Counts the rows to import. kBadRequest with a one-line reason when `path` is not such a
// database (missing, not SQLite, tables or columns absent).
Result<FlaskCounts> CountFlaskRows(const std::string& path);

// Streams the rows in batches of at most `batch_size`, in rowid order. A callback's failure
// stops the reading and is returned.
Status ReadFlaskUsers(const std::string& path, int batch_size,
                      const std::function<Status(const std::vector<FlaskUser>&)>& on_batch);
Status ReadFlaskRevokedJtis(const std::string& path, int batch_size,
                            const std::function<Status(const std::vector<std::string>&)>& on_batch);

// The names that equal another row's but for ASCII case (`fiona`, `FIONA`), which gatehouse,
// whose names are unique without regard to ASCII case, cannot hold apart. Ordered so that each
// group is together (by the name without case, then rowid).
Result<std::vector<std::string>> ReadFlaskCaseCollisions(const std::string& path);

}  // namespace gatehouse::store
