// How a caller of POST /token/introspect and POST /token/revoke proves it holds the caller
// secret: `Authorization: Bearer <secret>` (gatehouse's first way), or HTTP Basic client
// credentials (RFC 6749 §2.3.1, what RFC 7662 and RFC 7009 clients such as Authlib send):
// any client id, the secret as the password, each form-urlencoded before base64.
#pragma once

#include <string_view>

namespace gatehouse::auth {

// Whether `authorization` (the header, bounded by limits.header_bytes) carries `secret`,
// compared in constant time. An empty `secret` matches nothing.
bool CallerHoldsSecret(std::string_view authorization, std::string_view secret);

}  // namespace gatehouse::auth
