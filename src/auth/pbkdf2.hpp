// passlib's pbkdf2_sha256 hashes ($pbkdf2-sha256$<rounds>$<salt>$<hash>, "ab64" alphabet), as
// the Flask service stored them: verified only, never made (a login re-hashes with argon2id).
// A mechanism below the password policy (auth/accounts.cpp), as argon2_fast is. Any thread.
#pragma once

#include <string_view>

namespace gatehouse::auth {

inline constexpr std::string_view kPbkdf2Prefix = "$pbkdf2-sha256$";

// True when `password` matches the pbkdf2_sha256 string `hash` (which starts with
// kPbkdf2Prefix). Compares in constant time; false for a malformed string or more than ten
// million rounds.
bool VerifyPbkdf2Sha256(std::string_view hash, std::string_view password);

}  // namespace gatehouse::auth
