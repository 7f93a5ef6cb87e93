#include "cli/serve.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include "api/revocation_streams.hpp"
#include "api/routes.hpp"
#include "api/services.hpp"
#include "auth/accounts.hpp"
#include "auth/argon2_fast.hpp"
#include "auth/passwords.hpp"
#include "auth/revocation_sync.hpp"
#include "auth/secret_file.hpp"
#include "cli/commands.hpp"
#include "http/server.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"
#include "util/clock.hpp"
#include "webhooks/deliverer.hpp"

namespace gatehouse::cli {
namespace {

// How often the revocation feed is polled: a revocation made elsewhere (the CLI, another
// instance) is honoured here within about this long.
constexpr auto kFeedPollInterval = std::chrono::milliseconds(500);

// API.md §9: another instance's revocation holds here within 1 s.
constexpr int64_t kFollowingBoundMs = 1000;

// Logs why the start failed; returns the exit status (cli/commands.hpp's ExitStatus).
int StartupFailure(const StartupError& error) {
  obs::Error("cannot start", {{"error", error.detail}});
  return ExitStatus(error);
}

// Only SIGTERM and SIGINT end the server (the Server handles them, and SIGHUP). A log reader
// that exits must not kill it (SIGPIPE: writes then fail with EPIPE), nor a stray USR1/USR2.
// SIGHUP is ignored until the server's handler takes it over, so a reload asked during start-up
// is not fatal either. The other signals whose default is to end the process (timers, I/O
// readiness, power, resource limits: a file over RLIMIT_FSIZE then fails with EFBIG) are
// ignored too (API.md §8).
void IgnoreStraySignals() {
  for (int sig : {SIGPIPE, SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
                  SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGTRAP}) {
    std::signal(sig, SIG_IGN);
  }
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

// Initialises libsodium, creates data_dir (0700) and opens the store; `new_database` is set
// to the path of a SQLite file created by this open.
StartupResult<std::unique_ptr<store::Store>> OpenDataStore(const config::Settings& settings,
                                                           std::string& new_database) {
  if (!auth::InitCrypto()) {
    return StartupError{StartupErrorCode::kEnvironment, "libsodium failed to initialise"};
  }
  if (::mkdir(settings.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return StartupError{StartupErrorCode::kEnvironment,
                        "data_dir " + settings.data_dir + ": " + std::strerror(errno)};
  }
  // data_dir holds the generated secret, the keys and the SQLite database: a user who can write
  // to it could replace any of them, so the start refuses, as ssh refuses such a home directory.
  if (StartupStatus private_dir = auth::CheckPrivateDir(settings.data_dir, "data_dir secrets");
      !private_dir) {
    return private_dir.error();
  }
  auto store = store::OpenStore(settings.database, {settings.database_pool_size},
                                [&new_database](const std::string& path) { new_database = path; });
  if (!store) return EnvironmentError(store.error());
  return std::move(*store);
}

// How long a token may live: a user-wide revocation refuses tokens for at most this long.
int64_t MaxTokenLifetime(const config::Settings& settings) {
  return std::max(settings.access_ttl_seconds, settings.refresh_ttl_seconds);
}

// One serving instance. Its parts are members declared in the order that makes teardown safe
// (members go in reverse order); what only serving needs (the worker pools, the handlers'
// services, the feed signal) lives in Run, and so goes before all of them.
class Instance {
 public:
  Instance(const config::Settings& settings, store::Store& store,
           std::shared_ptr<auth::Keyring> keyring);

  // Reads what the first request needs: revocations, session times, the password deny list.
  StartupStatus Load();
  // Serves on `claim` until SIGTERM/SIGINT, then drains; returns the exit status.
  int Run(http::ListenClaim claim, const std::string& new_database);

 private:
  void StartRevocationSync();
  void KeepSessions();
  // The route table behind the HTTP server, and the route names its metrics use.
  void WireRouter(api::Routes& routes);
  // `feed_signal`: what wakes the revocation sync besides its poll (FeedWatch::Source).
  void LogListening(const char* feed_signal) const;

  const config::Settings& settings_;
  store::Store& store_;
  std::shared_ptr<auth::Keyring> keyring_;
  auth::RevocationSet revocations_;
  store::UserCache users_;  // before revocation_sync_, whose thread erases from it
  // SIGHUP (from the server's signal handler) asks the sync thread, which owns reloads, to
  // reload the signing keys at once. Before revocation_sync_, whose thread reads it.
  std::atomic<bool> reload_asked_{false};
  int64_t last_session_upkeep_ = 0;  // the second KeepSessions last ran (sync thread only)
  // GET /revocations's event streams, when revocations.secret is set. Before revocation_sync_,
  // whose thread publishes to them.
  std::optional<api::RevocationStreams> streams_;
  auth::RevocationSync revocation_sync_;
  auth::TokenService tokens_;
  auth::AbuseLimits limits_;
  std::optional<auth::PasswordDenyList> deny_list_;
  // Destroyed after Run's worker pools: a pool job finishing during shutdown still posts its
  // answer into a live (stopped) io_context.
  std::optional<http::Server> server_;
};

Instance::Instance(const config::Settings& settings, store::Store& store,
                   std::shared_ptr<auth::Keyring> keyring)
    : settings_(settings),
      store_(store),
      keyring_(std::move(keyring)),
      revocation_sync_(store, revocations_, UnixNow, MaxTokenLifetime(settings)),
      tokens_(keyring_, TokenPolicyFor(settings), revocations_, UnixNow),
      limits_(settings.login_per_user, settings.login_per_address,
              settings.registration_per_address, settings.refresh_per_user,
              settings.revocation_per_user) {}

StartupStatus Instance::Load() {
  if (Status loaded = revocation_sync_.LoadAll(); !loaded) return EnvironmentError(loaded.error());
  // Other instances write revocations: vouch for a token only while following them (§9).
  if (store_.IsShared()) revocations_.RequireFollowing(kFollowingBoundMs);
  auto sessions_since = store_.SessionsRecordedSince();
  if (!sessions_since) return EnvironmentError(sessions_since.error());
  tokens_.SetSessionsRecordedSince(*sessions_since);
  auth::VerifyAgainstDummy("");  // makes the dummy hash now, not on the first unknown login
  // This thread serves I/O from now on: its 19 MiB argon2id work area would sit unused.
  auth::ReleaseArgon2idWorkArea();
  auto deny_list = auth::PasswordDenyList::Load(settings_.password_deny_list);
  if (!deny_list) return EnvironmentError(deny_list.error());
  deny_list_ = std::move(*deny_list);
  return Ok{};
}

int Instance::Run(http::ListenClaim claim, const std::string& new_database) {
  // argon2id runs below the I/O threads' priority: a login flood then slows logins, not every
  // token check (issue 7: /me keeps its throughput and p99 under a flood).
  constexpr int kHashThreadNice = 10;
  WorkerPool hash_pool("gh-hash", settings_.hash_threads,
                       static_cast<std::size_t>(settings_.hash_queue), kHashThreadNice);
  // A shared store answers over the network: as many store threads as connections.
  const int store_threads = store_.IsShared() ? settings_.database_pool_size : 2;
  WorkerPool store_pool("gh-store", static_cast<std::size_t>(store_threads), 4096);
  // GET /revocations streams read their backlog here, a page per turn (api/services.hpp).
  WorkerPool stream_pool("gh-streams", 2, 4096);
  hash_pool.SetWaitObserver([](double seconds) { obs::GlobalMetrics().RecordHashWait(seconds); });
  // Each hash thread keeps a 19 MiB argon2id work area while it is busy; after a quiet spell
  // it gives the memory back (the next hash maps it again, once).
  hash_pool.SetIdleHook(std::chrono::seconds(30), [] { auth::ReleaseArgon2idWorkArea(); });
  // GET /revocations's event streams follow what the sync thread applies (hooked before it
  // starts; streams_ outlives its thread).
  if (!settings_.revocations_secret.empty()) {
    streams_.emplace(settings_.revocations_max_streams, MaxTokenLifetime(settings_));
    revocation_sync_.OnApplied(
        [this](const store::RevocationEvent& event) { streams_->Publish(event); });
  }
  api::Services services{settings_,  store_,      tokens_,     revocations_,
                         users_,     limits_,     *deny_list_, hash_pool,
                         store_pool, stream_pool, *keyring_,   streams_ ? &*streams_ : nullptr};
  StartRevocationSync();
  // A revocation wakes the sync thread at once, so that it reaches the event streams without
  // waiting for the poll: PostgreSQL, any instance's (LISTEN/NOTIFY); SQLite, each commit that
  // appended to the feed. Here, so that the signal stops before the sync (a member) goes.
  const auto feed_watch = store_.WatchRevocationFeed([this] { revocation_sync_.Wake(); });

  // Webhooks (API.md §12) on threads of their own; stopped when Run returns.
  auto deliverer = webhooks::Deliverer::Start(settings_, store_);
  if (!deliverer) return StartupFailure(deliverer.error());

  api::Routes routes(services);
  WireRouter(routes);
  if (Status listening = server_->Listen(std::move(claim)); !listening) {
    return StartupFailure(EnvironmentError(listening.error()));
  }
  if (!new_database.empty()) {
    obs::Info("created a new, empty database at " + new_database, {{"path", new_database}});
  }
  // SIGTERM ends every event stream at once: the drain does not wait for them.
  if (streams_) server_->OnDrain([this] { streams_->EndAll(); });
  server_->OnHangup([this] {
    obs::Info("SIGHUP: reloading signing keys");
    reload_asked_ = true;
    revocation_sync_.Wake();
  });
  LogListening(feed_watch ? feed_watch->Source() : "polling");
  server_->Run();
  obs::Info("stopped");
  return 0;
}

void Instance::StartRevocationSync() {
  revocation_sync_.Start(
      kFeedPollInterval,
      [this](const std::string& username_key) {
        users_.Erase(username_key);  // a removed user's /me must not be served from the cache
      },
      [this, last_reload = std::chrono::steady_clock::time_point()]() mutable {
        KeepSessions();
        // `gatehouse keys rotate` adds a key file or row; pick it up. At most twice a second,
        // however often revocations wake the sync thread; at once when SIGHUP asked for it.
        const bool asked = reload_asked_.exchange(false);
        const auto now = std::chrono::steady_clock::now();
        if (!asked && now - last_reload < kFeedPollInterval) return;
        last_reload = now;
        if (auto reloaded = keyring_->Reload(UnixNow()); !reloaded) {
          obs::Warn("reloading signing keys failed", {{"error", reloaded.error().detail}});
        } else if (*reloaded) {
          obs::Info("signing keys reloaded", {{"signing_kid", keyring_->SigningKid()}});
        } else if (asked) {
          obs::Info("signing keys unchanged", {{"signing_kid", keyring_->SigningKid()}});
        }
      });
}

// On the sync thread after each poll: ends idle sessions (session.idle_timeout) about once a
// second, revoking their sids as a logout would (on every instance through the feed, here at
// once), drops used refresh tokens whose reuse interval is long past and account events past
// events.retention.
// The idle sweep compares whole seconds on purpose: last_used_at is stored in whole seconds
// (rounded down), and a session last used at u ends at the first sweep of a second s with
// floor(u) < s - timeout, so never before u + timeout, and at most 1 s (the rounding) plus one
// wake of this thread (kFeedPollInterval) after it. docs/api.md states that bound.
void Instance::KeepSessions() {
  const int64_t now = UnixNow();
  if (now == last_session_upkeep_) return;
  last_session_upkeep_ = now;
  if (settings_.session_idle_timeout > 0) {
    auto ended = store_.EndIdleSessions(now - settings_.session_idle_timeout);
    if (!ended) {
      obs::Warn("ending idle sessions failed", {{"error", ended.error().detail}});
    } else {
      auth::Accounts accounts(store_, {}, auth::LiveTokens{tokens_, revocations_, users_});
      for (const store::Revocation& session : *ended) accounts.SessionEnded(session);
    }
  }
  if (now % 60 == 0) {
    if (auto pruned = store_.PruneRefreshUses(now - settings_.refresh_reuse_interval - 60);
        !pruned) {
      obs::Warn("pruning used refresh tokens failed", {{"error", pruned.error().detail}});
    }
    if (auto pruned = store_.PruneEvents((now - settings_.events_retention) * 1000); !pruned) {
      obs::Warn("pruning account events failed", {{"error", pruned.error().detail}});
    }
  }
}

void Instance::WireRouter(api::Routes& routes) {
  obs::GlobalMetrics().SetRouteNames(api::Routes::Names());
  server_.emplace(settings_, routes);
}

void Instance::LogListening(const char* feed_signal) const {
  const std::string address =
      "http://" + settings_.listen_host + ":" + std::to_string(server_->port());
  obs::Info("gatehouse listening",
            {{"version", GATEHOUSE_VERSION},
             {"address", address},
             {"store", settings_.database.substr(0, settings_.database.find("://"))},
             {"algorithm", std::string(AlgorithmName(settings_.jwt_algorithm))},
             {"io_threads", std::to_string(settings_.threads)},
             {"hash_threads", std::to_string(settings_.hash_threads)},
             {"revocations_loaded", std::to_string(revocations_.Size())},
             {"revocation_signal", feed_signal}});
}

}  // namespace

int Serve(const config::Settings& settings) {
  IgnoreStraySignals();
  // First: a second gatehouse on a served address stops here, before it touches storage.
  auto listen_claim = http::ListenClaim::Take(settings.listen_host, settings.listen_port);
  if (!listen_claim) return StartupFailure(listen_claim.error());
  RaiseDescriptorLimit(settings);
  std::string new_database;  // logged once the start has succeeded
  auto store = OpenDataStore(settings, new_database);
  if (!store) return StartupFailure(store.error());
  config::Settings remembered = settings;  // jwt.algorithm as kept with the keys
  if (StartupStatus kept = RememberAlgorithm(remembered, **store); !kept) {
    return StartupFailure(kept.error());
  }
  auto keyring = OpenKeyring(remembered, **store);
  if (!keyring) return StartupFailure(keyring.error());
  Instance instance(remembered, **store, *keyring);
  if (StartupStatus loaded = instance.Load(); !loaded) return StartupFailure(loaded.error());
  return instance.Run(std::move(*listen_claim), new_database);
}

}  // namespace gatehouse::cli
