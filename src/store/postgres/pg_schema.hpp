// The PostgreSQL schema and its migrations. The SQL stays within what PostgreSQL-compatible
// engines without PostgreSQL's extras (CockroachDB, YugabyteDB) accept: no advisory locks, no
// LOCK TABLE; the version row is locked with SELECT ... FOR UPDATE.
#pragma once

#include <cstdint>

#include "util/result.hpp"

struct pg_conn;

namespace gatehouse::store::pg {

// The schema version this build migrates to.
int64_t LatestSchemaVersion();

// Creates the version table if needed and applies pending steps in one transaction that holds
// the version row locked, so instances starting at once apply each step exactly once.
// Fails (kStorageFailure) when the database's version is newer than this build's.
Status Migrate(pg_conn* conn);

}  // namespace gatehouse::store::pg
