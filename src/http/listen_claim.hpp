// Makes the `listen` address this process's alone (API.md §8).
// The server binds one SO_REUSEPORT acceptor per I/O thread. SO_REUSEPORT lets any socket of
// the same user that also sets it share the port, so a second gatehouse started on a served
// address would silently take half the connections (and a token revoked on one instance would
// be accepted by the other until its feed caught up). Two checks close that:
//  - a probe socket bound without SO_REUSEPORT: the kernel refuses it while anything listens on
//    the address (SO_REUSEADDR is set so that TIME_WAIT connections of a previous run do not);
//  - an abstract Unix socket named after the address, held for the life of the process: two
//    gatehouses starting at the same instant cannot both pass the probe before either listens.
// The names are per network namespace, like the ports, and vanish with the process. What is
// left: a program other than gatehouse that sets SO_REUSEPORT and binds in the microseconds
// between the probe and our own bind; nothing else shares the port.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>

#include "util/startup_error.hpp"

namespace gatehouse::http {

class ListenClaim {
 public:
  // Claims address:port (port 0: the kernel picks a free port, see port()). Fails with a
  // one-line detail starting "setting listen:": kBadSetting when `host` is not an IP address,
  // kEnvironment when another process serves the address or it cannot be bound.
  static StartupResult<ListenClaim> Take(const std::string& host, uint16_t port);

  ListenClaim() = default;
  ListenClaim(ListenClaim&& other) noexcept;
  ListenClaim& operator=(ListenClaim&& other) noexcept;
  ListenClaim(const ListenClaim&) = delete;
  ListenClaim& operator=(const ListenClaim&) = delete;
  ~ListenClaim();

  const boost::asio::ip::address& address() const { return address_; }
  uint16_t port() const { return port_; }

 private:
  int lock_fd_ = -1;  // the abstract Unix socket
  boost::asio::ip::address address_;
  uint16_t port_ = 0;
};

}  // namespace gatehouse::http
