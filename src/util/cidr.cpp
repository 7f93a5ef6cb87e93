#include "util/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace gatehouse {
namespace {

// Parses an address into 16 bytes; IPv4 becomes ::ffff:a.b.c.d so one comparison serves both.
bool ParseAddress(std::string_view text, std::array<uint8_t, 16>& out, bool& is_v4) {
  const std::string terminated(text);
  in_addr v4{};
  if (inet_pton(AF_INET, terminated.c_str(), &v4) == 1) {
    out = {};
    out[10] = out[11] = 0xFF;
    std::memcpy(&out[12], &v4, 4);
    is_v4 = true;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, terminated.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    is_v4 = false;
    return true;
  }
  return false;
}

bool Contains(const IpNetwork& network, const std::array<uint8_t, 16>& address) {
  const int full = network.prefix_bits / 8;
  if (std::memcmp(network.bytes.data(), address.data(), full) != 0) return false;
  const int rest = network.prefix_bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (network.bytes[full] & mask) == (address[full] & mask);
}

}  // namespace

std::optional<IpNetwork> ParseNetwork(std::string_view text) {
  const auto slash = text.find('/');
  IpNetwork network;
  bool is_v4 = false;
  if (!ParseAddress(text.substr(0, slash), network.bytes, is_v4)) return std::nullopt;
  if (slash == std::string_view::npos) return network;
  const std::string_view bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return std::nullopt;
  int prefix = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > (is_v4 ? 32 : 128)) return std::nullopt;
  network.prefix_bits = is_v4 ? prefix + 96 : prefix;
  return network;
}

bool InAnyNetwork(std::string_view address, const std::vector<IpNetwork>& networks) {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;
  if (networks.empty() || !ParseAddress(address, bytes, is_v4)) return false;
  for (const auto& network : networks) {
    if (Contains(network, bytes)) return true;
  }
  return false;
}

}  // namespace gatehouse
