// A streamed answer (Server-Sent Events): the head goes out like any answer, then the body is
// whatever its feeder writes, chunked (each Write one chunk, so a client sees it at once),
// until either side ends it. The connection closes at the end: a stream's connection is never
// reused for another request.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace gatehouse::http {

// The writing end of a streamed answer, held by whoever feeds it. Every call is safe from any
// thread and never blocks: bytes are queued and written by the connection's I/O thread.
class StreamSink {
 public:
  // What may wait unsent per stream: a reader that falls this far behind is dropped rather
  // than let its queue grow.
  static constexpr std::size_t kMaxQueuedBytes = 1 << 20;

  virtual ~StreamSink() = default;
  // Queues `bytes`; false when the stream has ended (the client left, the server is stopping,
  // or the reader fell kMaxQueuedBytes behind): nothing more will be sent, drop the sink.
  virtual bool Write(std::string bytes) = 0;
  // Ends the stream: what was queued is still sent, then the connection closes.
  virtual void End() = 0;
  // Bytes queued and not yet written to the socket.
  virtual std::size_t Queued() const = 0;
};

// Set on a Response to stream it: called once on the connection's I/O thread, after the head
// and the Response's body went out, with the sink of the rest. It must not block.
using StreamStart = std::function<void(std::shared_ptr<StreamSink>)>;

}  // namespace gatehouse::http
