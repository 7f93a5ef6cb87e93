// The request parser against API.md §8, fed as a connection feeds it: bytes arrive in pieces,
// what the parser consumed is dropped, the rest is offered again with the next piece.
#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>

namespace gatehouse::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t kWhole = std::numeric_limits<std::size_t>::max();

struct Outcome {
  bool done = false;    // a whole request was parsed
  unsigned status = 0;  // the refusal, when not done and not waiting
  std::string_view message;
  bool waiting = false;  // the parser wants more bytes
  Request request;
  std::size_t head_bytes = 0;
  bool expects_continue = false;
  bool keep_alive = false;
  std::size_t most_buffered = 0;  // the most bytes ever held unconsumed
  std::size_t fed = 0;            // bytes offered before the parser finished or refused
};

struct Parse {
  config::Settings settings;
  ParsedRequest storage;

  Parse() { settings.trusted_proxies = {*ParseNetwork("127.0.0.1")}; }

  Outcome operator()(std::string_view wire, std::size_t piece = kWhole) {
    Outcome out;
    RequestParser parser(storage, settings.header_bytes, settings.body_bytes);
    std::string buffer;
    boost::beast::error_code ec;
    while (true) {
      const std::size_t take = std::min(piece, wire.size() - out.fed);
      buffer.append(wire.substr(out.fed, take));
      out.fed += take;
      out.most_buffered = std::max(out.most_buffered, buffer.size());
      while (!buffer.empty()) {
        const std::size_t used = parser.Put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
        buffer.erase(0, used);
        if (ec || parser.is_done() || used == 0) break;
      }
      if (parser.is_header_done()) {
        out.head_bytes = parser.head_bytes();
        out.expects_continue = parser.expects_continue();
        out.keep_alive = parser.keep_alive();
      }
      if (ec && ec != bhttp::error::need_more) {
        const Rejection rejection = parser.RejectionFor(ec);
        out.status = rejection.status;
        out.message = rejection.message;
        return out;
      }
      if (parser.is_done()) {
        out.done = true;
        parser.Fill("127.0.0.1", settings, out.request);
        return out;
      }
      if (out.fed == wire.size()) {
        out.waiting = true;
        return out;
      }
    }
  }
};

// "GET /healthz HTTP/1.1" with Host and one padding field, the head exactly `head` bytes long.
std::string HeadOf(std::size_t head, std::string_view extra = "") {
  const std::string start = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + std::string(extra);
  const std::string pad_name = "X-Pad: ";
  const std::size_t fixed = start.size() + pad_name.size() + 2 + 2;
  return start + pad_name + std::string(head - fixed, 'a') + "\r\n\r\n";
}

void ExpectRefused(const Outcome& out, unsigned status, std::string_view message = {}) {
  EXPECT_FALSE(out.done);
  EXPECT_FALSE(out.waiting);
  EXPECT_EQ(out.status, status);
  if (!message.empty()) {
    EXPECT_EQ(out.message, message);
  }
}

// -- the header limit counts the whole head ----------------------------------------------------

TEST(RequestParser, HeadOfExactlyTheLimitIsAcceptedAndOneMoreIs431) {
  for (std::size_t piece : {kWhole, std::size_t{1}, std::size_t{1000}, std::size_t{4096}}) {
    Parse parse;
    const std::string at_limit = HeadOf(8192);
    ASSERT_EQ(at_limit.size(), 8192u);
    const Outcome ok = parse(at_limit, piece);
    EXPECT_TRUE(ok.done) << "piece " << piece;
    EXPECT_EQ(ok.head_bytes, 8192u);
    SCOPED_TRACE(piece);
    ExpectRefused(parse(HeadOf(8193), piece), 431, "Request header too large");
  }
}

TEST(RequestParser, ManySmallFieldsInPiecesCountWhole) {
  // Beast forgets the field lines a put has consumed; they must still count.
  std::string fields;
  for (int i = 0; fields.size() < 8000; ++i)
    fields += "X-H" + std::to_string(1000 + i) + ": vv\r\n";
  for (std::size_t piece : {kWhole, std::size_t{1}, std::size_t{300}, std::size_t{1000}}) {
    SCOPED_TRACE(piece);
    Parse parse;
    const std::string at_limit = HeadOf(8192, fields);
    ASSERT_EQ(at_limit.size(), 8192u);
    EXPECT_TRUE(parse(at_limit, piece).done);
    ExpectRefused(parse(HeadOf(8193, fields), piece), 431);
  }
}

