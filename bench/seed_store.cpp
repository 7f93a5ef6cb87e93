// Seeds a SQLite store for the load benchmarks (scripts/bench): N users sharing one password
// (one argon2id hash, computed once) and M unexpired revocations, written through the Store
// interface's bulk imports in batches of 50k rows (one transaction each).
//
//   gatehouse_seed_store --database sqlite://DIR/gatehouse.db --users 1000000
//       --revocations 1000000 --password PASSWORD [--prefix user]   (one line)
//
// Users are named <prefix>0 .. <prefix>N-1. Revocations are random UUIDv4 ids, half token
// (jti) and half session (sid), expiring 1 to 30 days from now, so none of them covers the
// tokens the benchmark uses and all of them are loaded at start-up.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "auth/passwords.hpp"
#include "auth/token_service.hpp"
#include "store/store.hpp"

namespace {

using namespace gatehouse;

constexpr std::size_t kBatch = 50000;

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: gatehouse_seed_store --database sqlite://PATH --users N "
               "--revocations M --password P [--prefix user]\n");
  std::exit(2);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string database, password, prefix = "user";
  long long users = 0, revocations = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--database")
      database = value;
    else if (flag == "--users")
      users = std::atoll(value);
    else if (flag == "--revocations")
      revocations = std::atoll(value);
    else if (flag == "--password")
      password = value;
    else if (flag == "--prefix")
      prefix = value;
    else
      Usage();
  }
  if (argc % 2 == 0 || database.empty() || (users > 0 && password.empty())) Usage();
  if (!auth::InitCrypto()) return 1;

  const auto start = std::chrono::steady_clock::now();
  auto store = store::OpenStore(database);
  if (!store) {
    std::fprintf(stderr, "seed_store: %s\n", store.error().detail.c_str());
    return 1;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  if (users > 0) {
    auto hash = auth::HashPassword(password);
    if (!hash) return 1;
    std::vector<store::UserRecord> batch;
    batch.reserve(kBatch);
    int64_t written = 0;
    for (long long i = 0; i < users; ++i) {
      batch.push_back({prefix + std::to_string(i), *hash, now - 86400});
      if (batch.size() == kBatch || i + 1 == users) {
        auto n = (*store)->ImportUsers(batch);
        if (!n) {
          std::fprintf(stderr, "seed_store: users: %s\n", n.error().detail.c_str());
          return 1;
        }
        written += *n;
        batch.clear();
      }
    }
    std::printf("users: %lld new of %lld (%.1f s)\n", static_cast<long long>(written), users,
                SecondsSince(start));
  }

  if (revocations > 0) {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_int_distribution<int64_t> expiry(now + 86400, now + 30 * 86400);
    std::vector<store::Revocation> batch;
    batch.reserve(kBatch);
    int64_t written = 0;
    for (long long i = 0; i < revocations; ++i) {
      batch.push_back({gatehouse::auth::NewUuid(),
                       i % 2 ? store::RevocationKind::kSession : store::RevocationKind::kToken,
                       expiry(rng)});
      if (batch.size() == kBatch || i + 1 == revocations) {
        auto n = (*store)->ImportRevocations(batch);
        if (!n) {
          std::fprintf(stderr, "seed_store: revocations: %s\n", n.error().detail.c_str());
          return 1;
        }
        written += *n;
        batch.clear();
      }
    }
    std::printf("revocations: %lld new of %lld (%.1f s)\n", static_cast<long long>(written),
                revocations, SecondsSince(start));
  }
  return 0;
}
