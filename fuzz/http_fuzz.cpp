// Whole HTTP requests (possibly several, pipelined) through the same parser configuration,
// request bridge and route table that a connection uses, against a real SQLite store. Password
// hashing is refused (a hash pool that takes no jobs answers 503) so that each run stays fast;
// everything before and after the hash is exercised.
#include <boost/beast/core/buffers_prefix.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "http/request_parser.hpp"
#include "support/test_services.hpp"

namespace {

using namespace gatehouse;

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
  static testing::TestServices world(testing::TestServices::Options{.hash_queue = 0});
  static http::ParsedRequest storage;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // At most a few pipelined requests per input, as a connection would read them. The first
  // byte picks eager parsing or not, so both of Beast's paths through the callbacks are run.
  const bool eager = !input.empty() && (input.front() & 1);
  for (int request_index = 0; request_index < 4 && !input.empty(); ++request_index) {
    http::RequestParser parser(storage, world.settings().header_bytes, world.settings().body_bytes);
    parser.eager(eager);
    boost::beast::error_code ec;
    // Fed as a connection feeds it: whatever was consumed is dropped, the rest offered again.
    while (!input.empty() && !parser.is_done()) {
      const std::size_t used = parser.Put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      CheckParser(parser, world.settings());
      if (ec == boost::beast::http::error::need_more) return 0;
      if (ec) return CheckRejection(parser.RejectionFor(ec)), 0;
      if (used == 0) return 0;
    }
    if (!parser.is_done()) return 0;
    http::Request request;
    parser.Fill("127.0.0.1", world.settings(), request);
    CheckResponse(world.Call(request));
  }
  return 0;
}
