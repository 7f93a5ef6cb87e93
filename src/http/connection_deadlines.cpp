#include "http/connection_deadlines.hpp"

namespace gatehouse::http {

ConnectionDeadlines::Deadline::Deadline(ConnectionDeadlines& owner, Socket& socket)
    : owner_(owner), socket_(socket) {
  std::lock_guard lock(owner_.mutex_);
  next_ = owner_.first_;
  if (next_ != nullptr) next_->previous_ = this;
  owner_.first_ = this;
}

ConnectionDeadlines::Deadline::~Deadline() {
  std::lock_guard lock(owner_.mutex_);
  if (previous_ != nullptr) previous_->next_ = next_;
  if (next_ != nullptr) next_->previous_ = previous_;
  if (owner_.first_ == this) owner_.first_ = next_;
}

void ConnectionDeadlines::Sweep() {
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex_);
  for (Deadline* deadline = first_; deadline != nullptr; deadline = deadline->next_) {
    if (deadline->at_ > now) continue;
    deadline->ExpiresNever();
    // Closing makes the connection's pending read or write complete with an error, and its
    // handler ends the connection.
    boost::system::error_code ignored;
    deadline->socket_.close(ignored);
  }
}

}  // namespace gatehouse::http
