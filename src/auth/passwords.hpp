// Password hashing: argon2id (auth/argon2_fast, libsodium's format) at OWASP's minimum
// m=19 MiB, t=2, p=1. The four hash functions are the password policy, defined in
// auth/accounts.cpp beside the login (their caller on the request path); the formats are in
// auth/argon2_fast.cpp and auth/pbkdf2.cpp, the secret helpers at the end in passwords.cpp.
// Every hash function here costs tens of milliseconds of CPU by design: call them only on the
// hash pool, never on an I/O thread.
#pragma once

#include <string>
#include <string_view>

#include "auth/argon2_fast.hpp"
#include "util/result.hpp"

namespace gatehouse::auth {

// The parameters of argon2_fast.hpp in libsodium's units (opslimit, memlimit in bytes).
inline constexpr unsigned long long kArgon2OpsLimit = kArgon2idPasses;
inline constexpr std::size_t kArgon2MemLimitBytes = std::size_t{kArgon2idMemoryKiB} * 1024;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// A PHC string ($argon2id$v=19$m=19456,t=2,p=1$...). kStorageFailure if memory runs out.
Result<std::string> HashPassword(std::string_view password);

// True when `password` matches `hash`: argon2id PHC strings, and passlib's pbkdf2_sha256
// strings ($pbkdf2-sha256$<rounds>$<salt>$<hash>, "ab64" alphabet) imported from the Flask
// service. Compares in constant time; false for any format it does not know.
bool VerifyPassword(std::string_view hash, std::string_view password);

// True when `hash` should be replaced by a fresh HashPassword() at the next successful login:
// a legacy pbkdf2 hash, or argon2id with weaker parameters than ours.
bool NeedsRehash(std::string_view hash);

// Costs the same as verifying against a real hash and always returns false: used for unknown
// users so that "no such user" and "wrong password" take the same time.
bool VerifyAgainstDummy(std::string_view password);

// Compares two secrets in time that depends on neither their contents nor their lengths
// (both are hashed first, then the digests compared in constant time).
bool SecretEquals(std::string_view given, std::string_view expected);

// Overwrites a secret's bytes in a way the compiler cannot drop.
void Wipe(std::string& secret);

// Initialises libsodium; call once at start-up before any other auth function. False if the
// library cannot initialise (no entropy source).
bool InitCrypto();

}  // namespace gatehouse::auth
