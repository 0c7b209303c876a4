// tokenstore-example: writes a token through the client library, reads it back, then reads it
// from several threads sharing one client. Built against an installed token store only
// (CMakeLists.txt beside this file says how, with CMake or with pkg-config).
//
//   tokenstore-example CLUSTER.yaml [TOKEN]      (TOKEN defaults to 1)
//
// Exit: 0 done, 1 an operation failed or the read disagreed with the write, 2 bad arguments or
// configuration, 3 NOT_FOUND, 4 no answer in time or unreachable (as token-client exits).
#include <tokenstore/client/token_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using tokenstore::Status;
using tokenstore::StatusCode;

// What the caller can do about a failed operation (client/token_client.h lists the codes).
int Report(const char* what, const Status& st) {
  std::fprintf(stderr, "%s failed: %s\n", what, st.ToString().c_str());
  switch (st.code()) {
    case StatusCode::kNotFound:  // not configured, or dropped: create it first
      std::fprintf(stderr, "  the token is not in the file, or was dropped\n");
      return 3;
    case StatusCode::kDeadlineExceeded:  // no majority answered in time
    case StatusCode::kUnavailable:       // refused, unreachable, or not serving yet
      std::fprintf(stderr, "  retry later; a write's outcome is unknown (it may take effect)\n");
      return 4;
    default:  // INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, ...: see the message
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s CLUSTER.yaml [TOKEN]\n", argv[0]);
    return 2;
  }
  const std::string token = argc == 3 ? argv[2] : "1";

  // The same file the replicas were started with.
  tokenstore::StatusOr<tokenstore::ClusterConfig> config = tokenstore::LoadClusterConfig(argv[1]);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 2;
  }

  tokenstore::ClientOptions options;
  options.timeout = std::chrono::seconds(5);  // each call blocks at most about this long
  tokenstore::TokenClient client(*config, options);

  auto written = client.Write(token, "example", 5, 25, 100);
  if (!written.ok()) return Report("write", written.status());
  std::printf("wrote token %s at %s: ts %llu, partial %llu at x=%llu\n", written->id.c_str(),
              written->node.c_str(), static_cast<unsigned long long>(written->ts),
              static_cast<unsigned long long>(written->partial.value_or(0)),
              static_cast<unsigned long long>(written->partial_x));

  auto read = client.Read(token);
  if (!read.ok()) return Report("read", read.status());
  if (!read->defined || !read->final) {
    std::fprintf(stderr, "read of token %s at %s: undefined right after a write\n",
                 token.c_str(), read->node.c_str());
    return 1;
  }
  std::printf("read token %s at %s: ts %llu, name \"%s\", final %llu at x=%llu\n",
              read->id.c_str(), read->node.c_str(), static_cast<unsigned long long>(read->ts),
              read->name.c_str(), static_cast<unsigned long long>(*read->final),
              static_cast<unsigned long long>(read->final_x));
  // Reads are atomic: this client's completed write is visible (or a newer one).
  if (read->ts < written->ts || (read->ts == written->ts && read->partial != written->partial)) {
    std::fprintf(stderr, "the read does not reflect the write\n");
    return 1;
  }

  // One client, many threads: TokenClient is thread-safe; each call blocks its own thread.
  constexpr int kThreads = 4, kReadsEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kReadsEach; ++i) {
        auto r = client.Read(token);
        if (r.ok() && r->final == read->final) ok++;  // no other writer here
        if (!r.ok()) std::fprintf(stderr, "read: %s\n", r.status().ToString().c_str());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::printf("%d of %d concurrent reads agreed\n", ok.load(), kThreads * kReadsEach);
  return ok == kThreads * kReadsEach ? 0 : 1;
}
