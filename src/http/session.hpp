// One client connection: read a request (fresh parser, size limits, timeouts), route it,
// write the answer, repeat. Requests on one connection are answered strictly in order; a
// pipelining client's next request waits in the buffer until the current one is answered.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <utility>  // before Asio: Boost 1.74 under GCC 12 needs std::exchange declared

namespace gatehouse::http {

class Server;

// Takes the accepted socket and runs the connection to its end on the socket's executor.
void StartSession(boost::asio::ip::tcp::socket socket, Server& server);

}  // namespace gatehouse::http
