#include "util/worker_pool.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace gatehouse {

WorkerPool::WorkerPool(std::string name, int threads, std::size_t max_queued, int nice)
    : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, nice] { RunWorker(nice); });
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued_ || stopping_) return false;
    queue_.push_back({std::move(job), std::chrono::steady_clock::now()});
  }
  ready_.notify_one();
  return true;
}

std::size_t WorkerPool::QueueDepth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::RunWorker(int nice) {
  // On Linux a thread id names one thread to setpriority. Failure only costs the priority.
  if (nice > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
  bool idle_hook_due = false;  // a job ran since the hook last did
  for (;;) {
    Queued queued;
    {
      std::unique_lock lock(mutex_);
      const auto has_work = [this] { return stopping_ || !queue_.empty(); };
      if (idle_hook_due && idle_hook_ && !ready_.wait_for(lock, idle_after_, has_work)) {
        lock.unlock();
        idle_hook_();
        idle_hook_due = false;
        continue;
      }
      ready_.wait(lock, has_work);
      if (queue_.empty()) return;  // stopping and drained
      queued = std::move(queue_.front());
      queue_.pop_front();
    }
    if (wait_observer_) {
      const std::chrono::duration<double> waited =
          std::chrono::steady_clock::now() - queued.enqueued;
      wait_observer_(waited.count());
    }
    queued.job();
    idle_hook_due = true;
  }
}

}  // namespace gatehouse
