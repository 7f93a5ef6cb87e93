// Who the client is, for rate limiting: the socket's peer, unless that peer is a trusted proxy,
// in which case the right-most X-Forwarded-For entry that is not itself a trusted proxy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/cidr.hpp"

namespace gatehouse::http {

// A forged X-Forwarded-For from an untrusted peer changes nothing; malformed entries end the
// walk at the last good address.
std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<IpNetwork>& trusted_proxies);

}  // namespace gatehouse::http
