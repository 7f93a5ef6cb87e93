#include "store/group_commit.hpp"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

#include "obs/logging.hpp"

namespace gatehouse::store {
namespace {

// A batch is one transaction: past this many writes the rest wait for the next one, so that one
// transaction (and the time its writes wait for their answer) stays short.
constexpr std::size_t kMaxBatch = 1024;

// A `done` belongs to the caller; whatever it throws must not end the writer thread.
void Deliver(const WriteDone& done, Status result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    obs::Error("durable write callback failed", {{"error", e.what()}});
  }
}

}  // namespace

GroupCommit::GroupCommit(BatchTransaction& backend, std::string thread_name, std::size_t max_queued)
    : backend_(backend), max_queued_(max_queued), writer_([this] { RunWriter(); }) {
  pthread_setname_np(writer_.native_handle(), thread_name.substr(0, 15).c_str());
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  writer_.join();
}

void GroupCommit::Submit(Write write, WriteDone done) {
  {
    std::unique_lock lock(mutex_);
    if (!stopping_ && queue_.size() < max_queued_) {
      queue_.push_back(Pending{std::move(write), std::move(done)});
      lock.unlock();
      ready_.notify_one();
      return;
    }
  }
  Deliver(done, Error{ErrorCode::kOverloaded, "database: too many writes waiting"});
}

Status GroupCommit::Run(Write write) {
  struct Waiter {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Status> result;
  } waiter;
  Submit(std::move(write), [&waiter](Status result) {
    std::lock_guard lock(waiter.mutex);
    waiter.result = std::move(result);
    waiter.done.notify_one();  // under the lock: `waiter` lives on the caller's stack
  });
  std::unique_lock lock(waiter.mutex);
  waiter.done.wait(lock, [&waiter] { return waiter.result.has_value(); });
  return std::move(*waiter.result);
}

GroupCommit::Counts GroupCommit::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void GroupCommit::RunWriter() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      const std::size_t taken = std::min(queue_.size(), kMaxBatch);
      for (std::size_t i = 0; i < taken; ++i) batch.push_back(std::move(queue_[i]));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    }
    CommitBatch(batch);
    {
      std::lock_guard lock(mutex_);
      counts_.writes += batch.size();
      ++counts_.batches;
    }
    for (Pending& pending : batch) Deliver(pending.done, std::move(pending.result));
    batch.clear();
  }
}

void GroupCommit::CommitBatch(std::vector<Pending>& batch) {
  backend_.Exclusive([&] {
    // Each retry leaves out at least one more write (the one that ended the transaction).
    while (!TryCommit(batch)) {
    }
  });
}

bool GroupCommit::TryCommit(std::vector<Pending>& batch) {
  const auto fail_attempted = [&batch](const Error& error) {
    for (Pending& pending : batch) {
      if (pending.attempted) pending.result = error;
    }
  };
  if (Status begun = backend_.Begin(); !begun) {
    for (Pending& pending : batch) {
      if (pending.result) pending.result = begun.error();
    }
    return true;
  }
  for (Pending& pending : batch) {
    if (!pending.result) continue;  // failed alone in an earlier attempt: keeps its error
    pending.attempted = true;
    Status written = backend_.Savepoint();
    if (written) written = pending.write();
    if (written) written = backend_.ReleaseSavepoint();
    if (written) continue;
    pending.result = written.error();
    pending.attempted = false;
    if (!backend_.RollbackToSavepoint()) {
      // The transaction went with this write: the others try again without it.
      backend_.Rollback();
      for (Pending& other : batch) other.attempted = false;
      return false;
    }
  }
  if (Status committed = backend_.Commit(); !committed) {
    backend_.Rollback();
    fail_attempted(committed.error());
  }
  for (Pending& pending : batch) pending.attempted = false;
  return true;
}

}  // namespace gatehouse::store
