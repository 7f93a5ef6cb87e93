// gatehouse import-flask <file>: copies the Flask service's users and revoked tokens.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

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
  int64_t skipped = 0;    // users whose hash is not pbkdf2_sha256
  int64_t held_back = 0;  // users whose name differs from another only in case
  std::set<std::string> held_back_keys;
};

// Names that differ only in ASCII case, by their username key. gatehouse cannot hold them apart
// (one account, and a token's `sub` of either would name it), so none of a group is imported:
// the operator decides who keeps the name (docs/operations.md, "Names that differ only in case").
using CaseCollisions = std::map<std::string, std::vector<std::string>>;
constexpr std::string_view kCollisionHelp =
    " (docs/operations.md: \"Names that differ only in case\")\n";

// Names go to a terminal: control bytes are shown as '?'.
std::string Shown(std::string name) {
  for (char& c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = '?';
  }
  return name;
}

Result<CaseCollisions> FindCaseCollisions(const std::string& path) {
  auto names = store::ReadFlaskCaseCollisions(path);
  if (!names) return names.error();
  CaseCollisions groups;
  for (auto& name : *names) groups[store::UsernameKey(name).str()].push_back(std::move(name));
  for (const auto& [key, group] : groups) {
    std::cerr << "not imported:";
    for (std::size_t i = 0; i < group.size(); ++i) {
      std::cerr << (i == 0 ? " " : ", ") << Shown(group[i]);
    }
    std::cerr << ": these names differ only in case" << kCollisionHelp;
  }
  return groups;
}

// Records the store did not add are either there already (a repeated import) or collide with an
// account whose name differs only in case: those are reported by name and held back.
Status ReportExistingCollisions(store::Store& store, const std::vector<store::UserRecord>& records,
                                Tally& tally) {
  for (const auto& record : records) {
    store::UsernameKey key(record.username);
    auto found = store.FindUser(key);
    if (!found) return Status(found.error());
    if (!*found || (*found)->username == record.username) continue;
    ++tally.held_back;
    tally.held_back_keys.insert(key.str());
    std::cerr << "not imported: " << Shown(record.username)
              << ": differs only in case from the existing account " << Shown((*found)->username)
              << kCollisionHelp;
  }
  return Status(Ok{});
}

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

Status ImportUsers(store::Store& store, const std::string& path, int64_t total,
                   const CaseCollisions& collisions, Tally& tally) {
  const int64_t now = UnixNow();
  return store::ReadFlaskUsers(path, kBatch, [&](const std::vector<store::FlaskUser>& batch) {
    std::vector<store::UserRecord> records;
    for (const auto& user : batch) {
      if (std::string key = store::UsernameKey(user.username).str(); collisions.count(key) != 0) {
        ++tally.held_back;
        tally.held_back_keys.insert(std::move(key));
        continue;
      }
      if (!CouldBeNamedByAToken(user.username) || user.password_hash.rfind(kPbkdf2Prefix, 0) != 0) {
        ++tally.skipped;
        continue;
      }
      records.push_back({user.username, user.password_hash, now});
    }
    auto added = store.ImportUsers(records);
    if (!added) return Status(added.error());
    if (*added < static_cast<int64_t>(records.size())) {
      if (Status reported = ReportExistingCollisions(store, records, tally); !reported) {
        return reported;
      }
    }
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

// A Flask token's `sub` of any spelling would name whichever account ends up with the name, so
// every token naming a held-back name issued before the first import that held it back is
// refused (gatehouse's own tokens of an existing account too: that person logs in again, once;
// a re-run keeps the first run's time, so it logs nobody out again).
Status RevokeHeldBackNames(store::Store& store, const std::set<std::string>& keys) {
  const int64_t now = UnixNow();
  for (const auto& key : keys) {
    if (Status revoked = store.CutHeldBackName(store::UsernameKey(key), now); !revoked) {
      return revoked;
    }
  }
  return Status(Ok{});
}

}  // namespace

int ImportFlask(const config::Settings& settings, const std::string& flask_database) {
  auto counts = store::CountFlaskRows(flask_database);
  if (!counts) return Failure(counts.error().detail);
  auto collisions = FindCaseCollisions(flask_database);
  if (!collisions) return Failure(collisions.error().detail);
  auto store = OpenStoreOrReport(settings);
  if (!store) return 1;
  Tally users;
  if (Status done = ImportUsers(*store, flask_database, counts->users, *collisions, users); !done) {
    return Failure(done.error().detail);
  }
  if (Status done = RevokeHeldBackNames(*store, users.held_back_keys); !done) {
    return Failure(done.error().detail);
  }
  Tally revoked;
  const int64_t keep = std::max(settings.refresh_ttl_seconds, kFlaskRefreshSeconds);
  if (Status done =
          ImportRevocations(*store, flask_database, counts->revoked_tokens, keep, revoked);
      !done) {
    return Failure(done.error().detail);
  }
  std::cout << "imported " << users.added << " users ("
            << users.seen - users.added - users.skipped - users.held_back << " already present, "
            << users.skipped << " skipped: not pbkdf2_sha256, " << users.held_back
            << " not imported: names that differ only in case) and " << revoked.added
            << " revoked tokens (" << revoked.seen - revoked.added << " already present)\n";
  // Everything else is in; a status other than 0 keeps a migration script from going live
  // while accounts are missing.
  return users.held_back == 0 ? 0 : 1;
}

}  // namespace gatehouse::cli
