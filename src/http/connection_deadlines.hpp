// Timeouts for the connections of one I/O thread, enforced by one periodic sweep instead of a
// timer per read and write. Re-arming a timer for each step of a request (a clock read, a
// timer-queue insert under the reactor's lock, and a cancellation whose handler goes through
// the event loop) cost more than routing the request; setting a deadline here is a clock read
// and a store.
//
// A deadline never fires early: it fires at the first sweep after it, one tick (250 ms) later
// at most while the thread keeps up, which is precise enough for timeouts counted in seconds.
#pragma once

#include <chrono>
#include <mutex>

#include "http/session.hpp"

namespace gatehouse::http {

class ConnectionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kTick = std::chrono::milliseconds(250);

  ConnectionDeadlines() = default;
  ConnectionDeadlines(const ConnectionDeadlines&) = delete;
  ConnectionDeadlines& operator=(const ConnectionDeadlines&) = delete;

  // One connection's deadline. Lives as long as the socket it guards (declare it after the
  // socket, so that it goes first), and is set and read only on the I/O thread; it may be
  // destroyed on any thread.
  class Deadline {
   public:
    Deadline(ConnectionDeadlines& owner, Socket& socket);
    ~Deadline();
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    // The socket is closed (its pending operations fail) once `timeout` has passed.
    void ExpiresAfter(Clock::duration timeout) { at_ = Clock::now() + timeout; }
    void ExpiresNever() { at_ = Clock::time_point::max(); }

   private:
    friend class ConnectionDeadlines;
    ConnectionDeadlines& owner_;
    Socket& socket_;
    Clock::time_point at_ = Clock::time_point::max();
    Deadline* previous_ = nullptr;
    Deadline* next_ = nullptr;
  };

  // Called every kTick on the I/O thread: closes the sockets whose deadline has passed.
  void Sweep();

 private:
  std::mutex mutex_;  // guards the list: a connection can end on a worker-pool thread
  Deadline* first_ = nullptr;
};

}  // namespace gatehouse::http
