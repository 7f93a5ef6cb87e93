#include "util/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace gatehouse {
namespace {

using namespace std::chrono_literals;

// Occupies a worker until Release(); Started() returns once the worker has picked it up.
class Blocker {
 public:
  std::function<void()> Job() {
    return [this] {
      started_.set_value();
      release_future_.wait();
    };
  }
  void WaitStarted() { started_future_.wait(); }
  void Release() { release_.set_value(); }

 private:
  std::promise<void> started_;
  std::shared_future<void> started_future_ = started_.get_future().share();
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST(WorkerPool, RunsEverySubmittedJob) {
  constexpr int kJobs = 500;
  std::atomic<int> ran{0};
  std::latch done(kJobs);
  WorkerPool pool("test", 4, kJobs);
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      ++ran;
      done.count_down();
    }));
  }
  done.wait();
  EXPECT_EQ(ran.load(), kJobs);
}

TEST(WorkerPool, JobsRunOnPoolThreadsNotTheCaller) {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  std::latch done(20);
  WorkerPool pool("test", 2, 100);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      {
        std::lock_guard lock(mutex);
        ids.insert(std::this_thread::get_id());
      }
      done.count_down();
    }));
  }
  done.wait();
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(ids.size(), 2u);
  EXPECT_GE(ids.size(), 1u);
}

TEST(WorkerPool, ThreadsRunJobsConcurrently) {
  constexpr int kThreads = 4;
  std::latch all_running(kThreads);
  std::atomic<int> met{0};
  std::latch done(kThreads);
  {
    WorkerPool pool("test", kThreads, 16);
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(pool.TrySubmit([&] {
        all_running.count_down();
        // Only possible when all kThreads jobs run at once; give up after 10 s rather than hang.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(1ms);
        }
        if (all_running.try_wait()) ++met;
        done.count_down();
      }));
    }
    done.wait();
  }
  EXPECT_EQ(met.load(), kThreads);
}

TEST(WorkerPool, TrySubmitRefusesWhenMaxQueuedJobsAreWaiting) {
  Blocker blocker;
  std::atomic<int> ran{0};
  std::atomic<bool> refused_ran{false};
  {
    WorkerPool pool("test", 1, 2);
    ASSERT_TRUE(pool.TrySubmit(blocker.Job()));
    blocker.WaitStarted();  // the only worker is busy: whatever comes next waits in the queue
    EXPECT_EQ(pool.QueueDepth(), 0u);
    EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
    EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
    EXPECT_EQ(pool.QueueDepth(), 2u);
    EXPECT_FALSE(pool.TrySubmit([&] { refused_ran = true; }));
    EXPECT_EQ(pool.QueueDepth(), 2u);
    blocker.Release();
  }
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(refused_ran.load());
}

TEST(WorkerPool, RunningJobDoesNotCountAgainstTheQueue) {
  Blocker blocker;
  WorkerPool pool("test", 1, 1);
  ASSERT_TRUE(pool.TrySubmit(blocker.Job()));
  blocker.WaitStarted();
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  blocker.Release();
}

TEST(WorkerPool, TrySubmitAcceptsAgainOnceTheQueueHasRoom) {
  Blocker blocker;
  std::promise<void> first_ran;
  std::promise<void> second_ran;
  WorkerPool pool("test", 1, 1);
  ASSERT_TRUE(pool.TrySubmit(blocker.Job()));
  blocker.WaitStarted();
  ASSERT_TRUE(pool.TrySubmit([&] { first_ran.set_value(); }));
  ASSERT_FALSE(pool.TrySubmit([] {}));
  blocker.Release();
  first_ran.get_future().wait();
  EXPECT_TRUE(pool.TrySubmit([&] { second_ran.set_value(); }));
  EXPECT_EQ(second_ran.get_future().wait_for(10s), std::future_status::ready);
}

TEST(WorkerPool, ZeroMaxQueuedRefusesEverything) {
  std::atomic<bool> ran{false};
  {
    WorkerPool pool("test", 2, 0);
    EXPECT_FALSE(pool.TrySubmit([&] { ran = true; }));
  }
  EXPECT_FALSE(ran.load());
}

TEST(WorkerPool, QueueDepthIsZeroWhenIdle) {
  WorkerPool pool("test", 2, 10);
  EXPECT_EQ(pool.QueueDepth(), 0u);
}

TEST(WorkerPool, DestructorRunsJobsStillQueued) {
  constexpr int kQueued = 10;
  Blocker blocker;
  std::atomic<int> ran{0};
  std::atomic<int> extra_accepted{0};
  std::atomic<int> extra_ran{0};
  std::thread releaser;
  {
    WorkerPool pool("test", 1, 100000);
    ASSERT_TRUE(pool.TrySubmit(blocker.Job()));
    blocker.WaitStarted();
    for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
    // Releases the worker only once the destructor has begun (TrySubmit starts refusing), so
    // the kQueued jobs are certainly still queued when the pool is told to stop.
    releaser = std::thread([&] {
      while (pool.TrySubmit([&] { ++extra_ran; })) {
        ++extra_accepted;
        std::this_thread::sleep_for(1ms);
      }
      blocker.Release();
    });
    std::this_thread::sleep_for(20ms);
  }  // ~WorkerPool
  releaser.join();
  EXPECT_EQ(ran.load(), kQueued);
  EXPECT_EQ(extra_ran.load(), extra_accepted.load());
}

TEST(WorkerPool, DestructorOfIdlePoolReturns) {
  const auto start = std::chrono::steady_clock::now();
  { WorkerPool pool("test", 4, 10); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace gatehouse

namespace gatehouse {
namespace {

TEST(WorkerPoolIdleHook, RunsOnceOnEachThreadThatWentQuietAfterAJob) {
  std::atomic<int> hooks{0};
  {
    WorkerPool pool("idle-test", 1, 8);
    pool.SetIdleHook(std::chrono::milliseconds(20), [&hooks] { ++hooks; });
    ASSERT_TRUE(pool.TrySubmit([] {}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (hooks == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several more quiet spells
  }
  EXPECT_EQ(hooks.load(), 1);
}

TEST(WorkerPoolIdleHook, DoesNotRunBeforeAnyJob) {
  std::atomic<int> hooks{0};
  {
    WorkerPool pool("idle-test", 2, 8);
    pool.SetIdleHook(std::chrono::milliseconds(10), [&hooks] { ++hooks; });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(hooks.load(), 0);
}

}  // namespace
}  // namespace gatehouse
