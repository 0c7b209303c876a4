// Group commit of a replica's Stores: the Stores submitted while one commit is syncing leave
// together in the next one, as one RegisterStore::StoreIfNewerBatch (one synced write).
//
// Adaptive, without timers: a lone Store is committed at once; under load each commit takes
// everything that queued up during the previous one. One commit runs at a time, on the
// executor, so a replica makes one sync per round instead of one per Store and no thread
// waits inside RocksDB for another's sync.
//
// Thread-safety: Submit may be called from any thread. `done` runs on the executor's thread
// that ran the commit, with no lock held.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/mutex.h"
#include "common/status.h"
#include "replica/executor.h"
#include "storage/register_store.h"

namespace tokenstore {

class StoreCommitter {
 public:
  // Stores `items` durably; result i answers items[i] (ReplicaCore::HandleStoreBatch).
  using CommitFn = std::function<std::vector<StatusOr<Stamp>>(std::span<const StoreItem>)>;
  using Done = std::function<void(std::vector<StatusOr<Stamp>>)>;

  // `executor` must outlive every commit (drain it before destroying the committer).
  StoreCommitter(Executor& executor, CommitFn commit)
      : executor_(executor), commit_(std::move(commit)) {}

  // Stores `items` in the next commit; `done` gets one result per item, in order.
  void Submit(std::vector<StoreItem> items, Done done) {
    {
      MutexLock lock(&mu_);
      groups_.push_back(Group{items.size(), std::move(done)});
      if (items_.empty()) {
        items_ = std::move(items);
      } else {
        for (StoreItem& item : items) items_.push_back(std::move(item));
      }
      if (running_) return;  // the running commit loop takes them next
      running_ = true;
    }
    executor_.Submit([this] { Run(); });
  }

 private:
  struct Group {
    size_t count;
    Done done;
  };

  void Run() {
    for (;;) {
      std::vector<StoreItem> items;
      std::vector<Group> groups;
      {
        MutexLock lock(&mu_);
        if (groups_.empty()) {
          running_ = false;
          return;
        }
        items.swap(items_);
        groups.swap(groups_);
      }
      std::vector<StatusOr<Stamp>> results = commit_(items);
      // Each group takes its slice: one result too few would answer a store that never ran.
      TS_CHECK(results.size() == items.size(), "a commit answered " +
                                                   std::to_string(results.size()) + " of " +
                                                   std::to_string(items.size()) + " stores");
      size_t next = 0;
      for (Group& g : groups) {
        std::vector<StatusOr<Stamp>> mine(std::make_move_iterator(results.begin() + next),
                                             std::make_move_iterator(results.begin() + next + g.count));
        next += g.count;
        g.done(std::move(mine));
      }
    }
  }

  Executor& executor_;
  const CommitFn commit_;
  Mutex mu_;
  std::vector<StoreItem> items_ GUARDED_BY(mu_);  // waiting for the next commit
  std::vector<Group> groups_ GUARDED_BY(mu_);     // who submitted them, in order
  bool running_ GUARDED_BY(mu_) = false;          // a commit loop is scheduled or running
};

}  // namespace tokenstore
