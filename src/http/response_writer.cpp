#include "http/response_writer.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace gatehouse::http {
namespace {

void AppendNumber(std::string& out, std::size_t number) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
  out.append(digits, end);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// Flask's jsonify ends every JSON answer with a newline, so `curl` output does not run into
// the prompt; clients that parse JSON ignore it.
bool NeedsNewline(const Response& response) {
  return response.content_type.starts_with("application/json") && !response.body.empty() &&
         response.body.back() != '\n';
}

}  // namespace

void WriteResponse(const Response& response, std::string_view request_id, bool close, bool head,
                   std::string& out) {
  const bool newline = NeedsNewline(response);
  out.clear();
  out.append("HTTP/1.1 ");
  AppendNumber(out, response.status);
  out.push_back(' ');
  out.append(boost::beast::http::obsolete_reason(
      static_cast<boost::beast::http::status>(response.status)));
  out.append("\r\n");
  // A 204 (a CORS preflight's answer) has no body, so no Content-Type.
  if (!response.content_type.empty()) AppendHeader(out, "Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) AppendHeader(out, name, value);
  if (response.no_store) out.append("Cache-Control: no-store\r\nPragma: no-cache\r\n");
  if (!request_id.empty()) AppendHeader(out, "X-Request-Id", request_id);
  if (close) AppendHeader(out, "Connection", "close");
  // RFC 9110 §8.6: no Content-Length on a 204; a stream's length is not known.
  if (response.stream) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (response.status != 204) {
    out.append("Content-Length: ");
    AppendNumber(out, response.body.size() + (newline ? 1 : 0));
    out.append("\r\n");
  }
  out.append("\r\n");
  // RFC 9110 §9.3.2: HEAD gets GET's headers, Content-Length included, and no body.
  if (head) return;
  if (response.stream) return AppendChunk(out, response.body);
  out.append(response.body);
  if (newline) out.push_back('\n');
}

void AppendChunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, data.size(), 16).ptr;
  out.append(digits, end).append("\r\n").append(data).append("\r\n");
}

}  // namespace gatehouse::http
