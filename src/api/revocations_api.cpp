// GET /revocations (API.md §12): the revocation feed for resource servers that verify tokens
// offline, behind revocations.secret. JSON pages by default; with Accept: text/event-stream
// one Server-Sent Event per entry, the backlog from the store first, then each entry as this
// instance's sync thread learns it (api/revocation_streams.hpp).
#include <chrono>
#include <memory>
#include <thread>

#include "api/admin_request.hpp"
#include "api/revocation_streams.hpp"
#include "api/services.hpp"
#include "http/accept.hpp"
#include "http/error_response.hpp"
#include "util/clock.hpp"

namespace gatehouse::api {
namespace {

constexpr int kStreamPage = 1000;
// A catching-up stream pauses while its client has this much unsent, and is ended when the
// backlog has not gone out within the read timeout.
constexpr std::size_t kCatchUpQueuedBytes = http::StreamSink::kMaxQueuedBytes / 2;

struct FeedQuery {
  int64_t after = 0;
  int limit = 100;
};

// after (a cursor), limit (1-1000, default 100); a stream may resume from Last-Event-ID
// instead of after (after wins when both are given).
Result<FeedQuery> ParseFeedQuery(const http::Request& request) {
  static constexpr std::string_view kNames[] = {"after", "limit"};
  const std::vector<QueryParam> params = ReadQuery(request.query, kNames);
  FeedQuery out;
  if (Status read = ReadIdCursor(params[0], out.after); !read) return read.error();
  if (Status read = ReadLimit(params[1], out.limit); !read) return read.error();
  if (!params[0].given && !request.last_event_id.empty()) {
    auto cursor = ParseIdCursor(request.last_event_id);
    if (!cursor) return cursor.error();
    out.after = *cursor;
  }
  return out;
}

http::Response FeedJson(Services& services, const FeedQuery& query) {
  auto page = ReadFeedPage(services.store, query.after, query.limit, UnixNow(),
                           services.revocation_streams->user_lifetime());
  if (!page) return http::ErrorResponse(page.error());
  std::string body = "{\"revocations\": [";
  const int64_t lifetime = services.revocation_streams->user_lifetime();
  for (std::size_t i = 0; i < page->entries.size(); ++i) {
    if (i > 0) body += ", ";
    body += RevocationEntryJson(page->entries[i], lifetime);
  }
  body += "], \"cursor\": \"" + std::to_string(page->cursor) + "\"}";
  http::Response response;
  response.body = std::move(body);
  response.no_store = true;
  return response;
}

// A stream catching up: the entries after `after`, one page per turn on the streams' own pool
// (Services::stream_pool), never on the store threads requests need (attacker round 12: 40
// streams opened from cursor 0 held both SQLite store threads, and a refresh waited 7.9 s). A
// turn whose client has much unsent gives the thread to the others' turns instead of holding
// it; the stream is ended when its backlog has not gone out within the read timeout.
struct CatchUp {
  Services& services;
  std::shared_ptr<http::StreamSink> sink;
  std::shared_ptr<RevocationStreams::Stream> stream;
  int64_t after;
  std::chrono::steady_clock::time_point deadline;
};

// However the backlog ended, the stream then takes what was published meanwhile: a stream whose
// client left fails its next write (the next revocation or heartbeat, or the next Reserve at the
// bound) and gives its place back; one left catching up would hold it for good (attacker round
// 11, F1).
void Finish(const CatchUp& job) {
  job.services.revocation_streams->CaughtUp(*job.stream, job.after);
}

void TakeTurn(const std::shared_ptr<CatchUp>& job);

void NextTurn(const std::shared_ptr<CatchUp>& job) {
  if (job->services.stream_pool.TrySubmit([job] { TakeTurn(job); })) return;
  job->sink->End();  // the pool is full: the client reconnects with its Last-Event-ID
  Finish(*job);
}

void TakeTurn(const std::shared_ptr<CatchUp>& job) {
  http::StreamSink& sink = *job->sink;
  if (sink.Queued() > kCatchUpQueuedBytes) {
    if (std::chrono::steady_clock::now() > job->deadline) {
      sink.End();
      return Finish(*job);
    }
    // Not a busy loop when every stream waits on its client.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return NextTurn(job);
  }
  RevocationStreams& streams = *job->services.revocation_streams;
  auto page = ReadFeedPage(job->services.store, job->after, kStreamPage, UnixNow(),
                           streams.user_lifetime());
  if (!page) {
    sink.End();  // the client reconnects with its Last-Event-ID
    return Finish(*job);
  }
  for (const auto& entry : page->entries) {
    if (!sink.Write(RevocationSseEvent(entry, streams.user_lifetime()))) return Finish(*job);
  }
  job->after = page->cursor;
  if (page->entries.size() < static_cast<std::size_t>(kStreamPage)) return Finish(*job);
  NextTurn(job);
}

http::Response NeedsHttp11() {
  http::Response refused = http::MessageResponse(426, "The event stream needs HTTP/1.1");
  refused.headers.emplace_back("Upgrade", "HTTP/1.1");
  refused.headers.emplace_back("Connection", "Upgrade");
  return refused;
}

void OpenStream(Services& services, const FeedQuery& query, Reply reply) {
  RevocationStreams& streams = *services.revocation_streams;
  auto place = streams.Reserve();
  if (!place) {
    http::Response busy = http::MessageResponse(503, "Too many revocation streams");
    busy.headers.emplace_back("Retry-After", "5");
    return reply(std::move(busy));
  }
  // The first bytes tell an EventSource to reconnect a second after a drop.
  http::Response response;
  response.body = "retry: 1000\n\n";
  response.content_type = "text/event-stream";
  response.no_store = true;
  response.stream = [&services, place,
                     after = query.after](std::shared_ptr<http::StreamSink> sink) {
    auto stream = services.revocation_streams->Open(*place, sink);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(services.settings.read_timeout);
    NextTurn(std::make_shared<CatchUp>(CatchUp{services, sink, stream, after, deadline}));
  };
  reply(std::move(response));
}

}  // namespace

void Revocations(const http::Request& request, Services& services, Reply reply) {
  if (services.settings.revocations_secret.empty() || services.revocation_streams == nullptr) {
    return reply(http::MessageResponse(404, "Not found"));
  }
  if (Status allowed = CheckCallerSecret(request, services, services.settings.revocations_secret,
                                         "/revocations", ErrorCode::kWrongRevocationsSecret);
      !allowed) {
    return reply(http::ErrorResponse(allowed.error()));
  }
  auto query = ParseFeedQuery(request);
  if (!query) return reply(http::ErrorResponse(query.error()));
  if (http::AcceptsMediaType(request.accept, "text/event-stream")) {
    // A stream is sent chunked, which HTTP/1.0 does not have: such a client is told to upgrade
    // (RFC 9110 §15.5.22) rather than sent a body it cannot frame.
    if (request.version < 11) return reply(NeedsHttp11());
    return OpenStream(services, *query, std::move(reply));
  }
  RunOnPool(services.store_pool, std::move(reply),
            [&services, query = *query] { return FeedJson(services, query); });
}

}  // namespace gatehouse::api
