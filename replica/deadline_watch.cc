#include "replica/deadline_watch.h"

#include <pthread.h>

#include <algorithm>

namespace tokenstore {

DeadlineWatch::DeadlineWatch(Clock::duration max_sleep) : max_sleep_(max_sleep) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "ts-deadlines");
}

DeadlineWatch::~DeadlineWatch() { Stop(); }

void DeadlineWatch::Add(ExpireFn expire) {
  MutexLock lock(&mu_);
  parties_.push_back(std::move(expire));
  next_ = Clock::time_point::min();  // let the new party tell its deadlines
  cv_.Signal();
}

void DeadlineWatch::Poke(Clock::time_point when) {
  MutexLock lock(&mu_);
  if (when >= next_) return;
  next_ = when;
  cv_.Signal();
}

void DeadlineWatch::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

void DeadlineWatch::Run() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    const Clock::time_point now = Clock::now();
    if (next_ > now) {
      cv_.WaitUntil(&mu_, next_);
      continue;
    }
    // Due: ask every party. Pokes that come meanwhile lower next_ below the maximum.
    next_ = Clock::time_point::max();
    std::vector<ExpireFn> parties = parties_;
    lock.Unlock();
    Clock::time_point earliest = Clock::time_point::max();
    for (const ExpireFn& expire : parties) earliest = std::min(earliest, expire(now));
    lock.Lock();
    // Waking up at least every max_sleep_ lets deadlines further out than that go without
    // a Poke (see the header).
    next_ = std::min({next_, earliest, now + max_sleep_});
  }
}

}  // namespace tokenstore
