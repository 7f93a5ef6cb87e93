// The raw argon2id rate at gatehouse's parameters (m=19456 KiB, t=2, p=1): N threads each
// verify a password against one precomputed hash for a fixed time; prints hashes/s. With
// --impl gatehouse (the default) the verify is auth::VerifyPassword, what POST /login runs per
// request (auth/argon2_fast); with --impl libsodium it is crypto_pwhash_str_verify.
//
//   gatehouse_argon2_rate --threads N --seconds S [--impl gatehouse|libsodium]
//   gatehouse_argon2_rate --print-hash     prints gatehouse's PHC string of the password
//   gatehouse_argon2_rate --check PHC      exit 0 when gatehouse verifies a PHC string of the
//                                          password made elsewhere (bench/node: @node-rs/argon2)
//
// Output, one line of JSON: {"impl":I,"threads":N,"seconds":S,"hashes":H,"hashes_per_s":R}
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/passwords.hpp"

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  double seconds = 5;
  std::string_view impl = "gatehouse";
  std::optional<std::string_view> check;
  bool print_hash = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--print-hash") {
      print_hash = true;
      continue;
    }
    const bool known =
        flag == "--threads" || flag == "--seconds" || flag == "--impl" || flag == "--check";
    if (!known || i + 1 == argc) {
      std::fprintf(stderr, "%s: unknown, or without its value\n", argv[i]);
      return 2;
    }
    const char* value = argv[++i];
    if (flag == "--threads")
      threads = std::atoi(value);
    else if (flag == "--seconds")
      seconds = std::atof(value);
    else if (flag == "--impl")
      impl = value;
    else
      check = value;
  }
  if (threads < 1 || !(seconds > 0)) {
    std::fprintf(stderr, "--threads and --seconds: positive numbers\n");
    return 2;
  }
  if (impl != "gatehouse" && impl != "libsodium") {
    std::fprintf(stderr, "--impl: gatehouse or libsodium\n");
    return 2;
  }
  const bool ours = impl == "gatehouse";
  if (sodium_init() < 0) return 1;

  static constexpr char kPassword[] = "bench-password-1";
  if (print_hash) {
    const auto made = gatehouse::auth::HashPassword(kPassword);
    if (!made) return 1;
    std::printf("%s\n", made->c_str());
    return 0;
  }
  if (check) {  // an empty string (a failed command's output) is not verified either
    if (gatehouse::auth::VerifyPassword(*check, kPassword)) return 0;
    std::fprintf(stderr, "gatehouse does not verify the given PHC string\n");
    return 1;
  }
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
