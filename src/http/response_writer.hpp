// Turns a Response into the bytes of an HTTP/1.1 answer in one buffer, so that a session
// writes it with a single send: on the hot paths (GET /me, /token/refresh) Beast's serializer
// of a header container plus body cost more than the token check.
#pragma once

#include <string>
#include <string_view>

#include "http/request.hpp"

namespace gatehouse::http {

// Replaces `out` with the status line, Content-Type, the response's headers, X-Request-Id
// (when `request_id` is not empty), "Connection: close" when `close`, Content-Length and the
// body (none when `head`: the answer to a HEAD request). A JSON body gets a trailing newline.
// `out` keeps its capacity, so a session that reuses it does not allocate.
// A streamed answer (Response::stream) is sent chunked (RFC 9112 §7.1): `body` as its first
// chunk, the rest as the stream's feeder writes it.
void WriteResponse(const Response& response, std::string_view request_id, bool close, bool head,
                   std::string& out);

// Appends `data` to `out` as one chunk of a chunked body (nothing for empty data, which would
// end the body).
void AppendChunk(std::string& out, std::string_view data);
// The last chunk: the body ends.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace gatehouse::http
