// argon2id at gatehouse's parameters (m=19456 KiB, t=2, p=1), libsodium's crypto_pwhash against
// auth/argon2_fast, side by side in one run: hashes/s with 1 thread and with N threads (N = the
// cores), minor page faults per hash, and what the wipe of the work area costs.
//
//   gatehouse_argon2_compare [seconds per measurement, default 3] [rounds, default 3] [N]
//
// Each measurement runs every thread flat out for the given time; the two implementations
// alternate (A B A B ...) and the table shows the median round, so that other load on the machine
// hits both alike. "cpu ms/hash" is the median thread CPU time of one hash (less sensitive to
// other processes than wall time).
#include <sodium.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "auth/argon2_fast.hpp"

namespace {

using namespace gatehouse::auth;

constexpr std::string_view kPassword = "correct horse battery staple";

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

long ThreadMinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// The anonymous huge pages of this process (kB), from /proc/self/smaps_rollup.
long AnonHugePagesKb() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  constexpr std::string_view kKey = "AnonHugePages:";
  while (std::getline(in, line)) {
    if (line.rfind(kKey, 0) == 0) return std::atol(line.c_str() + kKey.size());
  }
  return -1;
}

long peak_huge_kb = 0;  // the most seen while a measurement ran

struct Sample {
  double hashes_per_second = 0;
  double cpu_ms_per_hash = 0;
  double minflt_per_hash = 0;
};

struct Impl {
  const char* name;
  std::function<bool(const unsigned char* salt, unsigned char* tag)> hash;
};

// `threads` threads hash for `seconds`; returns the aggregate rate and per-hash medians.
Sample Measure(const Impl& impl, int threads, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<long> hashes{0};
  std::atomic<long> faults{0};
  std::vector<std::vector<double>> cpu(static_cast<std::size_t>(threads));
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      unsigned char salt[crypto_pwhash_SALTBYTES];
      unsigned char tag[32];
      randombytes_buf(salt, sizeof salt);
      impl.hash(salt, tag);  // warm-up: maps this thread's work area where there is one
      const long faults_before = ThreadMinorFaults();
      long done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const double before = ThreadCpuSeconds();
        if (!impl.hash(salt, tag)) failed = true;
        cpu[static_cast<std::size_t>(t)].push_back(ThreadCpuSeconds() - before);
        ++done;
      }
      hashes += done;
      faults += ThreadMinorFaults() - faults_before;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  peak_huge_kb = std::max(peak_huge_kb, AnonHugePagesKb());
  stop = true;
  // Hashes still running when the clock stops are counted, so the clock stops when they end.
  for (auto& thread : pool) thread.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) {
    std::fprintf(stderr, "%s failed\n", impl.name);
    std::exit(1);
  }
  std::vector<double> all;
  for (const auto& per_thread : cpu) all.insert(all.end(), per_thread.begin(), per_thread.end());
  std::sort(all.begin(), all.end());
  Sample sample;
  // The warm-up hash is not counted in `hashes` nor timed.
  sample.hashes_per_second = static_cast<double>(hashes) / elapsed;
  sample.cpu_ms_per_hash = all.empty() ? 0 : 1e3 * all[all.size() / 2];
  sample.minflt_per_hash =
      hashes > 0 ? static_cast<double>(faults) / static_cast<double>(hashes) : 0;
  return sample;
}

Sample Median(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.hashes_per_second < b.hashes_per_second;
  });
  return samples[samples.size() / 2];
}

