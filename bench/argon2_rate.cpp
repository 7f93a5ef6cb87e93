// The raw argon2id rate at gatehouse's parameters (m=19456 KiB, t=2, p=1): N threads each
// verify a password against one precomputed hash with libsodium's crypto_pwhash_str_verify
// (what POST /login runs per request) for a fixed time; prints hashes/s.
//
//   gatehouse_argon2_rate --threads N --seconds S
//
// Output, one line of JSON: {"threads":N,"seconds":S,"hashes":H,"hashes_per_s":R}
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/passwords.hpp"

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--seconds")
      seconds = std::atof(argv[i + 1]);
  }
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
        if (crypto_pwhash_str_verify(hash, kPassword, sizeof kPassword - 1) != 0) failed = true;
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
  std::printf("{\"threads\":%d,\"seconds\":%.3f,\"hashes\":%ld,\"hashes_per_s\":%.2f%s}\n", threads,
              elapsed, hashes.load(), hashes.load() / elapsed,
              failed ? ",\"error\":\"verify failed\"" : "");
  return failed ? 1 : 0;
}
