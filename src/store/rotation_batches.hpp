// Refresh-token rotations sent to the database in batches (PostgreSQL's QueueRotation): the
// rotations queued while a batch is at the database go together in the next one, as one
// statement and one commit, so a commit's fsync carries many rotations instead of one. The
// measured bottleneck this removes (issue 16's PostgreSQL rotation row): each rotation held a
// store thread through its own commit, at 0.75 of what pgbench commits with as many connections.
//
// A batch only does the common case, the compare-and-set of a session's current token. A
// rotation it did not carry out (a replay, a reuse, an ended or idle session, a second rotation
// of one session in the batch, or a batch that failed or whose outcome is unknown) then takes
// Store::RotateRefresh alone, which decides it as an unbatched rotation would: its own
// compare-and-set first, then the reads. That is safe whatever the batch did: had the batch
// rotated it, the compare fails and the reads find its used record with this very request's
// sealed answer (a replay within any interval, so the answer is the pair minted for it).
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/batch_queue.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace gatehouse::store {

class RotationBatches {
 public:
  // Rotates the sessions of `requests` (distinct sids) whose current token is the presented one,
  // in one commit; answers, at the same index, whether each was rotated.
  using RotateCurrent =
      std::function<Result<std::vector<bool>>(const std::vector<const RotationRequest*>&)>;
  // Decides one rotation alone (Store::RotateRefresh).
  using RotateAlone = std::function<Result<RotationOutcome>(const RotationRequest&)>;

  // Starts `threads` threads, each sending a batch at a time. `max_queued`: rotations waiting
  // beyond it are refused (kOverloaded).
  RotationBatches(RotateCurrent rotate_current, RotateAlone rotate_alone, int threads,
                  std::size_t max_queued = 65536);
  ~RotationBatches();  // decides what is queued, then joins
  RotationBatches(const RotationBatches&) = delete;
  RotationBatches& operator=(const RotationBatches&) = delete;

  // Queues `request`; `done` runs on one of the batches' threads once it is decided (and, when
  // rotated, durable). Any thread, except from inside a `done`.
  void Submit(const RotationRequest& request, Store::RotationDone done);
  // Rotations a batch carried out, and the batches (one commit each) that carried any.
  GroupCommit::Counts counts() const;

 private:
  struct Pending {
    RotationRequest request;
    Store::RotationDone done;
  };

  void Run();
  void Decide(std::vector<Pending>& batch);

  const RotateCurrent rotate_current_;
  const RotateAlone rotate_alone_;
  BatchQueue<Pending> queue_;
  mutable std::mutex counts_mutex_;
  GroupCommit::Counts counts_;
  std::vector<std::thread> threads_;
};

}  // namespace gatehouse::store
