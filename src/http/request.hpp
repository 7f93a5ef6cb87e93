// Request and Response: plain values the handlers see. No sockets, no Beast types, so a test
// can build them by hand.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/stream.hpp"

namespace gatehouse::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// Views into the connection's buffers: valid until the response to this request is sent.
// A handler that finishes later (on a worker pool) copies what it needs first.
struct Request {
  Method method = Method::kGet;
  std::string_view path;              // without the query string
  std::string_view query;             // after the '?', still percent-encoded; empty if none
  std::string_view authorization;     // the Authorization header, empty if absent
  std::string_view content_type;      // the Content-Type header, empty if absent
  std::string_view cookie;            // the Cookie header, empty if absent
  std::string_view origin;            // the Origin header (CORS), empty if absent
  std::string_view csrf_token;        // the X-CSRF-TOKEN header, empty if absent
  std::string_view preflight_method;  // Access-Control-Request-Method, empty if absent
  std::string_view body;
  std::string_view user_agent;     // the User-Agent header, empty if absent
  std::string_view accept;         // the Accept header (first), empty if absent
  std::string_view last_event_id;  // Last-Event-ID (Server-Sent Events resume), empty if absent
  std::string client_address;      // the peer, or the client behind a trusted proxy
  int version = 11;                // the HTTP version, major * 10 + minor: 10 or 11
};

struct Response {
  unsigned status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string_view content_type = "application/json; charset=utf-8";  // a literal
  std::vector<std::pair<std::string, std::string>> headers;
  // An answer carrying a token, or about one: Cache-Control: no-store and Pragma: no-cache
  // (RFC 6749 §5.1, RFC 7662 §4), written from a literal rather than two allocated headers.
  bool no_store = false;
  bool close = false;  // close the connection after sending
  // Set: the body goes on after `body` as the stream's feeder writes it (http/stream.hpp); no
  // Content-Length, and the connection closes at the stream's end.
  StreamStart stream;
};

// {"message": "<text>"} with the given status.
Response MessageResponse(unsigned status, std::string_view message);

}  // namespace gatehouse::http
