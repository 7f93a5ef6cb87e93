#include "store/group_commit.hpp"

#include <pthread.h>

#include <optional>
#include <utility>

namespace gatehouse::store {
namespace {

// A batch is one transaction: past this many writes the rest wait for the next one, so that one
// transaction (and the time its writes wait for their answer) stays short.
constexpr std::size_t kMaxBatch = 1024;

}  // namespace

GroupCommit::GroupCommit(BatchTransaction& backend, std::string thread_name, std::size_t max_queued)
    : backend_(backend), queue_(max_queued, kMaxBatch), writer_([this] { RunWriter(); }) {
  pthread_setname_np(writer_.native_handle(), thread_name.substr(0, 15).c_str());
}

GroupCommit::~GroupCommit() {
  queue_.Stop();
  writer_.join();
}

void GroupCommit::Submit(Write write, WriteDone done) {
  Pending pending{std::move(write), std::move(done)};
  if (queue_.Add(pending)) return;
  DeliverToCaller(pending.done, Error{ErrorCode::kOverloaded, "database: too many writes waiting"});
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
  std::lock_guard lock(counts_mutex_);
  return counts_;
}

void GroupCommit::RunWriter() {
  std::vector<Pending> batch;
  while (queue_.Take(batch)) {
    CommitBatch(batch);
    {
      std::lock_guard lock(counts_mutex_);
      counts_.writes += batch.size();
      ++counts_.batches;
    }
    for (Pending& pending : batch) DeliverToCaller(pending.done, std::move(pending.result));
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
