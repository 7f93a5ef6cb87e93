#include "store/rotation_batches.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace gatehouse::store {
namespace {

// One statement's worth: past it the rest wait for the next batch, so that one statement (and
// the time its rotations wait for their answer) stays short.
constexpr std::size_t kMaxBatch = 256;

}  // namespace

RotationBatches::RotationBatches(RotateCurrent rotate_current, RotateAlone rotate_alone,
                                 int threads, std::size_t max_queued)
    : rotate_current_(std::move(rotate_current)),
      rotate_alone_(std::move(rotate_alone)),
      queue_(max_queued, kMaxBatch) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), "gh-rotations");
  }
}

RotationBatches::~RotationBatches() {
  queue_.Stop();
  for (std::thread& thread : threads_) thread.join();
}

void RotationBatches::Submit(const RotationRequest& request, Store::RotationDone done) {
  Pending pending{request, std::move(done)};
  if (queue_.Add(pending)) return;
  DeliverToCaller(pending.done,
                  Result<RotationOutcome>(
                      Error{ErrorCode::kOverloaded, "database: too many rotations waiting"}));
}

GroupCommit::Counts RotationBatches::counts() const {
  std::lock_guard lock(counts_mutex_);
  return counts_;
}

void RotationBatches::Run() {
  std::vector<Pending> batch;
  while (queue_.Take(batch)) {
    Decide(batch);
    batch.clear();
  }
}

void RotationBatches::Decide(std::vector<Pending>& batch) {
  // The first rotation of each session goes in the statement; a second one of the same session
  // is decided alone afterwards, when the first has committed (a concurrent refresh's replay).
  std::vector<const RotationRequest*> first;
  std::vector<std::size_t> first_index;
  std::unordered_set<std::string_view> sids;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!sids.insert(batch[i].request.sid).second) continue;
    first.push_back(&batch[i].request);
    first_index.push_back(i);
  }
  std::vector<bool> rotated(batch.size(), false);
  // A batch that failed decides nothing: each rotation then meets the failure (or the database
  // back) alone, and its caller is answered as without batches.
  if (Result<std::vector<bool>> current = rotate_current_(first); current) {
    uint64_t carried = 0;
    for (std::size_t i = 0; i < first.size() && i < current->size(); ++i) {
      rotated[first_index[i]] = (*current)[i];
      carried += (*current)[i] ? 1 : 0;
    }
    if (carried > 0) {
      std::lock_guard lock(counts_mutex_);
      counts_.writes += carried;
      ++counts_.batches;
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!rotated[i]) continue;
    DeliverToCaller(batch[i].done, Result<RotationOutcome>(
                                       RotationOutcome{RotationOutcome::Kind::kRotated, {}, 0}));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!rotated[i]) DeliverToCaller(batch[i].done, rotate_alone_(batch[i].request));
  }
}

}  // namespace gatehouse::store
