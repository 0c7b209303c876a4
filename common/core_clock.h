// The time the protocol core goes by: operation deadlines, round timings and the stop
// condition of hashing all read a CoreClock, never the system clock themselves.
//
// The gRPC adapters give the core CoreClock::Real() (the process's steady clock); the
// simulator (sim/) gives it the virtual time of its event queue, so one seed replays a whole
// run, timeouts included.
//
// Thread-safety: now() is safe to call concurrently (Real() is; a simulated clock is read
// from the simulator's one thread).
#pragma once

#include <chrono>

namespace tokenstore {

// The time base of every deadline in the core and the transports.
using Clock = std::chrono::steady_clock;

class CoreClock {
 public:
  virtual ~CoreClock() = default;
  virtual Clock::time_point now() const = 0;

  // The steady clock of the process. Lives as long as the program.
  static const CoreClock& Real();
};

}  // namespace tokenstore