TEST(RequestParser, FieldLinesOfTheLimitAloneAreOverIt) {
  // Beast measures the field lines without the request line; the head as sent is what counts.
  Parse parse;
  const std::string request_line = "GET /healthz HTTP/1.1\r\n";
  const std::string fields = "Host: x\r\nX-Pad: " + std::string(8192 - 9 - 9 - 2, 'a') + "\r\n\r\n";
  ASSERT_EQ(fields.size(), 8192u);
  ExpectRefused(parse(request_line + fields), 431);
}

TEST(RequestParser, LongRequestLineCountsAgainstTheLimit) {
  Parse parse;
  const std::string tail = " HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string at_limit = "GET /" + std::string(8192 - 5 - tail.size(), 'p') + tail;
  ASSERT_EQ(at_limit.size(), 8192u);
  EXPECT_TRUE(parse(at_limit).done);
  EXPECT_TRUE(parse(at_limit, 7).done);
  const std::string over = "GET /" + std::string(8193 - 5 - tail.size(), 'p') + tail;
  ExpectRefused(parse(over), 431);
  ExpectRefused(parse(over, 7), 431);
}

TEST(RequestParser, LimitFollowsTheSetting) {
  for (std::size_t limit : {std::size_t{1024}, std::size_t{65536}}) {
    Parse parse;
    parse.settings.header_bytes = limit;
    EXPECT_TRUE(parse(HeadOf(limit)).done) << limit;
    ExpectRefused(parse(HeadOf(limit + 1)), 431);
  }
}

TEST(RequestParser, HeaderValueOver64KibIsRefusedNotThrown) {
  // Beast's own message type throws std::length_error for a value over 64 KiB.
  Parse parse;
  parse.settings.header_bytes = 65536;
  const std::string wire =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n";
  ExpectRefused(parse(wire), 431);
  ExpectRefused(parse(wire, 4096), 431);
}

TEST(RequestParser, HeadBytesIsTheHeadAsSent) {
  Parse parse;
  const std::string head = "POST /login?x=1 HTTP/1.1\r\nHost:  x \r\nContent-Length: 2\t \r\n\r\n";
  const Outcome out = parse(head + "ab");
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.head_bytes, head.size());
  EXPECT_EQ(out.request.path, "/login");
  EXPECT_EQ(out.request.body, "ab");
  EXPECT_EQ(out.request.method, Method::kPost);
}

// -- trailers -------------------------------------------------------------------------------------

std::string Chunked(std::string_view trailer, std::string_view head_extra = "") {
  return "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
         std::string(head_extra) + "\r\n3\r\nabc\r\n0\r\n" + std::string(trailer) + "\r\n";
}

TEST(RequestParser, TrailerOf64KibIsRefusedNotThrown) {
  Parse parse;
  const std::string wire =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nX-T: " +
      std::string(65534, 't') + "\r\n\r\n";
  ExpectRefused(parse(wire), 431, "Request header too large");
  ExpectRefused(parse(wire, 1000), 431);
}

TEST(RequestParser, HeadAndTrailerTogetherCountAgainstTheLimit) {
  Parse parse;
  const std::string base = Chunked("");
  const std::size_t head = base.find("\r\n\r\n") + 4;
  const std::size_t room = 8192 - head;  // what the trailer section may take
  const std::string line = "X-T: " + std::string(room - 7, 't') + "\r\n";
  ASSERT_EQ(line.size(), room);
  const Outcome ok = parse(Chunked(line));
  ASSERT_TRUE(ok.done);
  EXPECT_EQ(ok.request.body, "abc");
  EXPECT_TRUE(parse(Chunked(line), 100).done);
  const std::string over = "X-T: " + std::string(room - 6, 't') + "\r\n";
  ExpectRefused(parse(Chunked(over)), 431);
  ExpectRefused(parse(Chunked(over), 100), 431);
}

TEST(RequestParser, TrailerFieldsAreNeverHeaderFields) {
  Parse parse;
  const Outcome out =
      parse(Chunked("Authorization: Bearer trailer\r\nContent-Type: application/json\r\n"
                    "X-Forwarded-For: 10.9.9.9\r\nHost: y\r\nExpect: 100-continue\r\n"));
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.request.authorization, "");
  EXPECT_EQ(out.request.content_type, "");
  EXPECT_EQ(out.request.client_address, "127.0.0.1");
  EXPECT_EQ(out.request.body, "abc");
}

