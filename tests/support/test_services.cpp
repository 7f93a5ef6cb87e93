#include "support/test_services.hpp"

#include <unistd.h>

#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>

#include "auth/passwords.hpp"

namespace gatehouse::testing {
namespace {

std::filesystem::path FreshDirectory() {
  static std::atomic<int> counter{0};
  auto directory =
      std::filesystem::temp_directory_path() / ("gatehouse-services-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

// A fixture that cannot build its services cannot test anything: stop at once, loudly.
template <typename T, typename E>
T Must(Result<T, E> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "test services: %s: %s\n", what, result.error().detail.c_str());
    std::abort();
  }
  return std::move(*result);
}

}  // namespace

TestServices::TestServices(Options options) : directory_(FreshDirectory()) {
  auth::InitCrypto();
  store_ = Must(store::OpenStore("sqlite://" + (directory_ / "test.db").string()), "store");
  auth::KeyringOptions keys;
  keys.hmac_secret = kTestSecret;
  keyring_ = Must(auth::Keyring::Open(std::move(keys), Now()), "keyring");
  tokens_ = std::make_unique<auth::TokenService>(keyring_, auth::TokenLifetimes{}, revocations_,
                                                 [this] { return now_.load(); });
  hash_pool_ = std::make_unique<WorkerPool>("test-hash", 1, options.hash_queue);
  store_pool_ = std::make_unique<WorkerPool>("test-store", 1, 64);
  stream_pool_ = std::make_unique<WorkerPool>("test-streams", 1, 64);
  services_ = std::make_unique<api::Services>(
      api::Services{settings_, *store_, *tokens_, revocations_, users_, limits_, deny_list_,
                    *hash_pool_, *store_pool_, *stream_pool_, *keyring_});
  routes_ = std::make_unique<api::Routes>(*services_);
}

TestServices::~TestServices() {
  routes_.reset();
  services_.reset();
  stream_pool_.reset();  // runs what is queued, then joins: before the store goes
  store_pool_.reset();
  hash_pool_.reset();
  tokens_.reset();
  store_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

http::Response TestServices::Call(const http::Request& request) {
  std::promise<http::Response> answer;
  auto answered = answer.get_future();
  routes_->Serve(routes_->Route(request), request,
                 [&answer](http::Response response) { answer.set_value(std::move(response)); });
  return answered.get();
}

http::Response TestServices::Get(std::string_view path, std::string_view authorization) {
  http::Request request;
  request.method = http::Method::kGet;
  request.path = path;
  request.authorization = authorization;
  request.client_address = "127.0.0.1";
  return Call(request);
}

http::Response TestServices::Post(std::string_view path, std::string_view body,
                                  std::string_view authorization) {
  http::Request request;
  request.method = http::Method::kPost;
  request.path = path;
  request.authorization = authorization;
  request.content_type = "application/json";
  request.body = body;
  request.client_address = "127.0.0.1";
  return Call(request);
}

std::string JsonField(std::string_view body, std::string_view field) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return {};
  const auto found = json.find(field);
  return found != json.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace gatehouse::testing