// The cost of wiping 19 MiB that is in cache, as every hash of ours does before returning.
double WipeMilliseconds() {
  std::vector<unsigned char> area(kArgon2idMemoryKiB * 1024ull, 1);
  std::vector<double> times;
  for (int k = 0; k < 50; ++k) {
    std::memset(area.data(), k, area.size());  // bring it back into the cache, dirty
    const double before = ThreadCpuSeconds();
    sodium_memzero(area.data(), area.size());
    times.push_back(ThreadCpuSeconds() - before);
  }
  std::sort(times.begin(), times.end());
  return 1e3 * times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int n_threads = argc > 3 ? std::max(1, std::atoi(argv[3])) : cores;
  if (sodium_init() < 0) {
    std::fprintf(stderr, "sodium_init failed\n");
    return 1;
  }

  // Both must produce the same tag before either is timed.
  unsigned char salt[crypto_pwhash_SALTBYTES];
  randombytes_buf(salt, sizeof salt);
  unsigned char theirs[32];
  unsigned char ours[32];
  if (crypto_pwhash(theirs, sizeof theirs, kPassword.data(), kPassword.size(), salt,
                    kArgon2idPasses, kArgon2idMemoryKiB * 1024ull,
                    crypto_pwhash_ALG_ARGON2ID13) != 0 ||
      !argon2_detail::Argon2idRaw({}, kPassword, salt, {}, {}, ours) ||
      std::memcmp(theirs, ours, sizeof ours) != 0) {
    std::fprintf(stderr, "the two implementations disagree\n");
    return 1;
  }

  const std::vector<Impl> impls = {
      {"libsodium 1.0.18 crypto_pwhash",
       [](const unsigned char* s, unsigned char* tag) {
         return crypto_pwhash(tag, 32, kPassword.data(), kPassword.size(), s, kArgon2idPasses,
                              kArgon2idMemoryKiB * 1024ull, crypto_pwhash_ALG_ARGON2ID13) == 0;
       }},
      {"gatehouse argon2_fast",
       [](const unsigned char* s, unsigned char* tag) {
         return argon2_detail::Argon2idRaw({}, kPassword, {s, crypto_pwhash_SALTBYTES}, {}, {},
                                           {tag, 32});
       }},
  };

  std::printf(
      "argon2id m=%u KiB t=%u p=%u; %d round(s) of %.1f s per cell, median shown; "
      "argon2_fast kernel: %s\n",
      kArgon2idMemoryKiB, kArgon2idPasses, kArgon2idLanes, rounds, seconds,
      argon2_detail::KernelName(argon2_detail::Kernel::kAuto));
  std::printf("command: %s %.1f %d %d\n\n", argv[0], seconds, rounds, n_threads);
  std::printf("%-32s %8s %12s %14s %14s\n", "implementation", "threads", "hashes/s", "cpu ms/hash",
              "minflt/hash");
  std::vector<int> thread_counts = {1};
  if (n_threads != 1) thread_counts.push_back(n_threads);
  for (int threads : thread_counts) {
    std::vector<std::vector<Sample>> samples(impls.size());
    for (int round = 0; round < rounds; ++round) {
      for (std::size_t i = 0; i < impls.size(); ++i) {
        samples[i].push_back(Measure(impls[i], threads, seconds));
      }
    }
    std::vector<Sample> medians;
    for (std::size_t i = 0; i < impls.size(); ++i) {
      medians.push_back(Median(samples[i]));
      std::printf("%-32s %8d %12.1f %14.2f %14.1f\n", impls[i].name, threads,
                  medians.back().hashes_per_second, medians.back().cpu_ms_per_hash,
                  medians.back().minflt_per_hash);
    }
    std::printf("%-32s %8d %11.2fx %13.2fx\n", "ratio argon2_fast / libsodium", threads,
                medians[1].hashes_per_second / medians[0].hashes_per_second,
                medians[0].cpu_ms_per_hash / medians[1].cpu_ms_per_hash);
  }
  std::printf(
      "\nanonymous huge pages in this process, most seen while measuring: %ld kB "
      "(each argon2_fast thread's 20 MiB work area, when the kernel grants them)\n",
      peak_huge_kb);
  std::printf("wiping 19 MiB in cache (done by argon2_fast after every hash): %.2f ms\n",
              WipeMilliseconds());
  return 0;
}
