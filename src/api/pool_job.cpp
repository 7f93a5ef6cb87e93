#include "api/services.hpp"
#include "http/error_response.hpp"
#include "obs/logging.hpp"

namespace gatehouse::api {

bool RunOnPool(WorkerPool& pool, Reply reply, std::function<http::Response()> job) {
  // The reply is shared between the job and this frame so that a refused submission can still
  // answer (TrySubmit drops the job it refuses).
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = pool.TrySubmit([shared_reply, job = std::move(job)] {
    http::Response response;
    try {
      response = job();
    } catch (const std::exception& e) {
      obs::Error("handler failed", {{"error", e.what()}});
      response = http::ErrorResponse(Error{ErrorCode::kInternal, e.what()});
    }
    (*shared_reply)(std::move(response));
  });
  if (!queued) (*shared_reply)(http::ErrorResponse(Error{ErrorCode::kOverloaded, {}}));
  return queued;
}

bool RunOnPoolAnsweringLater(WorkerPool& pool, Reply reply, std::function<void(Reply)> job) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = pool.TrySubmit([shared_reply, job = std::move(job)] {
    // The job owns the reply from here; a job that throws has not handed it on (it throws only
    // before queueing its write), so the 500 is the one answer.
    Reply handed_on = *shared_reply;
    try {
      job(std::move(handed_on));
    } catch (const std::exception& e) {
      obs::Error("handler failed", {{"error", e.what()}});
      (*shared_reply)(http::ErrorResponse(Error{ErrorCode::kInternal, e.what()}));
    }
  });
  if (!queued) (*shared_reply)(http::ErrorResponse(Error{ErrorCode::kOverloaded, {}}));
  return queued;
}

}  // namespace gatehouse::api
