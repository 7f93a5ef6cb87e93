#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "obs/logging.hpp"

namespace gatehouse::obs {
namespace {

TEST(RequestId, IsAProcessPrefixAndAHexNumber) {
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{1,16}");
  for (int i = 0; i < 3000; ++i) {
    const std::string id(NewRequestId().view());
    ASSERT_TRUE(std::regex_match(id, shape)) << id;
  }
}

TEST(RequestId, UniqueAcrossThreadsAndBlocks) {
  // Threads take numbers in blocks of 1024: cross several blocks on several threads.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&mine = ids[t]] {
      for (int i = 0; i < kPerThread; ++i) mine.emplace_back(NewRequestId().view());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> seen;
  for (const auto& mine : ids) seen.insert(mine.begin(), mine.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace gatehouse::obs
