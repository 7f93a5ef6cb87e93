// The raw argon2id rate at gatehouse's parameters (m=19456 KiB, t=2, p=1): N threads each
// verify a password against one precomputed hash for a fixed time; prints hashes/s. With
// --impl gatehouse (the default) the verify is auth::VerifyPassword, what POST /login runs per
// request (auth/argon2_fast); with --impl libsodium it is crypto_pwhash_str_verify.
//
//   gatehouse_argon2_rate --threads N --seconds S [--impl gatehouse|libsodium]
//
// Output, one line of JSON: {"impl":I,"threads":N,"seconds":S,"hashes":H,"hashes_per_s":R}
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/passwords.hpp"

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  double seconds = 5;
  std::string_view impl = "gatehouse";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (flag == "--impl")
      impl = argv[i + 1];
  }
  if (impl != "gatehouse" && impl != "libsodium") {
    std::fprintf(stderr, "--impl: gatehouse or libsodium\n");
    return 2;
  }
  const bool ours = impl == "gatehouse";
  if (sodium_init() < 0) return 1;

  static constexpr char kPassword[] = "bench-password-1";
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, kPassword, sizeof kPassword - 1, gatehouse::auth::kArgon2OpsLimit,
                            gatehouse::auth::kArgon2MemLimitBytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<long> hashes{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const bool verified =
            ours ? gatehouse::auth::VerifyPassword(hash, kPassword)
                 : crypto_pwhash_str_verify(hash, kPassword, sizeof kPassword - 1) == 0;
        if (!verified) failed = true;
        hashes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& worker : workers) worker.join();
  // Hashes still running when `stop` was set finish after the deadline: divide by the real time.
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"impl\":\"%s\",\"threads\":%d,\"seconds\":%.3f,\"hashes\":%ld,\"hashes_per_s\":%.2f%s}\n",
      std::string(impl).c_str(), threads, elapsed, hashes.load(), hashes.load() / elapsed,
      failed ? ",\"error\":\"verify failed\"" : "");
  return failed ? 1 : 0;
}
