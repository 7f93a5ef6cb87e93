// The HTTP/1.1 request parser of a connection: Beast's basic_parser does the tokenizing; this
// class keeps only what gatehouse reads (method, target, the header values of Request, the body)
// and enforces API.md §8's framing rules on the way, so that no request can crash the process,
// desynchronise the connection or make it buffer without bound.
#pragma once

#include <array>
#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>  // before Asio/Beast: Boost 1.74 under GCC 12 needs std::exchange declared

#include "config/settings.hpp"
#include "http/request.hpp"

namespace gatehouse::http {

// A chunk-size line (size and extensions, without its CRLF) longer than this is refused.
inline constexpr std::size_t kMaxChunkLineBytes = 4096;

// What a connection keeps from one request to the next, so that parsing reuses its capacity
// instead of allocating per request.
struct ParsedRequest {
  std::string text;  // the target and the kept header values, back to back
  std::string body;
};

// The answer to a request the parser refused; the connection is closed after it.
struct Rejection {
  unsigned status = 400;
  std::string_view message;  // a literal
};

class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  // `storage` is cleared and then filled; it must outlive the parser.
  RequestParser(ParsedRequest& storage, std::size_t header_bytes, std::size_t body_bytes);

  // basic_parser::put, plus a bound on what may wait unconsumed in `input`: a chunk-size line
  // or trailer section that cannot fit fails at once instead of being buffered ever longer.
  std::size_t Put(boost::asio::const_buffer input, boost::beast::error_code& ec);

  // The answer for an error Put returned.
  Rejection RejectionFor(boost::beast::error_code ec) const;

  // After the header: the client waits for "100 Continue" before sending its body.
  bool expects_continue() const { return expect_continue_ && version_ >= 11; }

  // Bytes of the head as sent: request line, field lines and the empty line, CRLFs included.
  std::size_t head_bytes() const { return head_bytes_; }

  // The Origin field, once parsed (empty before it, or if absent): the CORS headers of a
  // refusal made before the request is whole.
  std::string_view origin() const { return KeptValue(kOrigin); }

  // After is_done(): fills `out` with views into the storage (valid until the next request).
  void Fill(std::string_view peer, const config::Settings& settings, Request& out) const;

 private:
  enum Kept {
    kTarget,
    kHost,
    kContentType,
    kAuthorization,
    kForwardedFor,
    kUserAgent,
    kCookie,
    kOrigin,
    kCsrfToken,
    kPreflightMethod,
    kAccept,
    kLastEventId,
    kKeptCount
  };
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };

  void on_request_impl(boost::beast::http::verb method, std::string_view method_text,
                       std::string_view target, int version, boost::beast::error_code& ec) override;
  void on_response_impl(int, std::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, std::string_view name_text,
                     std::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(std::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, std::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, std::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  void OnHeaderField(boost::beast::http::field name, std::string_view name_text,
                     std::string_view value, boost::beast::error_code& ec);
  // The slot of a field kept from its one allowed line (Host, Authorization ...), else
  // kKeptCount.
  static Kept SingleKept(boost::beast::http::field name);
  // Content-Length or Transfer-Encoding: the body's framing, each at most once (RFC 9112 §6).
  void OnFramingField(boost::beast::http::field name, std::string_view value,
                      boost::beast::error_code& ec);
  bool CountFieldLine(std::string_view name_text, std::string_view value);
  bool KeepOnce(Kept which, std::string_view value);
  void Keep(Kept which, std::string_view value);
  // Rebuilds the kept text with only the values in use (Keep says when).
  void DropDeadCopies();
  std::string_view KeptValue(Kept which) const;
  void Reject(unsigned status, std::string_view message, boost::beast::error_code& ec);
  void CheckUnconsumed(std::size_t unconsumed, boost::beast::error_code& ec);

  ParsedRequest& storage_;
  std::size_t header_bytes_;
  std::array<Span, kKeptCount> kept_{};
  unsigned seen_ = 0;  // fields met so far, a bit each (see request_parser.cpp)
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  int version_ = 11;
  bool expect_continue_ = false;
  std::size_t head_bytes_ = 0;
  // The bytes given to the current put: Beast's callbacks hand out views into them, which is
  // how a field line's length and a chunk-size line's start are found (Beast exposes neither).
  const char* input_begin_ = nullptr;
  const char* input_end_ = nullptr;
  Rejection rejection_;
  bool rejected_ = false;
};

}  // namespace gatehouse::http
