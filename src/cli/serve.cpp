#include "cli/serve.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <thread>

#include "api/services.hpp"
#include "auth/passwords.hpp"
#include "auth/secret_file.hpp"
#include "http/server.hpp"

namespace gatehouse::cli {
namespace {

constexpr auto kPruneInterval = std::chrono::minutes(5);

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int StartupFailure(const std::string& line) {
  spdlog::error("cannot start: {}", line);
  return 1;
}

Status LoadRevocations(store::Store& store, auth::RevocationSet& revocations) {
  auto tokens = store.LoadRevocations(UnixNow());
  if (!tokens) return tokens.error();
  for (const auto& revocation : *tokens) revocations.Revoke(revocation.id, revocation.expires_at);
  auto users = store.LoadUserRevocations();
  if (!users) return users.error();
  for (const auto& user : *users) revocations.RevokeUserBefore(user.username_key, user.revoked_before);
  return Ok{};
}

// Forgets expired revocations, in memory and in the store, every few minutes until stopped.
class Pruner {
 public:
  Pruner(store::Store& store, auth::RevocationSet& revocations)
      : thread_([this, &store, &revocations] { Run(store, revocations); }) {}
  ~Pruner() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run(store::Store& store, auth::RevocationSet& revocations) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kPruneInterval, [this] { return stopping_; })) {
      const int64_t now = UnixNow();
      revocations.Prune(now);
      if (auto pruned = store.PruneRevocations(now); !pruned) {
        spdlog::warn("pruning revocations failed: {}", pruned.error().detail);
      }
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int Serve(const config::Settings& settings) {
  if (!auth::InitCrypto()) return StartupFailure("libsodium failed to initialise");
  if (::mkdir(settings.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return StartupFailure("data_dir " + settings.data_dir + ": " + std::strerror(errno));
  }
  auto store = store::OpenStore(settings.database);
  if (!store) return StartupFailure(store.error().detail);

  std::string secret = settings.jwt_secret;
  if (secret.empty()) {
    auto generated = auth::LoadOrCreateSecret(settings.data_dir);
    if (!generated) return StartupFailure(generated.error().detail);
    secret = std::move(*generated);
  }
  auth::RevocationSet revocations;
  if (Status loaded = LoadRevocations(**store, revocations); !loaded) {
    return StartupFailure(loaded.error().detail);
  }
  auth::TokenService tokens(secret, {settings.access_ttl_seconds, settings.refresh_ttl_seconds},
                            revocations, UnixNow);
  auth::Wipe(secret);
  auth::VerifyAgainstDummy("");  // makes the dummy hash now, not on the first unknown login
  store::UserCache users;
  auth::AbuseLimits limits(settings.login_per_user, settings.login_per_address,
                           settings.registration_per_address);
  auto deny_list = auth::PasswordDenyList::Load(settings.password_deny_list);
  if (!deny_list) return StartupFailure(deny_list.error().detail);

  // Declared before the pools so that it is destroyed after them: a pool job finishing during
  // shutdown still posts its answer into a live (stopped) io_context.
  std::optional<http::Server> server;
  WorkerPool hash_pool("gh-hash", settings.hash_threads,
                       static_cast<std::size_t>(settings.hash_queue));
  WorkerPool store_pool("gh-store", 2, 4096);
  api::Services services{settings,   **store,    tokens,    revocations, users,
                         limits,     *deny_list, hash_pool, store_pool};
  Pruner pruner(**store, revocations);

  server.emplace(settings, services);
  if (Status listening = server->Listen(); !listening) {
    return StartupFailure(listening.error().detail);
  }
  spdlog::info("gatehouse {} listening on http://{}:{} (store {}, algorithm HS256, {} I/O threads, "
               "{} hash threads, {} revocations loaded)",
               GATEHOUSE_VERSION, settings.listen_host, server->port(),
               settings.database.substr(0, settings.database.find("://")), settings.threads,
               settings.hash_threads, revocations.Size());
  server->Run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace gatehouse::cli
