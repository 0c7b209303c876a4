// A whole cluster in one process over real gRPC on 127.0.0.1: every node is a ReplicaServer
// (the same composition root as token-replica) with its own RocksDB directory.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "admin.grpc.pb.h"
#include "client/batch.h"
#include "client/token_client.h"
#include "client.grpc.pb.h"
#include "replication.grpc.pb.h"
#include "replica/replica_server.h"
#include "tests/in_process_cluster.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using testing::InProcessCluster;
using testing::TempDir;
using namespace std::chrono_literals;

TEST(Cluster, WritesAndReadsAcrossReaders) {
  InProcessCluster c;
  v1::WriteResponse w;
  grpc::Status st = c.Write(0, "1", "abc", 5, 25, 100, &w);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(w.partial(), 902613196918738813ull);
  EXPECT_EQ(w.partial_x(), 15u);
  for (size_t i = 0; i < 3; ++i) {
    v1::ReadResponse r;
    st = c.Read(i, "1", &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(r.defined());
    EXPECT_EQ(r.name(), "abc");
    EXPECT_EQ(r.ts(), w.ts());
    EXPECT_EQ(r.final(), 60570345165277511ull);  // derivation in replica/replica_core_test.cc
    EXPECT_EQ(r.final_x(), 70u);
  }
}

TEST(Cluster, WrongNodeAndBadArgumentsAreExplained) {
  InProcessCluster c;
  v1::WriteResponse w;
  grpc::Status st = c.Write(1, "1", "abc", 5, 25, 100, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("send writes to " + c.node(0)), std::string::npos);
  v1::ReadResponse r;
  st = c.Read(0, "2", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  st = c.Read(0, "nope", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  st = c.Write(0, "1", "abc", 30, 20, 100, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("low (30)"), std::string::npos);
  st = c.Write(0, "1", "abc", 0, 1, 1'000'000'000'000ull, &w);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("--max-range"), std::string::npos);
}

TEST(Cluster, DropAndCreate) {
  InProcessCluster c;
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "abc", 5, 25, 100, &w).ok());
  {
    grpc::ClientContext ctx;
    v1::DropRequest req;
    v1::DropResponse resp;
    req.set_id("1");
    ASSERT_TRUE(c.Client(0).Drop(&ctx, req, &resp).ok());
    EXPECT_GT(resp.ts(), w.ts());
  }
  v1::ReadResponse r;
  EXPECT_EQ(c.Read(1, "1", &r).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(c.Write(0, "1", "abc", 5, 25, 100, &w).error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext ctx;
    v1::CreateRequest req;
    v1::CreateResponse resp;
    req.set_id("1");
    ASSERT_TRUE(c.Client(0).Create(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(c.Read(2, "1", &r).ok());
  EXPECT_FALSE(r.defined());
  ASSERT_TRUE(c.Write(0, "1", "again", 5, 25, 100, &w).ok());
  ASSERT_TRUE(c.Read(2, "1", &r).ok());
  EXPECT_EQ(r.name(), "again");
}

TEST(Cluster, TokenCrashStoppedOnAMinorityIsStillReadAndWritten) {
  InProcessCluster c;
  ASSERT_TRUE(c.Crash(2, "1").ok());
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "minority", 0, 10, 20, &w).ok());
  v1::ReadResponse r;
  ASSERT_TRUE(c.Read(1, "1", &r).ok());
  EXPECT_EQ(r.name(), "minority");
  // The crash-stopped node answers nothing about token 1, not even an error...
  grpc::Status st = c.Read(2, "1", &r, 300ms);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // ...and serves token 3 as usual.
  ASSERT_TRUE(c.Write(2, "3", "other", 0, 10, 20, &w).ok());
  ASSERT_TRUE(c.Read(2, "3", &r).ok());
  EXPECT_EQ(r.name(), "other");
}

// Fail-silent per token inside one Batch RPC: the entries about the crash-stopped token get
// no result at all, the others of the same batch are answered (and stored) as usual.
TEST(Cluster, BatchLeavesOutOnlyTheEntriesOfACrashStoppedToken) {
  InProcessCluster c;
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "one", 0, 10, 20, &w).ok());
  ASSERT_TRUE(c.Crash(1, "1").ok());
  auto stub = v1::ReplicaService::NewStub(
      grpc::CreateChannel(c.node(1), grpc::InsecureChannelCredentials()));
  v1::BatchRequest req;
  auto add = [&](uint64_t id, const std::string& token, std::optional<uint64_t> store_ts) {
    v1::BatchEntry* e = req.add_entries();
    e->set_id(id);
    e->set_token(token);
    if (store_ts) {
      e->mutable_store()->set_ts(*store_ts);
      e->mutable_store()->mutable_value()->set_kind(v1::TokenValue::DEFINED);
      e->mutable_store()->mutable_value()->set_name("batched");
      e->mutable_store()->mutable_value()->set_mid(1);
      e->mutable_store()->mutable_value()->set_high(2);
      e->mutable_store()->mutable_value()->set_partial(123);  // over [0, 1): at x = 0
      e->mutable_store()->mutable_value()->set_partial_x(0);
    } else {
      e->set_get_register(true);
    }
  };
  add(1, "1", std::nullopt);
  add(2, "1", 100);
  add(3, "3", std::nullopt);
  add(4, "3", 50);
  add(5, "no-such-token", std::nullopt);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::BatchResponse resp;
  grpc::Status st = stub->Batch(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::map<uint64_t, v1::BatchResult> results;
  for (const auto& r : resp.results()) results[r.id()] = r;
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results.count(1));
  EXPECT_FALSE(results.count(2));
  EXPECT_EQ(results[3].code(), 0);
  EXPECT_EQ(results[4].code(), 0);
  EXPECT_EQ(results[4].stored_ts(), 50u);
  EXPECT_EQ(results[5].code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(c.DumpOf(1, "3").reg().ts(), 50u);
  EXPECT_EQ(c.DumpOf(1, "3").reg().value().name(), "batched");
  EXPECT_NE(c.DumpOf(1, "1").reg().ts(), 100u);
}

TEST(Cluster, ThousandParkedCallsDoNotStopAnotherToken) {
  InProcessCluster c;
  ASSERT_TRUE(c.Crash(1, "1").ok());
  constexpr int kParked = 1000;
  struct Parked {
    grpc::ClientContext ctx;
    v1::ReadRequest req;
    v1::ReadResponse resp;
  };
  std::vector<std::unique_ptr<Parked>> calls;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0, cancelled = 0;
  for (int i = 0; i < kParked; ++i) {
    auto p = std::make_unique<Parked>();
    p->ctx.set_deadline(std::chrono::system_clock::now() + 120s);
    p->req.set_id("1");
    c.Client(1).async()->Read(&p->ctx, &p->req, &p->resp, [&](grpc::Status st) {
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      if (st.error_code() == grpc::StatusCode::CANCELLED) ++cancelled;
      cv.notify_all();
    });
    calls.push_back(std::move(p));
  }
  // With a thousand calls parked on token 1, the same node keeps serving token 2 (it is its
  // writer) and token 3.
  for (int round = 0; round < 20; ++round) {
    v1::WriteResponse w;
    grpc::Status st = c.Write(1, "2", "busy-" + std::to_string(round), 0, 5, 10, &w);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::ReadResponse r;
    st = c.Read(1, "3", &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    st = c.Read(1, "2", &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.name(), "busy-" + std::to_string(round));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(finished, 0) << "a call on the crash-stopped token was answered";
  }
  for (auto& p : calls) p->ctx.TryCancel();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return finished == kParked; }));
  EXPECT_EQ(cancelled, kParked);
}

