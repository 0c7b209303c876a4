// What token-admin backup and restore share: a bounded pool of threads over a list of tokens,
// and progress lines on stderr.
//
// Thread-safety: ForEachConcurrently calls `fn` from several threads at once; BulkProgress is
// safe for concurrent use.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

#include "common/mutex.h"

namespace tokenstore {

// The most threads one bulk command runs; more would only queue at the nodes.
inline constexpr int kMaxBulkConcurrency = 64;

struct BulkOptions {
  int concurrency = 4;  // 1 .. kMaxBulkConcurrency parallel operations
  size_t progress_every =
      1000;  // a progress line after every this many tokens (0: only at the end)
  std::FILE* progress = stderr;  // nullptr: silent
};

// Calls fn(0) ... fn(n - 1), each once, on min(n, concurrency) threads; returns when all
// returned. REQUIRES: 1 <= concurrency <= kMaxBulkConcurrency.
void ForEachConcurrently(size_t n, int concurrency, const std::function<void(size_t)>& fn);

// Counts finished tokens and prints "VERB: D of N tokens done, F failed" every
// options.progress_every tokens and once more at Finish().
class BulkProgress {
 public:
  BulkProgress(std::string verb, size_t total, const BulkOptions& options);
  void Done(bool failed);
  // The closing line; `detail` (if not empty) is appended after a comma.
  void Finish(const std::string& detail = "");

 private:
  void PrintLocked(const std::string& detail) REQUIRES(mu_);

  const std::string verb_;
  const size_t total_;
  const size_t every_;
  std::FILE* const out_;
  Mutex mu_;
  size_t done_ GUARDED_BY(mu_) = 0;
  size_t failed_ GUARDED_BY(mu_) = 0;
};

}  // namespace tokenstore