TEST(RequestParser, FramingFieldsInATrailerAre400) {
  // RFC 9110 §6.5.1: they may not be sent as trailers; Beast refuses them, and so the request.
  Parse parse;
  ExpectRefused(parse(Chunked("Content-Length: 3\r\n")), 400);
  ExpectRefused(parse(Chunked("Transfer-Encoding: chunked\r\n")), 400);
}

TEST(RequestParser, UnendedTrailerIsRefusedWithBoundedBuffering) {
  Parse parse;
  std::string wire = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 20000; ++i)
    wire += "X-T: tttttttttttttttttttttttttttttttttttt\r\n";  // 840 KB
  const Outcome out = parse(wire, 65536);
  ExpectRefused(out, 431);
  EXPECT_LT(out.fed, 200000u);
  EXPECT_LT(out.most_buffered, 8192u + 4096u + 65536u + 16u);
}

// -- chunk-size lines -----------------------------------------------------------------------------

std::string WithChunkLine(std::string_view line) {
  return "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(line) + "\r\nabcd\r\n0\r\n\r\n";
}

TEST(RequestParser, ChunkLineOf4096BytesIsAcceptedAndOneMoreIs400) {
  for (std::size_t piece : {kWhole, std::size_t{1}, std::size_t{1000}}) {
    Parse parse;
    const std::string at_limit = "4;e=" + std::string(4096 - 4, 'x');
    const Outcome ok = parse(WithChunkLine(at_limit), piece);
    ASSERT_TRUE(ok.done) << piece;
    EXPECT_EQ(ok.request.body, "abcd");
    ExpectRefused(parse(WithChunkLine(at_limit + "x"), piece), 400, "Malformed request");
  }
}

TEST(RequestParser, LeadingZerosCountInTheChunkLine) {
  Parse parse;
  EXPECT_TRUE(parse(WithChunkLine(std::string(4095, '0') + "4")).done);
  ExpectRefused(parse(WithChunkLine(std::string(4096, '0') + "4")), 400);
}

TEST(RequestParser, LastChunkLineIsBoundedToo) {
  Parse parse;
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_TRUE(parse(head + "0;e=" + std::string(4092, 'x') + "\r\n\r\n").done);
  ExpectRefused(parse(head + "0;e=" + std::string(4093, 'x') + "\r\n\r\n"), 400);
}

TEST(RequestParser, UnendedChunkExtensionIsRefusedWithBoundedBuffering) {
  Parse parse;
  const std::string wire =
      "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;e=" +
      std::string(1 << 20, 'x');
  const Outcome out = parse(wire, 65536);
  ExpectRefused(out, 400);
  EXPECT_LT(out.fed, 200000u);
  EXPECT_LT(out.most_buffered, 8192u + 4096u + 65536u + 16u);
}

// -- Transfer-Encoding ----------------------------------------------------------------------------

unsigned TransferEncodingAnswer(std::string_view te_lines, std::string_view version = "1.1") {
  Parse parse;
  const std::string wire = "POST /login HTTP/" + std::string(version) + "\r\nHost: x\r\n" +
                           std::string(te_lines) + "\r\n3\r\nabc\r\n0\r\n\r\n";
  const Outcome out = parse(wire);
  return out.done ? 0 : out.status;
}

TEST(RequestParser, OnlyChunkedIsTakenAsTransferEncoding) {
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked\r\n"), 0u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: Chunked\r\n"), 0u);
  // Codings gatehouse does not decode: 501 (RFC 9112 §6.1).
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: gzip\r\n"), 501u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: xchunked\r\n"), 501u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: identity\r\n"), 501u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: gzip, chunked\r\n"), 501u);
  // Framing that cannot be trusted: 400.
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked, gzip\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked, chunked\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked;q=1\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: ,chunked\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked,\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chu\"nked\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding:\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
            400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
            501u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked\r\n", "1.0"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), 400u);
}

TEST(RequestParser, FoldedFieldsAreRefused) {
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: gzip,\r\n chunked\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding:\r\n chunked\r\n"), 400u);
  EXPECT_EQ(TransferEncodingAnswer("Transfer-Encoding: chunked\r\n \r\n"), 400u);
  Parse parse;
  ExpectRefused(parse("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\tabc\r\n\r\n"),
                400);
}

// -- duplicates, Host -------------------------------------------------------------------------