TEST(Cluster, WriterCrashStoppedWritesTimeOutReadsContinue) {
  InProcessCluster c;
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "before", 0, 10, 20, &w).ok());
  ASSERT_TRUE(c.Crash(0, "1").ok());
  grpc::Status st = c.Write(0, "1", "during", 0, 10, 20, &w, 500ms);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  v1::ReadResponse r;
  for (size_t i : {1, 2}) {
    st = c.Read(i, "1", &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.name(), "before");
  }
  ASSERT_TRUE(c.Crash(0, "1", /*crash=*/false).ok());
  ASSERT_TRUE(c.Write(0, "1", "after", 0, 10, 20, &w).ok());
  ASSERT_TRUE(c.Read(2, "1", &r).ok());
  EXPECT_EQ(r.name(), "after");
}

// The client library's session transport against real nodes (TokenService.Session): many
// threads' operations share one stream per node; a token crash-stopped on its writer leaves
// its writes unanswered (they fail at their deadline) while the other tokens' operations on
// the same streams go on; a node restarted under the client breaks its stream, and the
// client's next operations open a new one.
TEST(Cluster, SessionStreamsCarryManyThreadsThroughCrashStopAndRestart) {
  InProcessCluster c;
  ClientOptions options;
  options.transport = ClientOptions::Transport::kSession;
  options.timeout = 5s;
  options.attempt_timeout = 2s;
  TokenClient client(c.config(), options);
  auto run = [&](const std::string& token, int ops) {
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < ops; ++i) {
          if (i % 3 == 0) {
            StatusOr<WriteResult> w = client.Write(token, "t" + std::to_string(t), 0, 5, 9);
            if (w.ok() && w->partial) ok++;
          } else {
            StatusOr<ReadResult> r = client.Read(token);
            if (r.ok() && r->defined && r->final) ok++;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    return ok.load();
  };
  ASSERT_TRUE(client.Write("1", "first", 0, 5, 9).ok());
  ASSERT_TRUE(client.Write("3", "first", 0, 5, 9).ok());
  EXPECT_EQ(run("1", 30), 240);
  EXPECT_EQ(run("3", 30), 240);

  // Token 3 crash-stopped on its writer (n2): its writes get no answer, token 1's operations
  // (reads at n2 among them) are answered as usual.
  ASSERT_TRUE(c.Crash(2, "3").ok());
  ClientOptions quick = options;
  quick.timeout = 400ms;
  TokenClient impatient(c.config(), quick);
  EXPECT_EQ(impatient.Write("3", "during", 0, 5, 9).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(run("1", 15), 120);
  ASSERT_TRUE(c.Crash(2, "3", /*crash=*/false).ok());

  // n0 (token 1's writer) restarts: the stream to it breaks; the next writes open a new one.
  c.Stop(0);
  EXPECT_FALSE(client.Write("1", "while down", 0, 5, 9).ok());
  c.Start(0);
  c.WaitServing(0);
  // The channel saw refused connections while n0 was down and waits out its reconnect
  // backoff (at most 1 s, proto/channel.h) before it tries again: retry for a bounded time.
  StatusOr<WriteResult> w = Status::Unavailable("not tried");
  for (int i = 0; i < 50 && !w.ok(); ++i) {
    if (i > 0) std::this_thread::sleep_for(100ms);
    w = client.Write("1", "after restart", 0, 5, 9);
  }
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  StatusOr<ReadResult> r = client.Read("1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "after restart");
  EXPECT_EQ(r->ts, w->ts);
}

// token-client batch (client/batch.h) over sessions: every line gets exactly one JSON line
// naming it, operations that fail (a dropped token, a malformed line) say so in their line,
// and the others carry their results.
TEST(Cluster, BatchAnswersEveryLineOnce) {
  InProcessCluster c;
  ClientOptions options;
  options.transport = ClientOptions::Transport::kSession;
  options.timeout = 5s;
  TokenClient client(c.config(), options);
  std::string input = "# a comment\n\ndrop 2\n";
  constexpr int kWrites = 60;
  for (int i = 0; i < kWrites; ++i) {
    input += "write " + std::to_string(i % 2 ? 1 : 3) + " abc 5 25 100\n";
    input += "read " + std::to_string(i % 2 ? 3 : 1) + "\n";
  }
  input += "read 2\nwrite 1 abc 5 x 100\n";
  std::istringstream in(input);
  std::ostringstream out;
  const BatchCounts counts = RunBatch(client, in, out, 8);
  EXPECT_EQ(counts.ok, 2u * kWrites + 1);  // the drop, the writes and the reads
  EXPECT_EQ(counts.failed, 2u);            // the read of the dropped token, the bad line
  std::map<int, std::string> by_line;
  std::istringstream lines(out.str());
  for (std::string l; std::getline(lines, l);) {
    const size_t at = l.find("\"line\":");
    ASSERT_EQ(at, 1u) << l;
    const int line = std::stoi(l.substr(8));
    EXPECT_TRUE(by_line.emplace(line, l).second) << "line " << line << " answered twice";
  }
  ASSERT_EQ(by_line.size(), 2u * kWrites + 3);
  EXPECT_NE(by_line[3].find("\"op\":\"drop\""), std::string::npos) << by_line[3];
  // 64-bit integers are strings, as in token-client --json; the line number is a number.
  EXPECT_NE(by_line[4].find("\"partial\":\"902613196918738813\""), std::string::npos)
      << by_line[4];
  const int last = 3 + 2 * kWrites;
  EXPECT_NE(by_line[last + 1].find("\"code\":\"NOT_FOUND\""), std::string::npos)
      << by_line[last + 1];
  EXPECT_NE(by_line[last + 2].find("\"code\":\"INVALID_ARGUMENT\""), std::string::npos)
      << by_line[last + 2];
}

TEST(Cluster, CrashMarkSurvivesRestart) {
  InProcessCluster c;
  ASSERT_TRUE(c.Crash(2, "3").ok());
  c.Stop(2);
  c.Start(2);
  c.WaitServing(2);
  EXPECT_TRUE(c.DumpOf(2, "3").crashed());
  v1::ReadResponse r;
  EXPECT_EQ(c.Read(2, "3", &r, 300ms).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(Cluster, ReplicaThatWasDownCatchesUpThroughReadWriteBack) {
  InProcessCluster c;
  c.Stop(2);
  v1::WriteResponse w;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Write(0, "1", "v" + std::to_string(i), 0, 10, 20, &w).ok());
  }
  c.Start(2);
  c.WaitServing(2);
  EXPECT_LT(c.DumpOf(2, "1").reg().ts(), w.ts());
  // Node 2 reads: its own stale register and a newer one disagree, so it imposes the newer.
  v1::ReadResponse r;
  grpc::Status st = c.Read(2, "1", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.name(), "v4");
  EXPECT_FALSE(r.fast_path());
  // The write-back went to every replica; node 2's own store need not have been part of the
  // majority the read waited for, so give it a moment (bounded) to land.
  uint64_t held = 0;
  for (int i = 0; i < 100 && held != w.ts(); ++i) {
    held = c.DumpOf(2, "1").reg().ts();
    if (held != w.ts()) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(held, w.ts());
}

TEST(Cluster, EveryAcknowledgedWriteSurvivesRestartOfAllNodes) {
  InProcessCluster c;
  std::map<std::string, uint64_t> acked;
  v1::WriteResponse w;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.Write(0, "1", "one-" + std::to_string(i), 0, 3, 9, &w).ok());
    acked["1"] = w.ts();
    ASSERT_TRUE(c.Write(2, "3", "three-" + std::to_string(i), 0, 3, 9, &w).ok());
    acked["3"] = w.ts();
  }
  for (size_t i = 0; i < 3; ++i) c.Stop(i);
  for (size_t i = 0; i < 3; ++i) c.Start(i);
  for (size_t i = 0; i < 3; ++i) c.WaitServing(i);
  for (size_t i = 0; i < 3; ++i) {
    v1::ReadResponse r;
    ASSERT_TRUE(c.Read(i, "1", &r).ok());
    EXPECT_EQ(r.name(), "one-9");
    EXPECT_EQ(r.ts(), acked["1"]);
    ASSERT_TRUE(c.Read(i, "3", &r).ok());
    EXPECT_EQ(r.name(), "three-9");
  }
  // And the writer continues above every ts it issued before.
  ASSERT_TRUE(c.Write(0, "1", "later", 0, 3, 9, &w).ok());
  EXPECT_GT(w.ts(), acked["1"]);
}

// Issue 11, item 4: ports were probed (bound to port 0, released) and bound by the servers
// later, with gRPC's port reuse on: under `ctest -j` another test's server could take a port
// in between, and both listened on it, each getting some of the other's calls. Here the first
// addresses offered include one taken in between, held as a gRPC server with default
// arguments holds its port (SO_REUSEPORT). Node 2 refuses to share it, nodes 0 and 1 (already
// started) are stopped, and the cluster starts again on new addresses.
TEST(Cluster, StartsAgainOnNewAddressesWhenOneWasTakenBeforeItsBind) {
  const testing::HeldLoopbackPort taken(testing::HeldLoopbackPort::Mode::kListeningWithReusePort);
  int proposals = 0;
  InProcessCluster::Setup setup;
  setup.propose = [&](int n) {
    std::vector<std::string> a = testing::CandidateLoopbackAddresses(n);
    if (proposals++ == 0) a.back() = taken.address();
    return a;
  };
  InProcessCluster c(setup);
  EXPECT_EQ(proposals, 2);
  EXPECT_EQ(c.addresses_in_use(), 1);
  EXPECT_EQ(std::count(c.nodes().begin(), c.nodes().end(), taken.address()), 0);
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "moved", 5, 25, 100, &w).ok());
  for (size_t i = 0; i < 3; ++i) {
    v1::ReadResponse r;
    grpc::Status st = c.Read(i, "1", &r);
    ASSERT_TRUE(st.ok()) << c.node(i) << ": " << st.error_message();
    EXPECT_EQ(r.name(), "moved");
  }
}

}  // namespace
}  // namespace tokenstore
