#include "http/session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <optional>

#include "http/connection_deadlines.hpp"
#include "http/request_parser.hpp"
#include "http/response_writer.hpp"
#include "http/server.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"

namespace gatehouse::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

// After an error answer that closes the connection, unread request bytes would make the kernel
// send RST and the client could lose the answer; so the rest is read and dropped, within bounds.
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr auto kDrainTime = std::chrono::seconds(2);

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

class Session;

// The sink a streamed answer's feeder holds: it queues on the session's I/O thread and never
// keeps the session alive (a closed connection ends the stream, not the other way round).
class SessionStream : public StreamSink {
 public:
  SessionStream(std::weak_ptr<Session> session, Executor executor)
      : session_(std::move(session)), executor_(std::move(executor)) {}
  bool Write(std::string bytes) override;
  void End() override;
  std::size_t Queued() const override { return queued_.load(std::memory_order_relaxed); }
  void MarkEnded() { ended_.store(true, std::memory_order_relaxed); }
  void Written(std::size_t bytes) { queued_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  std::weak_ptr<Session> session_;
  Executor executor_;
  std::atomic<bool> ended_{false};
  std::atomic<std::size_t> queued_{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Server& server, ConnectionDeadlines& deadlines)
      : socket_(std::move(socket)), deadline_(deadlines, socket_), server_(server) {
    beast::error_code ec;
    // Answers are written at once when the kernel takes them whole (see Send); a full send
    // buffer must then say so rather than block the thread.
    socket_.non_blocking(true, ec);
    const auto peer = socket_.remote_endpoint(ec);
    if (!ec) client_address_ = peer.address().to_string();
  }
  ~Session() {
    if (in_flight_) server_.in_flight().fetch_sub(1, std::memory_order_relaxed);
    server_.open_connections().fetch_sub(1, std::memory_order_relaxed);
  }

  void WaitForRequest() {
    if (buffer_.size() > 0) return StartRequest();  // a pipelined request is already here
    if (server_.draining()) return Close();
    // Idle keep-alive: wait for the first byte of the next request under the idle timeout.
    deadline_.ExpiresAfter(server_.settings().idle_timeout);
    socket_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->Guarded([&] { self->StartRequest(); });
                            });
  }

 private:
  static constexpr std::size_t kFirstReadBytes = 4096;
  static constexpr std::size_t kMaxReadBytes = 65536;

  // Every entry from the event loop runs through here: whatever a request makes throw ends
  // its own connection, logged, and never reaches io_context::run.
  template <class Step>
  void Guarded(Step&& step) noexcept {
    try {
      step();
    } catch (const std::exception& e) {
      obs::Error("connection failed", {{"error", e.what()}, {"client", client_address_}});
      Close();
    } catch (...) {
      obs::Error("connection failed",
                 {{"error", "unknown exception"}, {"client", client_address_}});
      Close();
    }
  }

  void StartRequest() {
    const auto& settings = server_.settings();
    parser_.emplace(parsed_, settings.header_bytes, settings.body_bytes);
    continue_sent_ = false;
    // The whole request, once begun, must arrive within the read timeout: a client stalling
    // mid-request is dropped and never holds more than its socket.
    deadline_.ExpiresAfter(settings.read_timeout);
    Parse();
  }

  // Feeds what has arrived to the parser; reads more while it needs more. The same steps as
  // Beast's http::async_read, without its composed operation, which went through the event
  // loop once more for every request already in the buffer.
  void Parse() {
    while (buffer_.size() > 0) {
      beast::error_code ec;
      const std::size_t used = parser_->Put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return OnParseError(ec);
      if (parser_->is_done()) return OnRequest();
      if (used == 0) break;
    }
    if (parser_->is_header_done() && parser_->expects_continue() && !continue_sent_) {
      return SendContinue();
    }
    ReadMore();
  }

  // RFC 9110 §10.1.1: the client holds its body back until told to go on. Only a head that
  // passed every check gets here; one refused from the head alone (413 for a Content-Length
  // over the limit, 400, 431, 501) had its final answer instead.
  void SendContinue() {
    continue_sent_ = true;
    net::async_write(socket_, net::buffer(kContinue),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->Close();
                       self->Guarded([&] { self->ReadMore(); });
                     });
  }

  void ReadMore() {
    const std::size_t size = beast::read_size(buffer_, kMaxReadBytes);
    socket_.async_read_some(
        buffer_.prepare(size),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->OnBytes(ec, n); });
  }

  void OnBytes(beast::error_code ec, std::size_t n) {
    // End of stream mid-request (nobody is left to read an answer), a reset, or the socket
    // closed by its deadline.
    if (ec) return Close();
    buffer_.commit(n);
    Guarded([&] { Parse(); });
  }

  void OnParseError(beast::error_code ec) {
    const Rejection rejection = parser_->RejectionFor(ec);
    SendError(rejection.status, rejection.message);
  }

  void OnRequest() {
    server_.in_flight().fetch_add(1, std::memory_order_relaxed);
    in_flight_ = true;
    started_ = std::chrono::steady_clock::now();
    request_id_ = obs::NewRequestId();
    deadline_.ExpiresNever();  // a slow handler (hash queue) is not the client's fault
    parser_->Fill(client_address_, server_.settings(), request_);
    keep_alive_ = parser_->keep_alive();

    route_ = server_.handler().Route(request_);
    auto self = shared_from_this();
    server_.handler().Serve(route_, request_, [self](Response response) {
      auto executor = self->socket_.get_executor();
      // Synchronous handlers answer on this connection's thread; pool jobs hop back to it.
      net::dispatch(executor, [self, response = std::move(response)]() mutable {
        self->Guarded([&] { self->Send(std::move(response), /*counted=*/true); });
      });
    });
  }

  void SendError(unsigned status, std::string_view message) {
    Response response = MessageResponse(status, message);
    response.close = true;
    server_.handler().DecorateRefusal(parser_->origin(), response);
    Send(std::move(response), /*counted=*/false);
  }

  void Send(Response response, bool counted) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started_;
    obs::GlobalMetrics().RecordRequest(counted ? route_ : obs::Metrics::kMaxRoutes - 1,
                                       response.status, counted ? elapsed.count() : 0.0);
    const bool head = counted && request_.method == Method::kHead;
    const bool stream = counted && response.stream && !head;
    const bool close = response.close || !keep_alive_ || server_.draining() || stream;
    if (counted && server_.settings().log_requests) LogRequest(response.status, elapsed.count());
    WriteResponse(response, counted ? request_id_.view() : std::string_view(), close, head, out_);
    if (stream) return StartStream(std::move(response.stream));
    // An answer almost always fits the socket's send buffer: written here, it needs no trip
    // through the event loop. What the kernel did not take goes out asynchronously.
    beast::error_code ec;
    const std::size_t written = socket_.write_some(net::buffer(out_), ec);
    if (ec == net::error::would_block || (!ec && written < out_.size())) {
      deadline_.ExpiresAfter(server_.settings().read_timeout);
      net::async_write(
          socket_, net::buffer(out_) + (ec ? 0 : written),
          [self = shared_from_this(), close, counted](beast::error_code error, std::size_t) {
            self->Guarded([&] { self->AfterWrite(error, close, counted); });
          });
      return;
    }
    if (!ec && !close) {
      // The next request goes through the event loop, as an async_write's completion would:
      // reading at once mostly finds nothing yet (the client has not had the answer), a
      // wasted recv per request; and a pipelined request waiting in the buffer would nest
      // one call per request on this stack.
      net::post(socket_.get_executor(), [self = shared_from_this(), counted] {
        self->Guarded([&] { self->AfterWrite({}, /*close=*/false, counted); });
      });
      return;
    }
    AfterWrite(ec, close, counted);
  }

  void AfterWrite(beast::error_code ec, bool close, bool counted) {
    if (counted) Answered();
    if (ec) return Close();
    if (close) return DrainAndClose();
    WaitForRequest();
  }

  // The request is answered (its head, for a stream): it no longer holds up a drain.
  void Answered() {
    if (!in_flight_) return;
    in_flight_ = false;
    server_.in_flight().fetch_sub(1);
  }

 public:
  // On this connection's thread: queues bytes of the streamed answer.
  void Enqueue(std::string bytes) {
    if (stream_closed_ || stream_ending_) return stream_->Written(bytes.size());
    stream_queue_.push_back(std::move(bytes));
    if (!stream_writing_) Guarded([&] { WriteStream(); });
  }
  // On this connection's thread: ends the stream once what is queued has gone out.
  void EndStream() {
    if (stream_closed_ || stream_ending_) return stream_->Written(kLastChunk.size());
    stream_ending_ = true;
    stream_queue_.emplace_back(kLastChunk);
    if (!stream_writing_) Guarded([&] { WriteStream(); });
  }

 private:
  // Writes the head, then hands the sink to the feeder and waits for the client to leave (a
  // read that only ends with the connection; anything the client sends is dropped).
  void StartStream(StreamStart start) {
    deadline_.ExpiresAfter(server_.settings().read_timeout);
    net::async_write(
        socket_, net::buffer(out_),
        [self = shared_from_this(), start = std::move(start)](beast::error_code ec, std::size_t) {
          self->Guarded([&] {
            self->Answered();
            if (ec) return self->Close();
            self->deadline_.ExpiresNever();
            self->stream_ = std::make_shared<SessionStream>(self->weak_from_this(),
                                                            self->socket_.get_executor());
            self->WatchStreamReader();
            start(self->stream_);
          });
        });
  }

  void WatchStreamReader() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->Close();
                              self->Guarded([&] { self->WatchStreamReader(); });
                            });
  }

  // One queued piece at a time, each under the read timeout: a reader that stops reading is
  // dropped when its deadline passes, and never blocks this thread.
  void WriteStream() {
    if (stream_closed_) return;
    if (stream_queue_.empty()) {
      stream_writing_ = false;
      if (stream_ending_) Close();
      return;
    }
    stream_writing_ = true;
    deadline_.ExpiresAfter(server_.settings().read_timeout);
    net::async_write(socket_, net::buffer(stream_queue_.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->Guarded([&] {
                         self->deadline_.ExpiresNever();
                         self->stream_->Written(self->stream_queue_.front().size());
                         self->stream_queue_.pop_front();
                         if (ec) return self->Close();
                         self->WriteStream();
                       });
                     });
  }

  void LogRequest(unsigned status, double seconds) {
    static constexpr const char* kMethods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                               "PATCH", "DELETE", "OPTIONS", "OTHER"};
    obs::Info("request", {{"request_id", request_id_.view()},
                          {"method", kMethods[static_cast<int>(request_.method)]},
                          {"path", request_.path},
                          {"status", std::to_string(status)},
                          {"ms", std::to_string(seconds * 1000.0)},
                          {"client", request_.client_address}});
  }

  void DrainAndClose() {
    beast::error_code ec;
    socket_.shutdown(Socket::shutdown_send, ec);
    deadline_.ExpiresAfter(kDrainTime);
    DrainSome();
  }

  void DrainSome() {
    if (drained_ > kMaxDrainBytes) return Close();
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->drained_ += n;
                              self->Guarded([&] { self->DrainSome(); });
                            });
  }

  void Close() {
    if (stream_) {
      stream_->MarkEnded();
      stream_closed_ = true;
    }
    deadline_.ExpiresNever();
    beast::error_code ec;
    socket_.shutdown(Socket::shutdown_both, ec);
    socket_.close(ec);
  }

  Socket socket_;
  ConnectionDeadlines::Deadline deadline_;  // after socket_: it must go first
  Server& server_;
  beast::flat_buffer buffer_;
  ParsedRequest parsed_;  // before parser_, which refers to it
  std::optional<RequestParser> parser_;
  std::string out_;  // the answer being written; reused, so its capacity is kept
  Request request_;
  std::string client_address_;
  bool keep_alive_ = true;
  bool continue_sent_ = false;
  bool in_flight_ = false;  // counted in server_.in_flight() until answered
  std::size_t drained_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::size_t route_ = obs::Metrics::kMaxRoutes - 1;  // the metrics label of the request
  obs::RequestId request_id_;
  // A streamed answer (http/stream.hpp), once its head is out.
  std::shared_ptr<SessionStream> stream_;
  std::deque<std::string> stream_queue_;
  bool stream_writing_ = false;
  bool stream_ending_ = false;
  bool stream_closed_ = false;
};

bool SessionStream::Write(std::string data) {
  if (ended_.load(std::memory_order_relaxed)) return false;
  if (data.empty()) return true;
  std::string bytes;
  AppendChunk(bytes, data);
  const std::size_t size = bytes.size();
  if (queued_.fetch_add(size, std::memory_order_relaxed) + size > kMaxQueuedBytes) {
    queued_.fetch_sub(size, std::memory_order_relaxed);
    End();
    return false;
  }
  net::post(executor_, [session = session_, bytes = std::move(bytes)]() mutable {
    if (auto live = session.lock()) live->Enqueue(std::move(bytes));
  });
  return true;
}

void SessionStream::End() {
  if (ended_.exchange(true, std::memory_order_relaxed)) return;
  queued_.fetch_add(kLastChunk.size(), std::memory_order_relaxed);
  net::post(executor_, [session = session_] {
    if (auto live = session.lock()) live->EndStream();
  });
}

}  // namespace

void StartSession(Socket socket, Server& server, ConnectionDeadlines& deadlines) {
  std::make_shared<Session>(std::move(socket), server, deadlines)->WaitForRequest();
}

}  // namespace gatehouse::http
