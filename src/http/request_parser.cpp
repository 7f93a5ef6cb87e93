#include "http/request_parser.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>

#include "http/client_address.hpp"
#include "util/ascii.hpp"

namespace gatehouse::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using bhttp::field;

// seen_ bits for the fields that are not kept but may appear only once.
constexpr unsigned kSeenContentLength = 1u << 16;
constexpr unsigned kSeenTransferEncoding = 1u << 17;

constexpr std::string_view kMalformed = "Malformed request";
constexpr std::string_view kHeaderTooLarge = "Request header too large";

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

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// 0 when the value is the chunked coding alone; else the status refusing it (RFC 9112 §6.1,
// §6.3): 400 when the framing cannot be trusted (a malformed list, chunked not last or twice,
// chunked with parameters), 501 for a well-formed list naming a coding gatehouse does not
// decode (gzip, deflate, identity, anything unknown).
unsigned TransferEncodingStatus(std::string_view value) {
  if (beast::iequals(value, "chunked")) return 0;
  bool chunked_seen = false;
  bool other_seen = false;
  for (std::size_t start = 0;;) {
    const std::size_t comma = value.find(',', start);
    const std::string_view element = TrimOws(value.substr(start, comma - start));
    const std::string_view coding = TrimOws(element.substr(0, element.find(';')));
    if (coding.empty() || !std::all_of(coding.begin(), coding.end(), IsTokenChar)) return 400;
    if (chunked_seen) return 400;  // a coding after chunked: the body's end is unknowable
    if (beast::iequals(coding, "chunked")) {
      if (coding.size() != element.size()) return 400;
      chunked_seen = true;
    } else {
      other_seen = true;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return other_seen ? 501 : 400;
}

bool Within(const char* p, const char* begin, const char* end) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  return at >= reinterpret_cast<std::uintptr_t>(begin) &&
         at <= reinterpret_cast<std::uintptr_t>(end);
}

}  // namespace

RequestParser::RequestParser(ParsedRequest& storage, std::size_t header_bytes,
                             std::size_t body_bytes)
    : storage_(storage), header_bytes_(header_bytes) {
  storage_.text.clear();
  storage_.body.clear();
  header_limit(static_cast<std::uint32_t>(header_bytes));
  body_limit(body_bytes);
}

std::size_t RequestParser::Put(boost::asio::const_buffer input, beast::error_code& ec) {
  input_begin_ = static_cast<const char*>(input.data());
  input_end_ = input_begin_ + input.size();
  // Beast measures the field lines from where this put starts, forgetting the lines it has
  // consumed already; what the head has used so far is taken off the limit here.
  if (!is_header_done())
    header_limit(static_cast<std::uint32_t>(header_bytes_ - std::min(head_bytes_, header_bytes_)));
  const std::size_t used = put(input, ec);
  if (ec == bhttp::error::need_more && is_header_done()) CheckUnconsumed(input.size() - used, ec);
  return used;
}

Rejection RequestParser::RejectionFor(beast::error_code ec) const {
  if (rejected_) return rejection_;
  if (ec == bhttp::error::header_limit) return {431, kHeaderTooLarge};
  if (ec == bhttp::error::body_limit) return {413, "Request body too large"};
  return {400, kMalformed};
}

void RequestParser::Fill(std::string_view peer, const config::Settings& settings,
                         Request& out) const {
  out.method = ToMethod(verb_);
  const std::string_view target = KeptValue(kTarget);
  const std::size_t question = target.find('?');
  out.path = target.substr(0, question);
  out.query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  out.authorization = KeptValue(kAuthorization);
  out.content_type = KeptValue(kContentType);
  out.cookie = KeptValue(kCookie);
  out.origin = KeptValue(kOrigin);
  out.csrf_token = KeptValue(kCsrfToken);
  out.preflight_method = KeptValue(kPreflightMethod);
  out.body = storage_.body;
  out.user_agent = KeptValue(kUserAgent);
  out.accept = KeptValue(kAccept);
  out.last_event_id = KeptValue(kLastEventId);
  out.version = version_;
  out.client_address = ClientAddress(peer, KeptValue(kForwardedFor), settings.trusted_proxies);
}

void RequestParser::on_request_impl(bhttp::verb method, std::string_view method_text,
                                    std::string_view target, int version, beast::error_code& ec) {
  verb_ = method;
  version_ = version;
  Keep(kTarget, target);
  // Beast took exactly "method SP target SP HTTP/x.y CRLF". It measures the request line and
  // the field lines each against header_limit on their own; giving the fields only what the
  // line left makes the limit count the whole head once, as the client sent it.
  const std::size_t line =
      static_cast<std::size_t>(target.data() + target.size() - method_text.data()) +
      std::strlen(" HTTP/1.1\r\n");
  if (line > header_bytes_) return Reject(431, kHeaderTooLarge, ec);
  head_bytes_ = line;
  header_limit(static_cast<std::uint32_t>(header_bytes_ - line));
}

