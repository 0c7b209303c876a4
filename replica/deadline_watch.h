// One thread that wakes up when something's deadline passes.
//
// Parties (the peer batchers) register a function that fails whatever of theirs is due and
// returns their earliest deadline still pending. The thread sleeps until the earliest of
// those, or `max_sleep` at most; a party with something due before the watch's next wake-up
// calls Poke(when) so the thread wakes up in time. Deadlines after the next wake-up (the
// usual case: each new call's deadline is later than the ones before) need no notification,
// so a busy node wakes this thread about once per `max_sleep` rather than once per call.
//
// Thread-safety: Add, Poke and Stop may be called from any thread. The expire functions run
// on the watch's thread with no lock of the watch held.
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "replica/peer_transport.h"

namespace tokenstore {

class DeadlineWatch {
 public:
  // Fails what is due at `now`; returns the earliest deadline left (time_point::max() when
  // none).
  using ExpireFn = std::function<Clock::time_point(Clock::time_point now)>;

  explicit DeadlineWatch(Clock::duration max_sleep = std::chrono::seconds(1));
  ~DeadlineWatch();  // Stop()
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;

  void Add(ExpireFn expire);
  // Something is due at `when`: wake up by then.
  void Poke(Clock::time_point when);
  // Ends the thread; expire functions are not called after it returns.
  void Stop();

 private:
  void Run();

  const Clock::duration max_sleep_;
  Mutex mu_;
  CondVar cv_;
  std::vector<ExpireFn> parties_ GUARDED_BY(mu_);
  Clock::time_point next_ GUARDED_BY(mu_) = Clock::time_point::max();  // next wake-up
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokenstore
