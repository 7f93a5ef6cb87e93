#include "http/listen_claim.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

namespace gatehouse::http {
namespace {

using tcp = boost::asio::ip::tcp;

std::string Describe(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" +
         std::to_string(endpoint.port());
}

StartupError ListenError(const tcp::endpoint& endpoint, int error) {
  const std::string where = Describe(endpoint);
  if (error == EADDRINUSE) {
    return StartupError{StartupErrorCode::kEnvironment,
                        "setting listen: " + where + " is already served by another process"};
  }
  return StartupError{StartupErrorCode::kEnvironment,
                      "setting listen: cannot listen on " + where + ": " + std::strerror(error)};
}

// Binds a socket without SO_REUSEPORT: refused while any socket listens on the address.
// Answers the port bound (the kernel's choice when `endpoint` has port 0).
StartupResult<uint16_t> Probe(const tcp::endpoint& endpoint) {
  const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ListenError(endpoint, errno);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int error = 0;
  sockaddr_storage bound{};
  socklen_t size = sizeof bound;
  if (::bind(fd, endpoint.data(), endpoint.size()) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size) != 0) {
    error = errno;
  }
  ::close(fd);
  if (error != 0) return ListenError(endpoint, error);
  const auto* in = reinterpret_cast<const sockaddr_in*>(&bound);  // sin_port: same place in v6
  return static_cast<uint16_t>(ntohs(in->sin_port));
}

// The abstract Unix socket "\0gatehouse-listen <address>:<port>"; -1 and errno when taken.
int Lock(const tcp::endpoint& endpoint) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const std::string name = "gatehouse-listen " + Describe(endpoint);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), size) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

}  // namespace

StartupResult<ListenClaim> ListenClaim::Take(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return StartupError{StartupErrorCode::kBadSetting, "setting listen: invalid address"};
  tcp::endpoint endpoint(address, port);
  StartupResult<uint16_t> probed = Probe(endpoint);
  if (!probed) return probed.error();
  endpoint.port(*probed);
  ListenClaim claim;
  claim.lock_fd_ = Lock(endpoint);
  if (claim.lock_fd_ < 0) return ListenError(endpoint, errno);
  // Probed again now that the lock is ours: whatever listened between the first probe and the
  // lock is seen here.
  if (StartupResult<uint16_t> again = Probe(endpoint); !again) return again.error();
  claim.address_ = address;
  claim.port_ = endpoint.port();
  return claim;
}

ListenClaim::ListenClaim(ListenClaim&& other) noexcept
    : lock_fd_(std::exchange(other.lock_fd_, -1)), address_(other.address_), port_(other.port_) {}

ListenClaim& ListenClaim::operator=(ListenClaim&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    address_ = other.address_;
    port_ = other.port_;
  }
  return *this;
}

ListenClaim::~ListenClaim() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace gatehouse::http