void RequestParser::on_field_impl(field name, std::string_view name_text, std::string_view value,
                                  beast::error_code& ec) {
  // A trailer field (the header is done) is never kept: its bytes were counted when the last
  // chunk was seen, and nothing in it may stand in for a header field.
  if (is_header_done()) return;
  OnHeaderField(name, name_text, value, ec);
}

void RequestParser::OnHeaderField(field name, std::string_view name_text, std::string_view value,
                                  beast::error_code& ec) {
  if (!CountFieldLine(name_text, value)) return Reject(400, kMalformed, ec);
  if (const Kept single = SingleKept(name); single != kKeptCount) {
    // One authority: a list ("a, b") is as ambiguous as two Host fields (RFC 9112 §3.2).
    const bool host_list = single == kHost && value.find(',') != std::string_view::npos;
    if (host_list || !KeepOnce(single, value)) Reject(400, kMalformed, ec);
    return;
  }
  switch (name) {
    case field::content_length:
    case field::transfer_encoding:
      return OnFramingField(name, value, ec);
    case field::user_agent:
      // Recorded with a session (API.md §10); a repeated field keeps the first.
      if (!(seen_ & (1u << kUserAgent))) Keep(kUserAgent, value);
      break;
    // Read by GET /revocations only (its event stream). A list: repeated fields join in order,
    // as RFC 9110 §5.3 makes them the same as one field.
    case field::accept:
      Keep(kAccept, value);
      break;
    case field::expect:
      if (!beast::iequals(value, "100-continue")) return Reject(417, "Expectation failed", ec);
      expect_continue_ = true;
      break;
    case field::unknown:
      if (beast::iequals(name_text, "X-Forwarded-For")) {
        Keep(kForwardedFor, value);
      } else if (beast::iequals(name_text, "Last-Event-ID")) {
        if (!(seen_ & (1u << kLastEventId))) Keep(kLastEventId, value);
      } else if (beast::iequals(name_text, "X-CSRF-TOKEN") && !KeepOnce(kCsrfToken, value)) {
        return Reject(400, kMalformed, ec);
      }
      break;
    default:
      break;
  }
}

RequestParser::Kept RequestParser::SingleKept(field name) {
  switch (name) {
    case field::host:
      return kHost;
    case field::content_type:
      return kContentType;
    case field::authorization:
      return kAuthorization;
    // A browser sends each of these once (RFC 6265 §5.4: one Cookie field); two are as
    // ambiguous as two Authorization fields.
    case field::cookie:
      return kCookie;
    case field::origin:
      return kOrigin;
    case field::access_control_request_method:
      return kPreflightMethod;
    default:
      return kKeptCount;
  }
}

void RequestParser::OnFramingField(field name, std::string_view value, beast::error_code& ec) {
  if (name == field::content_length) {
    // Beast takes repeated equal values ("5", "5", or "5, 5" in one field); §8 refuses any
    // repetition.
    if ((seen_ & kSeenContentLength) || value.find(',') != std::string_view::npos) {
      return Reject(400, kMalformed, ec);
    }
    seen_ |= kSeenContentLength;
    return;
  }
  // RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; its framing cannot be trusted.
  if ((seen_ & kSeenTransferEncoding) || version_ < 11) return Reject(400, kMalformed, ec);
  seen_ |= kSeenTransferEncoding;
  const unsigned status = TransferEncodingStatus(value);
  if (status == 501) return Reject(501, "Transfer-Encoding not implemented", ec);
  if (status != 0) Reject(400, kMalformed, ec);
}

// Adds the field line's bytes to head_bytes_; false for a folded line.
bool RequestParser::CountFieldLine(std::string_view name_text, std::string_view value) {
  const char* name_end = name_text.data() + name_text.size();
  const char* value_end = value.data() + value.size();
  // Beast unfolds obs-fold into a buffer of its own, or skips a fold before the value: either
  // way the value is not where the line is. Proxies disagree on folding, so it is refused
  // (RFC 9112 §5.2).
  if (!Within(value.data(), name_end, input_end_) || !Within(value_end, name_end, input_end_) ||
      std::memchr(name_end, '\n', static_cast<std::size_t>(value.data() - name_end))) {
    return false;
  }
  const char* line_end = value_end;
  while (line_end < input_end_ && (*line_end == ' ' || *line_end == '\t')) ++line_end;
  head_bytes_ += static_cast<std::size_t>(line_end - name_text.data()) + 2;
  return true;
}

