// argon2id (RFC 9106, version 0x13) computed by our own fill loop, producing and accepting the
// same PHC strings as libsodium's crypto_pwhash_str / crypto_pwhash_str_verify.
//
// Why it exists (measured on the 2-core Sapphire Rapids VM, thread CPU time per hash, m=19456
// KiB, t=2, p=1): libsodium 1.0.18 takes ~21 ms when sodium_init() has not run (it then keeps
// its portable reference fill code: the same speed as Debian's libargon2, which is built without
// SIMD), ~10.5-11 ms after sodium_init() (AVX-512F fill), of which ~30% is kernel time: every
// hash mmap()s the 19 MiB area with MAP_POPULATE (4864 page faults), wipes it and munmap()s it.
// This file takes ~7.2-7.8 ms (Node's @node-rs/argon2: ~7.9-9.2 ms), because:
//   - every thread keeps one work area for its whole life: mapped once, touched once, reused by
//     every hash on that thread; no system call and no page fault per hash;
//   - the area is 2 MiB-aligned and madvise(MADV_HUGEPAGE)d (THP is "madvise" on Debian), so the
//     random 1 KiB reference-block reads do not miss the TLB (~6% of a hash);
//   - the reference block of the next block is prefetched as soon as the first word of the
//     current block is known (~4%), and no division sits on that latency chain (~2%);
//   - the compression function G has AVX-512F, AVX2 and portable versions, picked once from
//     CPUID, whether or not sodium_init() has run. BLAKE2b (H0 and H') is libsodium's.
//
// Thread safety: every function may be called from any number of threads at once. A work area
// belongs to one thread and is never shared.
//
// What stays in memory: nothing derived from the password outlives a call. During a hash the
// work area holds blocks from which a password guess could be checked with a few BLAKE2b calls
// instead of a memory-hard hash, so the used part is wiped (explicit_bzero via sodium_memzero)
// before every call returns: measured at ~0.7-0.8 ms, about 10% of a hash, and kept because a
// core dump or memory disclosure must not turn the last login's hash into a fast one. H0, the
// final block and the compression function's stack frames (16 KiB burned) are wiped too. What
// stays is the area itself, zeroed and excluded from core dumps: ~20 MiB of resident memory per
// thread that has hashed, until ReleaseArgon2idWorkArea() or the thread's exit unmaps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace gatehouse::auth {

// The parameters of every hash we make (OWASP's minimum for argon2id); passwords.hpp gives them
// in libsodium's units.
inline constexpr uint32_t kArgon2idPasses = 2;
inline constexpr uint32_t kArgon2idMemoryKiB = 19456;
inline constexpr uint32_t kArgon2idLanes = 1;
inline constexpr std::size_t kArgon2idSaltBytes = 16;
inline constexpr std::size_t kArgon2idTagBytes = 32;

// A PHC string "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>" (unpadded standard base64 of a
// random 16-byte salt and of the 32-byte tag), byte for byte the format of libsodium's
// crypto_pwhash_str_alg(..., 2, 19 MiB, crypto_pwhash_ALG_ARGON2ID13). kStorageFailure when the
// work area cannot be mapped, or the password is longer than 2^32-1 bytes.
Result<std::string> HashArgon2id(std::string_view password);

// True when `password` matches the argon2id PHC string `phc`, exactly as
// crypto_pwhash_str_verify() would answer. Strings in the canonical form with parameters that fit
// the per-thread area (m <= 19456 KiB, p <= 16, salt 8..64 bytes, tag 16..64 bytes) take the
// fast path; anything else (other parameters, other spellings, other versions) is handed to
// libsodium unchanged, which then decides. A string with a NUL byte in it is refused. Compares
// in constant time.
bool VerifyArgon2id(std::string_view phc, std::string_view password);

// Wipes and unmaps the calling thread's work area (a no-op if it has none). Optional: a hashing
// thread may call it when it goes idle to give back its ~20 MiB; the next hash maps it again.
void ReleaseArgon2idWorkArea();

namespace argon2_detail {

// The implementations of the compression function. kAuto is the fastest the CPU supports.
enum class Kernel { kAuto, kPortable, kAvx2, kAvx512 };

bool KernelAvailable(Kernel kernel);
// The kernel kAuto resolves to on this machine.
Kernel BestKernel();
const char* KernelName(Kernel kernel);

struct Params {
  uint32_t passes = kArgon2idPasses;         // t
  uint32_t memory_kib = kArgon2idMemoryKiB;  // m
  uint32_t lanes = kArgon2idLanes;           // p (computed one after another, on this thread)
};

// Raw argon2id: writes out.size() bytes (16..1024, as libsodium allows) of tag. False if a
// parameter is out of range (RFC 9106 section 3.1: t >= 1, 1 <= p <= 2^24-1, m >= 8p, salt >= 8
// bytes) or the work area cannot be mapped. The work area grows to m KiB if needed (tests use other
// sizes).
bool Argon2idRaw(const Params& params, std::string_view password,
                 std::span<const unsigned char> salt, std::span<const unsigned char> secret,
                 std::span<const unsigned char> associated_data, std::span<unsigned char> out,
                 Kernel kernel = Kernel::kAuto);

// The PHC string of a tag, in libsodium's spelling.
std::string EncodePhc(const Params& params, std::span<const unsigned char> salt,
                      std::span<const unsigned char> tag);

}  // namespace argon2_detail

}  // namespace gatehouse::auth
