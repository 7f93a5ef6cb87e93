#include "store/store.hpp"

#include <atomic>

#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "util/ascii.hpp"

namespace gatehouse::store {
namespace {

constexpr std::string_view kSchemeSeparator = "://";
constexpr std::size_t kMaxEchoedSchemeLength = 32;

// Spelled out rather than std::isalnum so the answer does not depend on the locale.
bool IsSchemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

// Only a well-formed scheme is echoed back: the setting may hold credentials
// (postgresql://user:password@host), and those must not reach a log line.
bool IsPrintableScheme(std::string_view scheme) {
  if (scheme.empty() || scheme.size() > kMaxEchoedSchemeLength) return false;
  return std::all_of(scheme.begin(), scheme.end(), IsSchemeChar);
}

Error StorageError(std::string detail) {
  return Error{ErrorCode::kStorageFailure, "database: " + std::move(detail)};
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(
    const std::string& database_url, const StoreOptions& options,
    const std::function<void(const std::string& path)>& on_new_database) {
  const std::size_t separator = database_url.find(kSchemeSeparator);
  if (separator == std::string::npos) {
    return StorageError("expected a URL of the form sqlite://<path> or postgresql://...");
  }
  // Schemes are case-insensitive (RFC 3986 section 3.1).
  const std::string scheme = AsciiLower(std::string_view(database_url).substr(0, separator));
  if (scheme == "postgresql" || scheme == "postgres") {
    return PostgresStore::Open(database_url, options.pool_size);
  }
  if (scheme != "sqlite") {
    if (!IsPrintableScheme(scheme)) {
      return StorageError("expected a URL of the form sqlite://<path> or postgresql://...");
    }
    return StorageError("unsupported scheme '" + scheme +
                        "' (expected sqlite:// or postgresql://)");
  }
  const std::string path = database_url.substr(separator + kSchemeSeparator.size());
  if (path.empty()) {
    return StorageError("sqlite:// needs a file path, e.g. sqlite://./gatehouse.db");
  }
  return SqliteStore::Open(path, on_new_database);
}

StartupStatus CheckDatabaseUrl(const std::string& database_url) {
  const std::size_t separator = database_url.find(kSchemeSeparator);
  const std::string scheme =
      separator == std::string::npos ? "" : AsciiLower(database_url.substr(0, separator));
  if (scheme == "postgresql" || scheme == "postgres") return CheckPostgresUrl(database_url);
  if (scheme == "sqlite" && database_url.size() > separator + kSchemeSeparator.size()) {
    return Ok{};
  }
  return StartupError{StartupErrorCode::kBadSetting,
                      "expected sqlite://<path> or postgresql://user:password@host:port/db"};
}

namespace {
std::atomic<uint64_t> key_computations{0};
}  // namespace

UsernameKey::UsernameKey(std::string_view username) : key_(AsciiLower(username)) {
  key_computations.fetch_add(1, std::memory_order_relaxed);
}

uint64_t UsernameKey::Computations() { return key_computations.load(std::memory_order_relaxed); }

}  // namespace gatehouse::store
