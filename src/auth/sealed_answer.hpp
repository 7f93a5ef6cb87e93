// The answer to a rotating refresh, kept in the store for the reuse interval so that a replay
// gets it again (API.md §10), sealed so that the store never holds a usable token.
//
// The key is a hash of the whole presented refresh token, signature included: only whoever
// holds that token can open the answer, and whoever holds it could have asked for the answer
// anyway within the interval. A reader of the database (or of a backup) sees the session's
// ids and times, never a token it could present. XSalsa20-Poly1305 (libsodium secretbox) with
// a random nonce; the key is BLAKE2b-256 of the token under a fixed personalization.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/token_service.hpp"

namespace gatehouse::auth {

// base64url(nonce || ciphertext) of the pair, under the key of `presented_token`.
std::string SealAnswer(std::string_view presented_token, const TokenPair& answer);
// The pair, or nullopt when `sealed` was not sealed under `presented_token`'s key (or is damaged).
std::optional<TokenPair> OpenAnswer(std::string_view presented_token, std::string_view sealed);

}  // namespace gatehouse::auth
