// The queue behind the store's batching threads (GroupCommit, RotationBatches): callers add
// items from any thread; a batching thread takes everything waiting, up to a batch, in one go.
// Bounded: past `max_queued` an item is refused, so a flood cannot grow memory without end.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include "obs/logging.hpp"

namespace gatehouse::store {

template <typename Item>
class BatchQueue {
 public:
  BatchQueue(std::size_t max_queued, std::size_t max_batch)
      : max_queued_(max_queued), max_batch_(max_batch) {}

  // False (and `item` left as it was) when the queue is full or stopping.
  bool Add(Item& item) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= max_queued_) return false;
      queue_.push_back(std::move(item));
    }
    ready_.notify_one();
    return true;
  }

  // Waits for items and moves up to a batch of them into `batch`; false once stopping and
  // drained (nothing moved).
  bool Take(std::vector<Item>& batch) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return false;
    const auto taken = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch_));
    std::move(queue_.begin(), queue_.begin() + taken, std::back_inserter(batch));
    queue_.erase(queue_.begin(), queue_.begin() + taken);
    return true;
  }

  // Refuses new items; Take answers false once the waiting ones are taken.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
  }

 private:
  const std::size_t max_queued_;
  const std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Item> queue_;
  bool stopping_ = false;
};

// Runs a caller's `done` with `outcome` on a batching thread: whatever it throws belongs to the
// caller and must not end that thread.
template <typename Done, typename Outcome>
void DeliverToCaller(const Done& done, Outcome outcome) {
  try {
    done(std::move(outcome));
  } catch (const std::exception& e) {
    obs::Error("a durable write's callback failed", {{"error", e.what()}});
  }
}

}  // namespace gatehouse::store
