// The bridge from a parsed Beast message to the Request value the handlers see, shared by the
// session and the HTTP fuzz target so that both exercise the same path.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>
#include <utility>  // before Asio/Beast: Boost 1.74 under GCC 12 needs std::exchange declared

#include "config/settings.hpp"
#include "http/request.hpp"

namespace gatehouse::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A fresh parser with the configured header and body limits.
void ConfigureParser(BeastParser& parser, const config::Settings& settings);

// Fills `out` with views into `message` (valid while it lives) and the client address.
void FillRequest(const BeastRequest& message, std::string_view peer,
                 const config::Settings& settings, Request& out);

}  // namespace gatehouse::http
