// Timeouts for the connections of one I/O thread, enforced by one periodic sweep instead of a
// timer per read and write. Re-arming a timer for each step of a request (a clock read, a
// timer-queue insert under the reactor's lock, and a cancellation whose handler goes through
// the event loop) cost more than routing the request; setting a deadline here is a clock read
// and a store.
//
// A deadline does not fire early: it fires at the first sweep after it, at most one tick
// (250 ms) plus two resolutions of the coarse clock (a few ms each) late while the thread keeps
// up, which is precise enough for timeouts counted in seconds.
#pragma once

#include <time.h>

#include <chrono>
#include <mutex>

#include "http/session.hpp"

namespace gatehouse::http {

class ConnectionDeadlines {
 public:
  // CLOCK_MONOTONIC_COARSE: the time of the kernel's last tick, read from memory without the
  // hardware clock. Deadlines are set twice a request, and steady_clock's read was the larger
  // part of that. It lags real time by at most its resolution, which every deadline adds.
  struct Clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<Clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
      return time_point(std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec));
    }
    static duration resolution() noexcept {
      timespec resolution{};
      clock_getres(CLOCK_MONOTONIC_COARSE, &resolution);
      return std::chrono::seconds(resolution.tv_sec) + std::chrono::nanoseconds(resolution.tv_nsec);
    }
  };
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

    // The socket is closed (its pending operations fail) once `timeout` has passed. The clock
    // read here may be up to one resolution behind real time, which would move the deadline
    // earlier; adding the resolution makes up for it. (The sweep's clock lagging only makes it
    // later.) This holds while the kernel's tick keeps the coarse clock within its resolution.
    void ExpiresAfter(Clock::duration timeout) { at_ = Clock::now() + timeout + kSlack; }
    void ExpiresNever() { at_ = Clock::time_point::max(); }

   private:
    friend class ConnectionDeadlines;
    inline static const Clock::duration kSlack = Clock::resolution();
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
