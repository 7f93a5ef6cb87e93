// A fixed set of threads with a bounded queue, for work that must never run on an I/O thread
// (argon2id, storage calls). A full queue refuses new work at once instead of letting latency
// grow without bound: the caller answers 503.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse {

class WorkerPool {
 public:
  // `nice` > 0 lowers the threads' scheduling priority by that much (setpriority): for CPU-heavy
  // work (argon2id) that must not take the cores from the I/O threads when both want them.
  WorkerPool(std::string name, int threads, std::size_t max_queued, int nice = 0);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `job` dropped) when max_queued jobs are already waiting. Any thread.
  bool TrySubmit(std::function<void()> job);
  std::size_t QueueDepth() const;
  // Called on a worker with the seconds each job waited in the queue. Set before submitting.
  void SetWaitObserver(std::function<void(double)> observer) {
    wait_observer_ = std::move(observer);
  }
  // Called on a worker once it has had no job for `after` since its last one (e.g. to give back
  // per-thread memory). Set before submitting.
  void SetIdleHook(std::chrono::milliseconds after, std::function<void()> hook) {
    idle_after_ = after;
    idle_hook_ = std::move(hook);
  }

 private:
  void RunWorker(int nice);

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  struct Queued {
    std::function<void()> job;
    std::chrono::steady_clock::time_point enqueued;
  };
  std::deque<Queued> queue_;
  std::function<void(double)> wait_observer_;
  std::chrono::milliseconds idle_after_{0};
  std::function<void()> idle_hook_;
  const std::size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse
