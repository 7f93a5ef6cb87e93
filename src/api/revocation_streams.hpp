// GET /revocations (API.md §12): the revocation feed as resource servers that verify tokens
// offline read it, paged as JSON or streamed as Server-Sent Events. This is the streams' hub:
// the sync thread publishes each feed entry as this instance learns it, and every open stream
// gets it as one event whose `id:` is its cursor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/stream.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::api {

// One entry as a resource server sees it: {"jti", "exp"}, {"sid", "exp"} or {"sub" (the
// username key), "revoked_before", "exp"}; `user_lifetime` (seconds) bounds a user entry's exp.
std::string RevocationEntryJson(const store::RevocationEvent& event, int64_t user_lifetime);
// Whether the entry still refuses a token at `now` (unix seconds).
bool IsLiveEntry(const store::RevocationEvent& event, int64_t user_lifetime, int64_t now);
// "id: <cursor>\ndata: <entry>\n\n".
std::string RevocationSseEvent(const store::RevocationEvent& event, int64_t user_lifetime);

// A page of the feed after `after`: at most `limit` unexpired entries, and the cursor to read
// after next (the last entry scanned: expired entries skipped move it on too; nothing after
// `after` leaves it unchanged). A cursor ahead of the newest entry reads as none. On a store
// thread.
struct FeedPage {
  std::vector<store::RevocationEvent> entries;
  int64_t cursor = 0;
};
Result<FeedPage> ReadFeedPage(store::Store& store, int64_t after, int limit, int64_t now,
                              int64_t user_lifetime);

class RevocationStreams {
 public:
  // A stream catching up (sending the entries after its cursor from the store) holds what is
  // published meanwhile, and sends it once caught up.
  class Stream;

  RevocationStreams(int max_streams, int64_t user_lifetime);
  ~RevocationStreams();  // ends every stream; stops the heartbeat thread
  RevocationStreams(const RevocationStreams&) = delete;
  RevocationStreams& operator=(const RevocationStreams&) = delete;

  // A place for one stream, given back when dropped unless a stream took it.
  class Place {
   public:
    explicit Place(RevocationStreams& streams) : streams_(streams) {}
    ~Place();
    Place(const Place&) = delete;
    Place& operator=(const Place&) = delete;

   private:
    friend class RevocationStreams;
    RevocationStreams& streams_;
    bool taken_ = false;
  };

  // Takes a place for a new stream; nullptr when max_streams are open or the server stops.
  std::shared_ptr<Place> Reserve();
  // A stream in `place`, catching up until CaughtUp.
  std::shared_ptr<Stream> Open(Place& place, std::shared_ptr<http::StreamSink> sink);
  // Sends the entries held while catching up that come after `through` (the feed position the
  // backlog was read to); from now on entries go out as published.
  void CaughtUp(Stream& stream, int64_t through);
  // On the sync thread: one feed entry, to every open stream.
  void Publish(const store::RevocationEvent& event);
  // The server is stopping: ends every stream and refuses new ones.
  void EndAll();
  std::size_t OpenCount() const { return open_.load(std::memory_order_relaxed); }
  int64_t user_lifetime() const { return user_lifetime_; }

 private:
  void Heartbeats();
  // Writes `bytes` (the entry at feed position `seq`, or a comment: 0) to every stream; drops
  // the ones that ended. Holds mutex_.
  void WriteAllLocked(int64_t seq, const std::string& bytes);

  const std::size_t max_streams_;
  const int64_t user_lifetime_;
  std::atomic<std::size_t> open_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<Stream>> streams_;
  bool stopping_ = false;
  std::condition_variable stop_;
  std::thread heartbeat_;
};

}  // namespace gatehouse::api
