#include "http/session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "http/beast_request.hpp"
#include "http/response_writer.hpp"
#include "http/router.hpp"
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

const boost::system::error_category& kHttpErrors =
    bhttp::make_error_code(bhttp::error::bad_method).category();

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Server& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) client_address_ = peer.address().to_string();
  }
  ~Session() { server_.open_connections().fetch_sub(1, std::memory_order_relaxed); }

  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadRequest();  // a pipelined request is already here
    if (server_.draining()) return Close();
    // Idle keep-alive: wait for the first byte of the next request under the idle timeout.
    stream_.expires_after(server_.settings().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

 private:
  void ReadRequest() {
    const auto& settings = server_.settings();
    parser_.emplace();
    ConfigureParser(*parser_, settings);
    // The whole request, once begun, must arrive within the read timeout: a client stalling
    // mid-request is dropped and never holds more than its socket.
    stream_.expires_after(settings.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec == bhttp::error::header_limit) return SendError(431, "Request header too large");
      if (ec == bhttp::error::body_limit) return SendError(413, "Request body too large");
      // A syntax error gets an answer; a closed, reset or timed-out connection gets none.
      const bool syntax_error = ec.category() == kHttpErrors && ec != bhttp::error::end_of_stream &&
                                ec != bhttp::error::partial_message;
      return syntax_error ? SendError(400, "Malformed request") : Close();
    }

    server_.in_flight().fetch_add(1, std::memory_order_relaxed);
    started_ = std::chrono::steady_clock::now();
    request_id_ = obs::NewRequestId();
    stream_.expires_never();  // a slow handler (hash queue) is not the client's fault
    const auto& message = parser_->get();
    FillRequest(message, client_address_, server_.settings(), request_);
    keep_alive_ = message.keep_alive();

    auto self = shared_from_this();
    Route(request_, server_.services(), [self](Response response) {
      auto executor = self->stream_.get_executor();
      // Synchronous handlers answer on this connection's thread; pool jobs hop back to it.
      net::dispatch(executor, [self, response = std::move(response)]() mutable {
        self->Send(std::move(response), /*counted=*/true);
      });
    });
  }

  void SendError(unsigned status, std::string_view message) {
    Response response = MessageResponse(status, message);
    response.close = true;
    Send(std::move(response), /*counted=*/false);
  }

  void Send(Response response, bool counted) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started_;
    obs::GlobalMetrics().RecordRequest(
        counted ? RouteIndex(request_.path) : obs::Metrics::kMaxRoutes - 1, response.status,
        counted ? elapsed.count() : 0.0);
    const bool close = response.close || !keep_alive_ || server_.draining();
    if (counted && server_.settings().log_requests) LogRequest(response.status, elapsed.count());
    WriteResponse(response, counted ? std::string_view(request_id_) : std::string_view(), close,
                  out_);
    stream_.expires_after(server_.settings().read_timeout);
    net::async_write(
        stream_, net::buffer(out_),
        [self = shared_from_this(), close, counted](beast::error_code ec, std::size_t) {
          if (counted) self->server_.in_flight().fetch_sub(1);
          if (ec) return self->Close();
          if (close) return self->DrainAndClose();
          self->WaitForRequest();
        });
  }

  void LogRequest(unsigned status, double seconds) {
    static constexpr const char* kMethods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                               "PATCH", "DELETE", "OPTIONS", "OTHER"};
    obs::Info("request", {{"request_id", request_id_},
                          {"method", kMethods[static_cast<int>(request_.method)]},
                          {"path", request_.path},
                          {"status", std::to_string(status)},
                          {"ms", std::to_string(seconds * 1000.0)},
                          {"client", request_.client_address}});
  }

  void DrainAndClose() {
    beast::error_code ec;
    stream_.socket().shutdown(Socket::shutdown_send, ec);
    drain_deadline_ = std::chrono::steady_clock::now() + kDrainTime;
    DrainSome();
  }

  void DrainSome() {
    if (drained_ > kMaxDrainBytes || std::chrono::steady_clock::now() > drain_deadline_) {
      return Close();
    }
    buffer_.clear();
    stream_.expires_at(drain_deadline_);
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->drained_ += n;
                              self->DrainSome();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(Socket::shutdown_both, ec);
    stream_.close();
  }

  beast::basic_stream<net::ip::tcp, Executor, beast::unlimited_rate_policy> stream_;
  Server& server_;
  beast::flat_buffer buffer_;
  std::optional<BeastParser> parser_;
  std::string out_;  // the answer being written; reused, so its capacity is kept
  Request request_;
  std::string client_address_;
  bool keep_alive_ = true;
  std::size_t drained_ = 0;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::chrono::steady_clock::time_point started_;
  std::string request_id_;
};

}  // namespace

void StartSession(Socket socket, Server& server) {
  std::make_shared<Session>(std::move(socket), server)->WaitForRequest();
}

}  // namespace gatehouse::http
