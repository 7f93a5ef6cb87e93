// One client connection: read a request (fresh parser, size limits, timeouts), route it,
// write the answer, repeat. Requests on one connection are answered strictly in order; a
// pipelining client's next request waits in the buffer until the current one is answered.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>  // before Asio: Boost 1.74 under GCC 12 needs std::exchange declared

namespace gatehouse::http {

class ConnectionDeadlines;
class Server;

// Sockets bound to their io_context's own executor type rather than the type-erased
// any_io_executor: every asynchronous operation copies the executor, and on the hot path the
// erased copies cost more than the routing.
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Executor>;

// Takes the accepted socket and runs the connection to its end on the socket's executor, with
// its timeouts kept by `deadlines` (the ones of the socket's I/O thread).
void StartSession(Socket socket, Server& server, ConnectionDeadlines& deadlines);

}  // namespace gatehouse::http
