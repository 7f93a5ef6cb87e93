#include "api/revocation_streams.hpp"

#include <nlohmann/json.hpp>

namespace gatehouse::api {
namespace {

using Kind = store::RevocationEvent::Kind;

// A comment line keeps idle streams (and the proxies on their way) from timing out, and lets a
// stream whose client left be noticed and dropped.
constexpr auto kHeartbeatEvery = std::chrono::seconds(15);
constexpr std::string_view kHeartbeat = ": keep-alive\n\n";
// Entries published while a stream catches up, held for it; more ends the stream (its client
// reconnects with Last-Event-ID and catches up from the store).
constexpr std::size_t kMaxHeldEntries = 10000;
constexpr int kScanBatch = 1000;
// Rows one JSON page may scan for its unexpired entries: a request's cost is bounded however
// many expired entries the feed holds.
constexpr int kMaxScannedRows = 20000;

int64_t EntryExpiry(const store::RevocationEvent& event, int64_t user_lifetime) {
  return event.kind == Kind::kUser ? event.value + user_lifetime : event.value;
}

}  // namespace

std::string RevocationEntryJson(const store::RevocationEvent& event, int64_t user_lifetime) {
  nlohmann::json entry;
  switch (event.kind) {
    case Kind::kToken:
      entry["jti"] = event.subject;
      break;
    case Kind::kSession:
      entry["sid"] = event.subject;
      break;
    case Kind::kUser:
      entry["sub"] = event.subject;
      entry["revoked_before"] = event.value;
      break;
  }
  entry["exp"] = EntryExpiry(event, user_lifetime);
  return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsLiveEntry(const store::RevocationEvent& event, int64_t user_lifetime, int64_t now) {
  return EntryExpiry(event, user_lifetime) > now;
}

std::string RevocationSseEvent(const store::RevocationEvent& event, int64_t user_lifetime) {
  return "id: " + std::to_string(event.seq) +
         "\ndata: " + RevocationEntryJson(event, user_lifetime) + "\n\n";
}

namespace {

Result<FeedPage> ScanFeed(store::Store& store, int64_t after, int limit, int64_t now,
                          int64_t user_lifetime) {
  FeedPage page{{}, after};
  for (int scanned = 0; scanned < kMaxScannedRows;) {
    auto batch = store.RevocationsSince(page.cursor, kScanBatch);
    if (!batch) return batch.error();
    for (const auto& event : *batch) {
      page.cursor = event.seq;
      if (!IsLiveEntry(event, user_lifetime, now)) continue;
      page.entries.push_back(event);
      if (page.entries.size() >= static_cast<std::size_t>(limit)) return page;
    }
    if (batch->size() < static_cast<std::size_t>(kScanBatch)) break;
    scanned += kScanBatch;
  }
  return page;
}

}  // namespace

Result<FeedPage> ReadFeedPage(store::Store& store, int64_t after, int limit, int64_t now,
                              int64_t user_lifetime) {
  auto page = ScanFeed(store, after, limit, now, user_lifetime);
  if (!page || after == 0 || page->cursor != after) return page;
  // Nothing after the cursor. A cursor ahead of the newest entry was not given by this feed (it
  // came from another database: a restore, a new one): read as no cursor, so that its reader
  // gets every unexpired entry again rather than nothing, for good (attacker round 12). Asked
  // only here, where a scan found nothing, so pages with entries cost no extra read.
  auto latest = store.LatestRevocationEvent();
  if (!latest) return latest.error();
  if (after <= *latest) return page;
  return ScanFeed(store, 0, limit, now, user_lifetime);
}

class RevocationStreams::Stream {
 public:
  explicit Stream(std::shared_ptr<http::StreamSink> sink) : sink_(std::move(sink)) {}

  // False once the stream has ended. `seq`: the entry's feed position (0 for a comment).
  bool Send(int64_t seq, const std::string& bytes) {
    std::lock_guard lock(mutex_);
    if (catching_up_) {
      if (held_.size() >= kMaxHeldEntries) {
        sink_->End();
        return false;
      }
      held_.emplace_back(seq, bytes);
      return true;
    }
    return WriteAfterCursorLocked(seq, bytes);
  }
  // `through`: the feed position the backlog was read to; from here on the stream sends only
  // entries after the last position it sent. The sync thread learns an entry after the store
  // has it, so it can publish one that the backlog (or the JSON page that gave the client its
  // cursor) already covered: such an entry is not sent again, and a stream resumed from a
  // cursor starts after it (attacker round 13). Entries reach the feed in order (one writer on
  // SQLite, the feed row lock on PostgreSQL), so nothing later is skipped.
  void CaughtUp(int64_t through) {
    std::lock_guard lock(mutex_);
    catching_up_ = false;
    sent_through_ = through;
    for (auto& [seq, bytes] : held_) WriteAfterCursorLocked(seq, bytes);
    held_.clear();
  }
  void End() { sink_->End(); }

 private:
  std::shared_ptr<http::StreamSink> sink_;
  std::mutex mutex_;
  bool catching_up_ = true;
  std::vector<std::pair<int64_t, std::string>> held_;  // (seq, event) while catching up
  int64_t sent_through_ = 0;                           // the last feed position sent

  bool WriteAfterCursorLocked(int64_t seq, const std::string& bytes) {
    if (seq != 0) {
      if (seq <= sent_through_) return true;
      sent_through_ = seq;
    }
    return sink_->Write(bytes);
  }
};

RevocationStreams::RevocationStreams(int max_streams, int64_t user_lifetime)
    : max_streams_(static_cast<std::size_t>(max_streams)), user_lifetime_(user_lifetime) {
  heartbeat_ = std::thread([this] { Heartbeats(); });
}

RevocationStreams::~RevocationStreams() {
  EndAll();
  if (heartbeat_.joinable()) heartbeat_.join();
}

RevocationStreams::Place::~Place() {
  if (!taken_) streams_.open_.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<RevocationStreams::Place> RevocationStreams::Reserve() {
  std::lock_guard lock(mutex_);
  // At the bound, streams whose clients left are found by writing to them (a heartbeat).
  if (open_.load(std::memory_order_relaxed) >= max_streams_)
    WriteAllLocked(0, std::string(kHeartbeat));
  if (stopping_ || open_.load(std::memory_order_relaxed) >= max_streams_) return nullptr;
  open_.fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<Place>(*this);
}

std::shared_ptr<RevocationStreams::Stream> RevocationStreams::Open(
    Place& place, std::shared_ptr<http::StreamSink> sink) {
  auto stream = std::make_shared<Stream>(std::move(sink));
  std::lock_guard lock(mutex_);
  if (stopping_) {
    stream->End();  // the place goes back when dropped
  } else {
    place.taken_ = true;
    streams_.push_back(stream);
  }
  return stream;
}

void RevocationStreams::CaughtUp(Stream& stream, int64_t through) { stream.CaughtUp(through); }

void RevocationStreams::Publish(const store::RevocationEvent& event) {
  if (open_.load(std::memory_order_relaxed) == 0) return;
  const std::string bytes = RevocationSseEvent(event, user_lifetime_);
  std::lock_guard lock(mutex_);
  WriteAllLocked(event.seq, bytes);
}

void RevocationStreams::WriteAllLocked(int64_t seq, const std::string& bytes) {
  std::erase_if(streams_, [&](const std::shared_ptr<Stream>& stream) {
    if (stream->Send(seq, bytes)) return false;
    open_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  });
}

void RevocationStreams::EndAll() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (const auto& stream : streams_) stream->End();
  open_.fetch_sub(streams_.size(), std::memory_order_relaxed);
  streams_.clear();
  stop_.notify_all();
}

void RevocationStreams::Heartbeats() {
  const std::string heartbeat(kHeartbeat);
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, kHeartbeatEvery, [this] { return stopping_; })) {
    WriteAllLocked(0, heartbeat);
  }
}

}  // namespace gatehouse::api
