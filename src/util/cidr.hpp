// IP networks for `trusted_proxies`: "10.0.0.0/8", "::1", "192.168.1.7".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace gatehouse {

struct IpNetwork {
  std::array<uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix_bits = 128;
};

// nullopt when `text` is not an address or address/prefix.
std::optional<IpNetwork> ParseNetwork(std::string_view text);

// True when `address` (textual, v4 or v6) lies in any of `networks`.
bool InAnyNetwork(std::string_view address, const std::vector<IpNetwork>& networks);

}  // namespace gatehouse
