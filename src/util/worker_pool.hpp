// A fixed set of threads with a bounded queue, for work that must never run on an I/O thread
// (argon2id, storage calls). A full queue refuses new work at once instead of letting latency
// grow without bound: the caller answers 503.
#pragma once

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
  WorkerPool(std::string name, int threads, std::size_t max_queued);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `job` dropped) when max_queued jobs are already waiting. Any thread.
  bool TrySubmit(std::function<void()> job);
  std::size_t QueueDepth() const;

 private:
  void RunWorker();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  const std::size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse
