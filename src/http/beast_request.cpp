#include "http/beast_request.hpp"

#include "http/client_address.hpp"

namespace gatehouse::http {
namespace {

namespace bhttp = boost::beast::http;

Method ToMethod(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

}  // namespace

void ConfigureParser(BeastParser& parser, const config::Settings& settings) {
  parser.header_limit(static_cast<std::uint32_t>(settings.header_bytes));
  parser.body_limit(settings.body_bytes);
}

void FillRequest(const BeastRequest& message, std::string_view peer,
                 const config::Settings& settings, Request& out) {
  out.method = ToMethod(message.method());
  const std::string_view target = message.target();
  out.path = target.substr(0, target.find('?'));
  out.authorization = message[bhttp::field::authorization];
  out.content_type = message[bhttp::field::content_type];
  out.body = message.body();
  out.client_address = ClientAddress(peer, message["X-Forwarded-For"], settings.trusted_proxies);
}

}  // namespace gatehouse::http
