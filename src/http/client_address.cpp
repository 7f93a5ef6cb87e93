#include "http/client_address.hpp"

#include "util/ascii.hpp"

namespace gatehouse::http {

std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<IpNetwork>& trusted_proxies) {
  std::string_view client = peer;
  if (forwarded_for.empty() || !InAnyNetwork(peer, trusted_proxies)) return std::string(client);
  // Walk right to left: each hop was added by the proxy before it, and only trusted proxies'
  // additions can be believed.
  while (!forwarded_for.empty()) {
    const std::size_t comma = forwarded_for.rfind(',');
    const std::string_view hop =
        TrimOws(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    if (hop.find('/') != std::string_view::npos || !ParseNetwork(hop)) break;
    client = hop;
    if (!InAnyNetwork(hop, trusted_proxies)) break;
  }
  return std::string(client);
}

}  // namespace gatehouse::http