TEST(RequestParser, RepeatedSingleFieldsAre400) {
  for (std::string_view twice :
       {"Host: x\r\nHost: x\r\n", "Host: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n",
        "Host: x\r\nContent-Type: application/json\r\nContent-Type: application/json\r\n",
        "Host: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n",
        "Host: x\r\nauthorization: Bearer a\r\nAUTHORIZATION: Bearer a\r\n",
        // a list in one field is a repetition too
        "Host: x\r\nContent-Length: 2, 2\r\n", "Host: x\r\nContent-Length: 2,2\r\n",
        "Host: x, y\r\n"}) {
    Parse parse;
    ExpectRefused(parse("POST /login HTTP/1.1\r\n" + std::string(twice) + "\r\nab"), 400,
                  "Malformed request");
  }
}

TEST(RequestParser, HostIsRequiredInHttp11Only) {
  Parse parse;
  ExpectRefused(parse("GET /healthz HTTP/1.1\r\n\r\n"), 400, "Malformed request");
  EXPECT_TRUE(parse("GET /healthz HTTP/1.0\r\n\r\n").done);
}

TEST(RequestParser, KeptFieldsAreReadAndForwardedForJoins) {
  Parse parse;
  const Outcome out = parse(
      "POST /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n"
      "content-type: application/json\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "x-forwarded-for: 10.0.0.2\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.request.authorization, "Bearer abc");
  EXPECT_EQ(out.request.content_type, "application/json");
  EXPECT_EQ(out.request.client_address, "10.0.0.2");  // the right-most of the joined list
  EXPECT_EQ(out.request.body, "{}");
  EXPECT_TRUE(out.keep_alive);
}

// RFC 9110 §5.3: repeated fields of a list are the same as one field with the values joined.
TEST(RequestParser, RepeatedAcceptFieldsJoinAsOneList) {
  Parse parse;
  const Outcome out = parse(
      "GET /revocations HTTP/1.1\r\nHost: x\r\nAccept: application/json;q=0.5\r\n"
      "User-Agent: a\r\naccept: text/event-stream\r\n\r\n");
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.request.accept, "application/json;q=0.5, text/event-stream");
}

// Two list fields taking turns, the whole head long: what a connection keeps stays within
// twice the head's limit, and both lists are whole.
TEST(RequestParser, AlternatingListFieldsKeepLittleMoreThanTheHead) {
  Parse parse;
  std::string head = "GET /me HTTP/1.1\r\nHost: x\r\n";
  int pairs = 0;
  while (head.size() + 60 < parse.settings.header_bytes) {
    head += "X-Forwarded-For: 1\r\nAccept: a/b\r\n";
    ++pairs;
  }
  const Outcome out = parse(head + "\r\n");
  ASSERT_TRUE(out.done);
  EXPECT_LE(parse.storage.text.capacity(), 2 * parse.settings.header_bytes + 64);
  std::string accept = "a/b";
  for (int i = 1; i < pairs; ++i) accept += ", a/b";
  EXPECT_EQ(out.request.accept, accept);
  EXPECT_EQ(out.request.client_address, "127.0.0.1");  // the peer: 1 is not a trusted proxy
}

TEST(RequestParser, StorageIsReusedAcrossRequests) {
  Parse parse;
  ASSERT_TRUE(parse("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer first\r\n\r\n").done);
  const Outcome second = parse("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(second.done);
  EXPECT_EQ(second.request.authorization, "");
  EXPECT_EQ(second.request.path, "/healthz");
  EXPECT_FALSE(second.keep_alive);
}

// -- Expect ---------------------------------------------------------------------------------------

TEST(RequestParser, ExpectContinueIsReportedAfterTheHead) {
  Parse parse;
  const Outcome out =
      parse("POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(out.waiting);
  EXPECT_TRUE(out.expects_continue);
  // RFC 9110 §10.1.1: an HTTP/1.0 client is never sent 100.
  const Outcome old =
      parse("POST /login HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(old.waiting);
  EXPECT_FALSE(old.expects_continue);
}

TEST(RequestParser, ExpectContinueWithBodyOverTheLimitIs413FromTheHead) {
  Parse parse;
  ExpectRefused(parse("POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      "Content-Length: 16385\r\n\r\n"),
                413);
}

TEST(RequestParser, UnknownExpectationIs417) {
  Parse parse;
  ExpectRefused(parse("POST /login HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n"
                      "Content-Length: 2\r\n\r\nab"),
                417);
}

TEST(RequestParser, ChunkedBodyOverTheLimitIs413) {
  Parse parse;
  std::string wire = "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) wire += "1000\r\n" + std::string(4096, 'b') + "\r\n";
  ExpectRefused(parse(wire + "0\r\n\r\n"), 413);
}

}  // namespace
}  // namespace gatehouse::http
