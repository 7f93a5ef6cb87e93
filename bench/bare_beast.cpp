// The ceiling of an Asio/Beast server on this machine: what issue 7 calls "a bare Boost.Beast
// keep-alive server". One io_context and one SO_REUSEPORT acceptor per thread (gatehouse's
// layout), a fresh request parser per request (http::async_read), and one fixed answer written
// with async_write. No routing, no token check, no timeouts, no metrics: whatever gatehouse
// spends above this is its own.
//
//   gatehouse_bare_beast --port P --threads N --body FILE --content-type TYPE
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket socket, const std::string& answer)
      : socket_(std::move(socket)), answer_(answer) {}

  void Read() {
    parser_.emplace();
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return;
                        self->Write();
                      });
  }

 private:
  void Write() {
    net::async_write(socket_, net::buffer(answer_),
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return;
                       self->Read();
                     });
  }

  Socket socket_;
  const std::string& answer_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

void Accept(Acceptor& acceptor, const std::string& answer) {
  acceptor.async_accept([&acceptor, &answer](boost::system::error_code ec, Socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), answer)->Read();
    }
    Accept(acceptor, answer);
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  int threads = 1;
  std::string body_file, content_type = "application/json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--port") port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    if (flag == "--body") body_file = argv[i + 1];
    if (flag == "--content-type") content_type = argv[i + 1];
  }
  std::ifstream file(body_file);
  std::stringstream body;
  body << file.rdbuf();
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
                             "\r\nContent-Length: " + std::to_string(body.str().size()) +
                             "\r\n\r\n" + body.str();

  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  for (int i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    auto acceptor = std::make_unique<Acceptor>(contexts.back()->get_executor());
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->set_option(ReusePort(true));
    acceptor->bind(endpoint);
    acceptor->listen(net::socket_base::max_listen_connections);
    Accept(*acceptor, answer);
    acceptors.push_back(std::move(acceptor));
  }
  std::cout << "listening on 127.0.0.1:" << port << std::endl;
  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i)
    runners.emplace_back([&context = *contexts[i]] { context.run(); });
  contexts.front()->run();
  for (auto& runner : runners) runner.join();
}
