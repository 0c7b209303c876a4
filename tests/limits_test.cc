// Limits over real gRPC: oversized and malformed requests and too many concurrent operations
// are refused with a clear status, while other clients carry on.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/in_process_cluster.h"

namespace tokenstore {
namespace {

using testing::InProcessCluster;
using namespace std::chrono_literals;

// Writes and reads on token 3 (writer n2) in a loop on another thread until stopped; counts
// failures. What "other clients carry on" means in these tests.
class Bystander {
 public:
  explicit Bystander(InProcessCluster& c) : stubs_(Security(), c.nodes()) {
    thread_ = std::thread([this] {
      for (uint64_t i = 1; !stop_; ++i) {
        v1::WriteResponse w;
        v1::ReadResponse r;
        if (stubs_.Write(2, "3", "bystander", 0, i % 50, 100, &w).ok() &&
            stubs_.Read(i % 3, "3", &r).ok() && r.ts() >= w.ts()) {
          ++ok_;
        } else {
          ++failed_;
        }
      }
    });
  }
  ~Bystander() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  testing::NodeStubs stubs_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::thread thread_;
};

TEST(Limits, OversizedAndMalformedRequestsAreRefusedWhileOthersCarryOn) {
  InProcessCluster c;
  c.SetTweak([](ReplicaServerOptions& o) { o.max_message_bytes = 8192; });
  c.Stop(0);
  c.Start(0);
  c.WaitServing(0);
  Bystander bystander(c);

  // Larger than the message limit: refused by gRPC before it is read.
  v1::WriteResponse w;
  grpc::Status st = c.Write(0, "1", std::string(100'000, 'n'), 0, 1, 2, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  // Within the message limit but over the name limit (1024 bytes).
  st = c.Write(0, "1", std::string(2000, 'n'), 0, 1, 2, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("name: 2000 bytes is longer than the limit of 1024"),
            std::string::npos)
      << st.error_message();
  // An impossible range, an id over the id limit.
  st = c.Write(0, "1", "abc", 10, 5, 20, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("low (10) must not exceed mid (5)"), std::string::npos);
  v1::ReadResponse r;
  st = c.Read(1, std::string(1000, '7'), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("id: 1000 bytes is longer than the limit of 128"),
            std::string::npos)
      << st.error_message();

  // Bytes that are not a WriteRequest at all.
  grpc::GenericStub generic(Security().NewNodeChannel(c.node(0)));
  for (const std::string& junk : {std::string("\xff\xff\xff\xff\x0f", 5), std::string("\x0a\x80", 2)}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::Slice slice(junk);
    grpc::ByteBuffer request(&slice, 1), reply;
    std::mutex mu;
    std::condition_variable cv;
    std::optional<grpc::Status> result;
    generic.UnaryCall(&ctx, "/tokenstore.v1.TokenService/Write", grpc::StubOptions(), &request,
                      &reply, [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        result = s;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return result.has_value(); }));
    EXPECT_FALSE(result->ok());
    EXPECT_NE(result->error_code(), grpc::StatusCode::UNAVAILABLE) << result->error_message();
  }

  // The node still serves well-formed requests, and the bystander never failed.
  ASSERT_TRUE(c.Write(0, "1", "abc", 5, 25, 100, &w).ok());
  ASSERT_TRUE(c.Read(1, "1", &r).ok());
  EXPECT_EQ(r.ts(), w.ts());
  bystander.Stop();
  EXPECT_GT(bystander.ok(), 0);
  EXPECT_EQ(bystander.failed(), 0);
}

// Polls `done` until it holds; false after `timeout`, which only a hang reaches.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds timeout = 60s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The slow write hashes 2^50 values: no machine finishes that within the test (at 10^10
// hashes a second it would take a day), so it holds token 1's place until the test cancels
// it, whatever the speed. (Before: 10^8 values, which a many-core host hashes in a fraction
// of a second, as the engine used every core whatever --hash-threads said.) With
// --hash-threads 1 it keeps one core busy, not all of them.
TEST(Limits, ConcurrentOperationsPerTokenAreBounded) {
  constexpr uint64_t kHuge = uint64_t{1} << 50;
  InProcessCluster c;
  c.SetTweak([](ReplicaServerOptions& o) {
    o.core.admission.max_per_token = 1;
    o.core.limits.max_range = kHuge;
    o.hash_threads = 1;
  });
  c.Stop(0);
  c.Start(0);
  c.WaitServing(0);
  // A write of token 1 that hashes until it is cancelled holds token 1's only place...
  grpc::ClientContext slow_ctx;
  slow_ctx.set_deadline(std::chrono::system_clock::now() + 120s);
  v1::WriteRequest slow_req;
  slow_req.set_id("1");
  slow_req.set_name("slow");
  slow_req.set_low(0);
  slow_req.set_mid(kHuge - 1);
  slow_req.set_high(kHuge);
  v1::WriteResponse slow_resp;
  std::atomic<bool> slow_done{false};
  grpc::Status slow_status;
  c.Client(0).async()->Write(&slow_ctx, &slow_req, &slow_resp, [&](grpc::Status s) {
    slow_status = s;
    slow_done = true;
  });
  ASSERT_TRUE(Eventually([&] { return c.server(0).core().in_flight() == 1 || slow_done; }));
  ASSERT_FALSE(slow_done) << "the slow write ended first: " << slow_status.error_message();
  // ...so another write of token 1 is refused at once, naming the limit...
  v1::WriteResponse refused;
  grpc::Status st = c.Write(0, "1", "abc", 5, 25, 100, &refused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("--max-inflight-per-token"), std::string::npos);
  // ...while token 2 at the same node's peers and reads of token 3 through node 0 go on
  // (token 3 is undefined: its read needs no hashing, so it does not queue behind the slow
  // write on node 0's one hashing thread).
  v1::ReadResponse r;
  EXPECT_TRUE(c.Read(0, "3", &r).ok());
  v1::WriteResponse w2;
  EXPECT_TRUE(c.Write(1, "2", "other", 0, 1, 2, &w2).ok());
  EXPECT_FALSE(slow_done);
  slow_ctx.TryCancel();
  ASSERT_TRUE(Eventually([&] { return slow_done.load(); }));
  EXPECT_EQ(slow_status.error_code(), grpc::StatusCode::CANCELLED) << slow_status.error_message();
  // The place is returned when the slow write ends at the server, which notices the
  // cancellation a moment after the client does and stops hashing.
  EXPECT_TRUE(Eventually([&] { return c.server(0).core().in_flight() == 0; }));
  v1::WriteResponse w;
  st = c.Write(0, "1", "abc", 5, 25, 100, &w);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

}  // namespace
}  // namespace tokenstore
