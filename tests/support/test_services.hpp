// The handler services of a server, without a socket: a fresh SQLite store in its own
// temporary directory, HS256 with a fixed secret, and a clock the test sets. Requests go
// through the route table exactly as a connection hands them over (api::Routes), so a rule is
// tested at the level of its answer. Shared by the unit tests and the HTTP fuzzer.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "api/routes.hpp"
#include "api/services.hpp"
#include "auth/keyring.hpp"

namespace gatehouse::testing {

inline constexpr std::string_view kTestSecret = "test-secret-0123456789abcdefghijklmn";
inline constexpr int64_t kTestStart = 1700000000;

class TestServices {
 public:
  struct Options {
    // 0: the hash pool refuses every job, so registration and login answer 503 at once (the
    // fuzzer's choice: each run stays fast, everything before the hash still runs).
    std::size_t hash_queue = 16;
  };

  TestServices() : TestServices(Options{}) {}
  explicit TestServices(Options options);
  ~TestServices();
  TestServices(const TestServices&) = delete;
  TestServices& operator=(const TestServices&) = delete;

  api::Services& services() { return *services_; }
  api::Routes& routes() { return *routes_; }
  config::Settings& settings() { return settings_; }
  store::Store& store() { return *store_; }
  auth::TokenService& tokens() { return *tokens_; }
  auth::RevocationSet& revocations() { return revocations_; }

  // The unix time the token service sees (kTestStart until set).
  void SetNow(int64_t now) { now_.store(now); }
  int64_t Now() const { return now_.load(); }

  // Routes `request` as a session does (Route, then Serve) and waits for the answer, also one
  // given later by a pool job.
  http::Response Call(const http::Request& request);
  // Shortcuts: `authorization` is the whole header value; `body` is JSON.
  http::Response Get(std::string_view path, std::string_view authorization = {});
  http::Response Post(std::string_view path, std::string_view body,
                      std::string_view authorization = {});

 private:
  std::filesystem::path directory_;
  std::atomic<int64_t> now_{kTestStart};
  config::Settings settings_;
  std::unique_ptr<store::Store> store_;
  auth::RevocationSet revocations_;
  std::shared_ptr<auth::Keyring> keyring_;
  std::unique_ptr<auth::TokenService> tokens_;
  store::UserCache users_;
  auth::AbuseLimits limits_{{}, {}, {}, {}, {}};
  auth::PasswordDenyList deny_list_;
  std::unique_ptr<WorkerPool> hash_pool_;
  std::unique_ptr<WorkerPool> store_pool_;
  std::unique_ptr<WorkerPool> stream_pool_;
  std::unique_ptr<api::Services> services_;
  std::unique_ptr<api::Routes> routes_;
};

// The value of "<field>" in a JSON object body, or "" (tests read tokens and messages).
std::string JsonField(std::string_view body, std::string_view field);

}  // namespace gatehouse::testing
