// The raw fsync rate of a directory's disk: the ceiling of a store that pays one fsync per
// write, next to which scripts/bench puts gatehouse's durable writes (issue 16: /logout/access
// per second >= 10x this). Each round appends 4 KiB to a file in --dir and fsyncs it, as a WAL
// commit does; prints one BENCH_JSON line (bench/wrk/report.lua's fields) for bench/lib/record.py.
//   gatehouse_fsync_rate --dir DIR [--seconds S]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::string dir = ".";
  double seconds = 5;
};

bool Parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--dir") {
      options.dir = argv[i + 1];
    } else if (flag == "--seconds") {
      options.seconds = std::stod(argv[i + 1]);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.seconds > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!Parse(argc, argv, options)) {
    std::fprintf(stderr, "usage: gatehouse_fsync_rate --dir DIR [--seconds S]\n");
    return 2;
  }
  const std::string path = options.dir + "/fsync-rate.tmp";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  const std::vector<char> page(4096, 'x');
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(options.seconds));
  std::vector<double> latencies_us;
  off_t offset = 0;
  // The file wraps at 4 MiB, as a WAL is reset after a checkpoint: its size stays bounded.
  constexpr off_t kWrapAt = 4 << 20;
  for (Clock::time_point now = start; now < end;) {
    if (::pwrite(fd, page.data(), page.size(), offset) != static_cast<ssize_t>(page.size()) ||
        ::fsync(fd) != 0) {
      std::perror("write/fsync");
      return 1;
    }
    offset = (offset + static_cast<off_t>(page.size())) % kWrapAt;
    const Clock::time_point after = Clock::now();
    latencies_us.push_back(std::chrono::duration<double, std::micro>(after - now).count());
    now = after;
  }
  ::close(fd);
  ::unlink(path.c_str());
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto percentile = [&](double p) {
    return latencies_us[static_cast<std::size_t>(p * static_cast<double>(latencies_us.size() - 1))];
  };
  std::printf(
      "BENCH_JSON {\"requests\":%zu,\"duration_us\":%.0f,\"rps\":%.1f,\"p50_us\":%.0f,"
      "\"p99_us\":%.0f,\"non2xx\":0,\"socket_errors\":0}\n",
      latencies_us.size(), elapsed * 1e6, static_cast<double>(latencies_us.size()) / elapsed,
      percentile(0.5), percentile(0.99));
  return 0;
}
