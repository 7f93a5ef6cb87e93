// Starting a session and revoking every token of a user: the two steps whose order makes
// revocation hold against races (API.md §9). A session is recorded in the store before its
// first token exists, on the condition that the user's password is still the one just
// checked; revoking every token of a user ends each recorded session by sid in the same
// transaction. So a login that raced a password change either recorded its session first
// (and the change ended it) or finds the password changed (and gets no tokens), and a refresh
// in flight during a logout-everywhere mints into a session that the logout revoked.
// Call these only on a worker pool: they wait on storage.
#pragma once

#include "api/services.hpp"

namespace gatehouse::api {

// Records a new session of `user` (read from the store just before) and issues its first
// tokens. kConflict when the user's password changed, or the user went, since it was read.
Result<auth::TokenPair> OpenSession(Services& services, const store::UserRecord& user);

// Makes what the store revoked visible to this process's token checks: the user's
// revoked-before time and each session by sid. Call it before answering the request.
void ApplyRevoked(Services& services, const store::UserTokensRevoked& revoked);

// Revokes every token of `username` issued until now (logout everywhere): durable, then
// visible here, then other instances follow the store's feed.
Status RevokeEveryToken(Services& services, std::string_view username);

}  // namespace gatehouse::api