void RequestParser::on_header_impl(beast::error_code& ec) {
  head_bytes_ += 2;  // the empty line
  if (version_ >= 11 && !(seen_ & (1u << kHost))) Reject(400, kMalformed, ec);
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      beast::error_code&) {
  // Beast has checked a Content-Length against the body limit already.
  if (content_length) storage_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(std::string_view body, beast::error_code&) {
  storage_.body.append(body);
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, std::string_view extensions,
                                         beast::error_code& ec) {
  // Beast hands over only the extensions; the line starts at the hex digits before them (after
  // the previous chunk's CRLF, or at the start of the input).
  const char* line_end = extensions.data() + extensions.size();
  const char* line_begin = extensions.data();
  while (line_begin > input_begin_ && IsHexDigit(line_begin[-1])) --line_begin;
  if (static_cast<std::size_t>(line_end - line_begin) > kMaxChunkLineBytes) {
    return Reject(400, kMalformed, ec);
  }
  if (size != 0) return;
  // The last chunk: Beast calls this only once the whole trailer section is in the input. It
  // counts against what the head left of the header limit.
  const std::string_view rest(line_end, static_cast<std::size_t>(input_end_ - line_end));
  const std::size_t trailer_bytes = rest.find("\r\n\r\n");
  if (trailer_bytes == std::string_view::npos || head_bytes_ + trailer_bytes > header_bytes_) {
    return Reject(431, kHeaderTooLarge, ec);
  }
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, std::string_view body,
                                              beast::error_code&) {
  storage_.body.append(body);
  return body.size();
}

// Once the header is done, body bytes are taken as they arrive; what Beast leaves unconsumed is
// a chunk-size line waiting for its CRLF, or the last chunk waiting for the end of its trailer
// section. Beast would wait for either without limit, so the bound is enforced here.
void RequestParser::CheckUnconsumed(std::size_t unconsumed, beast::error_code& ec) {
  const std::size_t trailer_budget = header_bytes_ - std::min(head_bytes_, header_bytes_);
  const std::size_t bound = 2 + kMaxChunkLineBytes + 2 + trailer_budget + 2;
  if (unconsumed <= bound) return;
  std::string_view rest(input_end_ - unconsumed, unconsumed);
  if (rest.substr(0, 2) == "\r\n") rest.remove_prefix(2);  // the previous chunk's CRLF
  if (rest.substr(0, kMaxChunkLineBytes + 2).find("\r\n") == std::string_view::npos) {
    return Reject(400, kMalformed, ec);
  }
  Reject(431, kHeaderTooLarge, ec);
}

bool RequestParser::KeepOnce(Kept which, std::string_view value) {
  if (seen_ & (1u << which)) return false;
  Keep(which, value);
  return true;
}

void RequestParser::Keep(Kept which, std::string_view value) {
  std::string& text = storage_.text;
  Span& span = kept_[which];
  const bool repeated = (seen_ & (1u << which)) != 0;
  seen_ |= 1u << which;
  if (repeated && span.offset + span.size == text.size()) {
    // A repeated list field (X-Forwarded-For, Accept) right after its last one: the list grows
    // where it is.
    text.append(", ").append(value);
  } else if (repeated) {
    // Another field came between: the list so far is copied to the end and grows there.
    const std::string earlier(KeptValue(which));
    span.offset = static_cast<std::uint32_t>(text.size());
    text.append(earlier).append(", ").append(value);
  } else {
    span.offset = static_cast<std::uint32_t>(text.size());
    text.append(value);
  }
  span.size = static_cast<std::uint32_t>(text.size() - span.offset);
  // Two list fields taking turns would leave a dead copy of each list behind every turn: 400
  // alternating 20-byte fields in an 8 KiB head kept 240 KB per connection, for as long as the
  // connection lasted. Past twice the head's limit only the live values are kept.
  if (text.size() > 2 * header_bytes_) DropDeadCopies();
}

void RequestParser::DropDeadCopies() {
  std::string live;
  live.reserve(header_bytes_);
  for (std::size_t which = 0; which < kKeptCount; ++which) {
    if (!(seen_ & (1u << which))) continue;
    const std::string_view value = KeptValue(static_cast<Kept>(which));
    kept_[which].offset = static_cast<std::uint32_t>(live.size());
    live.append(value);
  }
  storage_.text.swap(live);
}

std::string_view RequestParser::KeptValue(Kept which) const {
  return std::string_view(storage_.text).substr(kept_[which].offset, kept_[which].size);
}

void RequestParser::Reject(unsigned status, std::string_view message, beast::error_code& ec) {
  rejection_ = {status, message};
  rejected_ = true;
  ec = status == 431 ? bhttp::error::header_limit : bhttp::error::bad_value;
}

}  // namespace gatehouse::http
