#include "cli/serve.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include "api/routes.hpp"
#include "api/services.hpp"
#include "auth/argon2_fast.hpp"
#include "auth/passwords.hpp"
#include "auth/revocation_sync.hpp"
#include "cli/commands.hpp"
#include "http/server.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/clock.hpp"

namespace gatehouse::cli {
namespace {

// How often the revocation feed is polled: a revocation made elsewhere (the CLI, another
// instance) is honoured here within about this long.
constexpr auto kFeedPollInterval = std::chrono::milliseconds(500);

// API.md §9: another instance's revocation holds here within 1 s.
constexpr int64_t kFollowingBoundMs = 1000;

int StartupFailure(const std::string& line, int exit_status = 1) {
  obs::Error("cannot start", {{"error", line}});
  return exit_status;
}

// A setting or file the operator must fix (a weak secret, a secret file others can read) ends
// the start with status 2, as a bad setting does; anything else (storage, I/O) with 1.
int StartupFailure(const Error& error) {
  return StartupFailure(error.detail, error.code == ErrorCode::kBadRequest ? 2 : 1);
}

// Only SIGTERM and SIGINT end the server (the Server handles them, and SIGHUP). A log reader
// that exits must not kill it (SIGPIPE: writes then fail with EPIPE), nor a stray USR1/USR2.
// SIGHUP is ignored until the server's handler takes it over, so a reload asked during start-up
// is not fatal either.
void IgnoreStraySignals() {
  for (int sig : {SIGPIPE, SIGUSR1, SIGUSR2, SIGHUP}) std::signal(sig, SIG_IGN);
}

// Every connection is a descriptor: raise the soft limit to what limits.max_connections needs
// (plus headroom for the store, the listeners and the log), up to the hard limit.
void RaiseDescriptorLimit(const config::Settings& settings) {
  constexpr rlim_t kHeadroom = 256;
  const rlim_t needed = static_cast<rlim_t>(settings.max_connections) + kHeadroom +
                        static_cast<rlim_t>(settings.threads + settings.database_pool_size);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
  if (raised.rlim_cur > limit.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    limit = raised;
  }
  if (limit.rlim_cur >= needed) return;
  obs::Warn("cannot raise the file descriptor limit to what limits.max_connections needs",
            {{"needed", std::to_string(needed)},
             {"soft_limit", std::to_string(limit.rlim_cur)},
             {"hard_limit", limit.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                                            : std::to_string(limit.rlim_max)}});
}

}  // namespace

int Serve(const config::Settings& settings) {
  IgnoreStraySignals();
  // First: a second gatehouse on a served address stops here, before it touches storage.
  auto listen_claim = http::ListenClaim::Take(settings.listen_host, settings.listen_port);
  if (!listen_claim) return StartupFailure(listen_claim.error());
  RaiseDescriptorLimit(settings);
  if (!auth::InitCrypto()) return StartupFailure("libsodium failed to initialise");
  if (::mkdir(settings.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return StartupFailure("data_dir " + settings.data_dir + ": " + std::strerror(errno));
  }
  std::string new_database;  // logged once the start has succeeded
  auto store = store::OpenStore(settings.database, {settings.database_pool_size},
                                [&new_database](const std::string& path) { new_database = path; });
  if (!store) return StartupFailure(store.error().detail);

  auto keyring = OpenKeyring(settings, **store);
  if (!keyring) return StartupFailure(keyring.error());
  auth::RevocationSet revocations;
  store::UserCache users;  // before revocation_sync, whose thread erases from it
  // SIGHUP (from the server's signal handler) asks the sync thread, which owns reloads, to
  // reload the signing keys at once. Before revocation_sync, whose thread reads it.
  std::atomic<bool> reload_asked{false};
  auth::RevocationSync revocation_sync(
      **store, revocations, UnixNow,
      std::max(settings.access_ttl_seconds, settings.refresh_ttl_seconds));
  if (Status loaded = revocation_sync.LoadAll(); !loaded) {
    return StartupFailure(loaded.error().detail);
  }
  // Other instances write revocations: vouch for a token only while following them (§9).
  if ((*store)->IsShared()) revocations.RequireFollowing(kFollowingBoundMs);
  auth::TokenService tokens(*keyring, TokenPolicyFor(settings), revocations, UnixNow);
  auto sessions_since = (*store)->SessionsRecordedSince();
  if (!sessions_since) return StartupFailure(sessions_since.error().detail);
  tokens.SetSessionsRecordedSince(*sessions_since);
  auth::VerifyAgainstDummy("");  // makes the dummy hash now, not on the first unknown login
  // This thread serves I/O from now on: its 19 MiB argon2id work area would sit unused.
  auth::ReleaseArgon2idWorkArea();
  auth::AbuseLimits limits(settings.login_per_user, settings.login_per_address,
                           settings.registration_per_address, settings.refresh_per_user,
                           settings.revocation_per_user);
  auto deny_list = auth::PasswordDenyList::Load(settings.password_deny_list);
  if (!deny_list) return StartupFailure(deny_list.error().detail);

  // Declared before the pools so that it is destroyed after them: a pool job finishing during
  // shutdown still posts its answer into a live (stopped) io_context.
  std::optional<http::Server> server;
  // argon2id runs below the I/O threads' priority: a login flood then slows logins, not every
  // token check (issue 7: /me keeps its throughput and p99 under a flood).
  constexpr int kHashThreadNice = 10;
  WorkerPool hash_pool("gh-hash", settings.hash_threads,
                       static_cast<std::size_t>(settings.hash_queue), kHashThreadNice);
  // A shared store answers over the network: as many store threads as connections.
  const int store_threads = (*store)->IsShared() ? settings.database_pool_size : 2;
  WorkerPool store_pool("gh-store", static_cast<std::size_t>(store_threads), 4096);
  obs::GlobalMetrics().SetRouteNames(api::Routes::Names());
  hash_pool.SetWaitObserver([](double seconds) { obs::GlobalMetrics().RecordHashWait(seconds); });
  // Each hash thread keeps a 19 MiB argon2id work area while it is busy; after a quiet spell
  // it gives the memory back (the next hash maps it again, once).
  hash_pool.SetIdleHook(std::chrono::seconds(30), [] { auth::ReleaseArgon2idWorkArea(); });
  api::Services services{settings, **store,    tokens,    revocations, users,
                         limits,   *deny_list, hash_pool, store_pool,  **keyring};
  api::Routes routes(services);
  revocation_sync.Start(
      kFeedPollInterval,
      [&users](const std::string& username_key) {
        users.Erase(username_key);  // a removed user's /me must not be served from the cache
      },
      [keyring = *keyring, &reload_asked,
       last_reload = std::chrono::steady_clock::time_point()]() mutable {
        // `gatehouse keys rotate` adds a key file or row; pick it up. At most twice a second,
        // however often revocations wake the sync thread; at once when SIGHUP asked for it.
        const bool asked = reload_asked.exchange(false);
        const auto now = std::chrono::steady_clock::now();
        if (!asked && now - last_reload < kFeedPollInterval) return;
        last_reload = now;
        if (auto reloaded = keyring->Reload(UnixNow()); !reloaded) {
          obs::Warn("reloading signing keys failed", {{"error", reloaded.error().detail}});
        } else if (*reloaded) {
          obs::Info("signing keys reloaded", {{"signing_kid", keyring->SigningKid()}});
        } else if (asked) {
          obs::Info("signing keys unchanged", {{"signing_kid", keyring->SigningKid()}});
        }
      });
  // PostgreSQL: another instance's revocation wakes the sync thread at once (LISTEN/NOTIFY).
  // Declared after revocation_sync so that the signal stops before the sync goes.
  const auto feed_watch =
      (*store)->WatchRevocationFeed([&revocation_sync] { revocation_sync.Wake(); });

  server.emplace(settings, routes);
  if (Status listening = server->Listen(std::move(*listen_claim)); !listening) {
    return StartupFailure(listening.error().detail);
  }
  if (!new_database.empty()) {
    obs::Info("created a new, empty database at " + new_database, {{"path", new_database}});
  }
  server->OnHangup([&reload_asked, &revocation_sync] {
    obs::Info("SIGHUP: reloading signing keys");
    reload_asked = true;
    revocation_sync.Wake();
  });
  const std::string address =
      "http://" + settings.listen_host + ":" + std::to_string(server->port());
  obs::Info("gatehouse listening",
            {{"version", GATEHOUSE_VERSION},
             {"address", address},
             {"store", settings.database.substr(0, settings.database.find("://"))},
             {"algorithm", settings.jwt_algorithm},
             {"io_threads", std::to_string(settings.threads)},
             {"hash_threads", std::to_string(settings.hash_threads)},
             {"revocations_loaded", std::to_string(revocations.Size())},
             {"revocation_signal", feed_watch ? "listen/notify" : "polling"}});
  server->Run();
  obs::Info("stopped");
  return 0;
}

}  // namespace gatehouse::cli
