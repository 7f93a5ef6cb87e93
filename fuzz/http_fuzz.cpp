// Whole HTTP requests (possibly several, pipelined) through the same parser configuration,
// request bridge and router that a connection uses, against a real SQLite store. Password
// hashing is refused (a hash pool that takes no jobs answers 503) so that each run stays fast;
// everything before and after the hash is exercised.
#include <unistd.h>

#include <boost/beast/core/buffers_prefix.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <string>

#include "api/services.hpp"
#include "auth/passwords.hpp"
#include "http/request_parser.hpp"
#include "http/router.hpp"

namespace {

using namespace gatehouse;

constexpr std::string_view kSecret = "fuzzing-secret-0123456789abcdefghijkl";

struct World {
  config::Settings settings;
  std::unique_ptr<store::Store> store;
  auth::RevocationSet revocations;
  std::shared_ptr<auth::Keyring> keyring =
      auth::Keyring::Open({auth::Algorithm::kHS256, std::string(kSecret), {}, {}, 0}, 0).value();
  auth::TokenService tokens{keyring, {}, revocations, [] { return int64_t{1700000000}; }};
  store::UserCache users;
  auth::AbuseLimits limits{{}, {}, {}, {}, {}};
  auth::PasswordDenyList deny_list;
  WorkerPool hash_pool{"fuzz-hash", 1, 0};
  WorkerPool store_pool{"fuzz-store", 1, 64};
  std::unique_ptr<api::Services> services;

  World() {
    auth::InitCrypto();
    const auto dir =
        std::filesystem::temp_directory_path() / ("gatehouse-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto opened = store::OpenStore("sqlite://" + (dir / "fuzz.db").string());
    if (!opened) std::abort();
    store = std::move(*opened);
    services = std::make_unique<api::Services>(api::Services{settings, *store, tokens, revocations,
                                                             users, limits, deny_list, hash_pool,
                                                             store_pool, *keyring});
  }
};

void CheckResponse(const http::Response& response) {
  if (response.status < 200 || response.status > 599) __builtin_trap();
  // Every answer but /metrics (Prometheus text) is JSON, whatever the request was.
  const bool json = response.content_type.rfind("application/json", 0) == 0;
  if (json != nlohmann::json::accept(response.body) && json) __builtin_trap();
  if (!json && response.content_type.rfind("text/plain; version=0.0.4", 0) != 0) __builtin_trap();
}

// The parser's own promises, whatever the input: a head it accepted is within the header limit,
// and a refusal carries a status from the documented set.
void CheckParser(const http::RequestParser& parser, const config::Settings& settings) {
  if (parser.is_header_done() && parser.head_bytes() > settings.header_bytes) __builtin_trap();
}

void CheckRejection(const http::Rejection& rejection) {
  switch (rejection.status) {
    case 400:
    case 413:
    case 417:
    case 431:
    case 501:
      if (rejection.message.empty()) __builtin_trap();
      return;
    default:
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  static http::ParsedRequest storage;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // At most a few pipelined requests per input, as a connection would read them. The first
  // byte picks eager parsing or not, so both of Beast's paths through the callbacks are run.
  const bool eager = !input.empty() && (input.front() & 1);
  for (int request_index = 0; request_index < 4 && !input.empty(); ++request_index) {
    http::RequestParser parser(storage, world.settings.header_bytes, world.settings.body_bytes);
    parser.eager(eager);
    boost::beast::error_code ec;
    // Fed as a connection feeds it: whatever was consumed is dropped, the rest offered again.
    while (!input.empty() && !parser.is_done()) {
      const std::size_t used = parser.Put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      CheckParser(parser, world.settings);
      if (ec == boost::beast::http::error::need_more) return 0;
      if (ec) return CheckRejection(parser.RejectionFor(ec)), 0;
      if (used == 0) return 0;
    }
    if (!parser.is_done()) return 0;
    http::Request request;
    parser.Fill("127.0.0.1", world.settings, request);
    std::promise<http::Response> answer;
    auto answered = answer.get_future();
    http::Route(request, *world.services,
                [&answer](http::Response response) { answer.set_value(std::move(response)); });
    CheckResponse(answered.get());
  }
  return 0;
}
