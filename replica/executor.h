// Executors: where the protocol core runs work that may block (disk syncs, hashing).
//
// gRPC callback threads must never block, so the adapters hand blocking work to an
// Executor. Tests use InlineExecutor to keep a simulated run single-threaded and
// deterministic.
//
// Thread-safety: Submit() may be called from any thread.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace tokenstore {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` some time later (or now, for InlineExecutor). Never drops a task while the
  // executor lives.
  virtual void Submit(std::function<void()> task) = 0;
};

// Runs every task on the calling thread, immediately.
class InlineExecutor final : public Executor {
 public:
  void Submit(std::function<void()> task) override { task(); }
};

// A fixed set of worker threads draining one FIFO queue. The destructor finishes the queued
// tasks, then joins the workers.
class ThreadPool final : public Executor {
 public:
  ThreadPool(unsigned threads, std::string name);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task) override;

 private:
  void Run();

  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::string name_;
};

}  // namespace tokenstore
