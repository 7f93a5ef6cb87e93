// gatehouse import-flask <file>: copies the Flask service's users and revoked tokens.
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "store/sqlite/flask_reader.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

constexpr int kBatch = 5000;
constexpr std::string_view kPbkdf2Prefix = "$pbkdf2-sha256$";
// The Flask service's tokens carry no issue record here, so a revoked jti is kept for the
// longest lifetime any of its tokens can have had: its refresh lifetime (30 days by default).
constexpr int64_t kFlaskRefreshSeconds = 30 * 86400;

struct Tally {
  int64_t seen = 0;
  int64_t added = 0;
  int64_t skipped = 0;  // users whose hash is not pbkdf2_sha256
};

void Progress(const char* what, const Tally& tally, int64_t total) {
  // Only large imports report progress, on stderr, so scripts reading stdout see one summary.
  if (total >= 10 * kBatch) std::cerr << what << ": " << tally.seen << "/" << total << "\n";
}

// Tokens naming a `sub` with a control character or over 256 bytes are refused (docs/api.md),
// so such an account could never use a token: it is skipped like a foreign hash.
bool CouldBeNamedByAToken(const std::string& username) {
  return !username.empty() && username.size() <= 256 &&
         std::none_of(username.begin(), username.end(), [](char c) {
           const auto byte = static_cast<unsigned char>(c);
           return byte < 0x20 || byte == 0x7F;
         });
}

Status ImportUsers(store::Store& store, const std::string& path, int64_t total, Tally& tally) {
  const int64_t now = UnixNow();
  return store::ReadFlaskUsers(path, kBatch, [&](const std::vector<store::FlaskUser>& batch) {
    std::vector<store::UserRecord> records;
    for (const auto& user : batch) {
      if (!CouldBeNamedByAToken(user.username) || user.password_hash.rfind(kPbkdf2Prefix, 0) != 0) {
        ++tally.skipped;
        continue;
      }
      records.push_back({user.username, user.password_hash, now});
    }
    auto added = store.ImportUsers(records);
    if (!added) return Status(added.error());
    tally.seen += static_cast<int64_t>(batch.size());
    tally.added += *added;
    Progress("users", tally, total);
    return Status(Ok{});
  });
}

Status ImportRevocations(store::Store& store, const std::string& path, int64_t total,
                         int64_t keep_seconds, Tally& tally) {
  const int64_t expires_at = UnixNow() + keep_seconds;
  return store::ReadFlaskRevokedJtis(path, kBatch, [&](const std::vector<std::string>& batch) {
    std::vector<store::Revocation> revocations;
    for (const auto& jti : batch) {
      if (!jti.empty()) revocations.push_back({jti, store::RevocationKind::kToken, expires_at});
    }
    auto added = store.ImportRevocations(revocations);
    if (!added) return Status(added.error());
    tally.seen += static_cast<int64_t>(batch.size());
    tally.added += *added;
    Progress("revoked tokens", tally, total);
    return Status(Ok{});
  });
}

}  // namespace

int ImportFlask(const config::Settings& settings, const std::string& flask_database) {
  auto counts = store::CountFlaskRows(flask_database);
  if (!counts) return Failure(counts.error().detail);
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  Tally users;
  if (Status done = ImportUsers(*store, flask_database, counts->users, users); !done) {
    return Failure(done.error().detail);
  }
  Tally revoked;
  const int64_t keep = std::max(settings.refresh_ttl_seconds, kFlaskRefreshSeconds);
  if (Status done =
          ImportRevocations(*store, flask_database, counts->revoked_tokens, keep, revoked);
      !done) {
    return Failure(done.error().detail);
  }
  std::cout << "imported " << users.added << " users (" << users.seen - users.added - users.skipped
            << " already present, " << users.skipped << " skipped: not pbkdf2_sha256) and "
            << revoked.added << " revoked tokens (" << revoked.seen - revoked.added
            << " already present)\n";
  return 0;
}

}  // namespace gatehouse::cli
