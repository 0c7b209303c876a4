#include "admin/bulk.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <thread>
#include <vector>

namespace tokenstore {

void ForEachConcurrently(size_t n, int concurrency, const std::function<void(size_t)>& fn) {
  assert(concurrency >= 1 && concurrency <= kMaxBulkConcurrency);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  const size_t threads = std::min(n, static_cast<size_t>(concurrency));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  assert(next.load() >= n);
}

BulkProgress::BulkProgress(std::string verb, size_t total, const BulkOptions& options)
    : verb_(std::move(verb)),
      total_(total),
      every_(options.progress_every),
      out_(options.progress) {}

void BulkProgress::Done(bool failed) {
  MutexLock lock(&mu_);
  ++done_;
  if (failed) ++failed_;
  assert(done_ <= total_);
  if (every_ > 0 && done_ % every_ == 0 && done_ < total_) PrintLocked("");
}

void BulkProgress::Finish(const std::string& detail) {
  MutexLock lock(&mu_);
  PrintLocked(detail);
}

void BulkProgress::PrintLocked(const std::string& detail) {
  if (out_ == nullptr) return;
  std::fprintf(out_, "token-admin %s: %zu of %zu tokens done, %zu failed%s%s\n", verb_.c_str(),
               done_, total_, failed_, detail.empty() ? "" : ", ", detail.c_str());
  std::fflush(out_);
}

}  // namespace tokenstore
