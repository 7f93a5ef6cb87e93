// Group commit of durable writes: writes that arrive while a batch commits wait for the next
// one, and each batch is one transaction and one fsync, however many writes it holds. The next
// batch starts the moment the previous one is durable (no timer: a lone write commits at once).
// Every write runs in a savepoint of its own, so a write that fails is undone alone and the
// others of its batch still commit; a write is answered only after the commit that holds it is
// durable. One writer thread per store runs the batches; callers never wait on a clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/batch_queue.hpp"
#include "util/result.hpp"

namespace gatehouse::store {

// The transaction steps of a backend that a batch is made of. Called on the writer thread only,
// inside Exclusive.
class BatchTransaction {
 public:
  virtual ~BatchTransaction() = default;
  // Runs `batch` with the connection to itself (the backend's lock held).
  virtual void Exclusive(const std::function<void()>& batch) = 0;
  virtual Status Begin() = 0;
  virtual Status Savepoint() = 0;
  virtual Status ReleaseSavepoint() = 0;
  // Undoes the writes since the last Savepoint; false when the backend ended the whole
  // transaction by itself (an I/O error, a full disk): then nothing of the batch is kept.
  virtual bool RollbackToSavepoint() = 0;
  // Ok once every write of the transaction is durable.
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Called with the write's outcome once it is durable (ok) or failed; on the writer thread.
using WriteDone = std::function<void(Status)>;

class GroupCommit {
 public:
  // One write: its statements, run inside the batch's transaction; writes what it returns
  // into its caller's variables (it may run twice when a batch is retried, so it starts afresh).
  using Write = std::function<Status()>;

  // Starts the writer thread. `max_queued`: writes waiting beyond it are refused (kOverloaded).
  GroupCommit(BatchTransaction& backend, std::string thread_name, std::size_t max_queued = 65536);
  ~GroupCommit();  // commits what is queued, then joins
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `write`; `done` runs once its batch is durable. Never waits on the disk: the caller's
  // thread is free at once. Any thread, except from inside a write or a `done`.
  void Submit(Write write, WriteDone done);
  // Submit, then waits until the write's batch is durable (for callers that block: worker
  // pools, the command line).
  Status Run(Write write);

  struct Counts {
    uint64_t writes = 0;   // writes committed or failed
    uint64_t batches = 0;  // transactions committed or failed
  };
  Counts counts() const;

 private:
  struct Pending {
    Write write;
    WriteDone done;
    Status result = Ok{};
    bool attempted = false;  // ran in the current attempt's transaction
  };

  void RunWriter();
  void CommitBatch(std::vector<Pending>& batch);
  // One transaction over the writes of `batch` that have not failed alone; false when a write
  // ended the transaction (it keeps its error) and the others must be tried again.
  bool TryCommit(std::vector<Pending>& batch);

  BatchTransaction& backend_;
  BatchQueue<Pending> queue_;
  mutable std::mutex counts_mutex_;
  Counts counts_;
  std::thread writer_;
};

}  // namespace gatehouse::store
