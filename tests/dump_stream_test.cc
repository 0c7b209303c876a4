// AdminService.DumpStream over real gRPC on one in-process node: a dump far past the 4 MiB
// a single message may carry arrives whole, each register once and in token order, in
// chunks of at most 1,000; and the chunk boundaries.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "admin.grpc.pb.h"
#include "admin/admin_client.h"
#include "client.grpc.pb.h"
#include "config/cluster_config.h"
#include "replica/replica_server.h"
#include "replica/services.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using namespace std::chrono_literals;
using testing::StartAttempt;
using testing::StartOnLoopback;
using testing::TempDir;

// One node keeping tokens PREFIX0 ... PREFIX(n-1), as their writer and only reader.
class OneNode {
 public:
  OneNode(size_t tokens, const std::string& prefix) {
    StartOnLoopback(1, [&](const std::vector<std::string>& addresses) {
      address_ = addresses[0];
      const std::string yaml = "- tokens: {prefix: " + prefix +
                               ", from: 0, to: " + std::to_string(tokens - 1) +
                               "}\n  writer: " + address_ + "\n  readers: [" + address_ + "]\n";
      StatusOr<ClusterConfig> config = ParseClusterConfig(yaml, "dump_stream_test.yaml");
      if (!config.ok()) {
        ADD_FAILURE() << config.status().ToString();
        return StartAttempt::kFailed;
      }
      ReplicaServerOptions o;
      o.listen = address_;
      o.data_dir = dir_.File("n0");
      o.op_log = false;
      o.shutdown_grace = 500ms;
      server_ = std::make_unique<ReplicaServer>(*config, o);
      Status st = server_->Start();
      if (st.code() == StatusCode::kAlreadyExists) {
        server_.reset();
        return StartAttempt::kAddressInUse;
      }
      if (!st.ok()) {
        ADD_FAILURE() << st.ToString();
        server_.reset();
        return StartAttempt::kFailed;
      }
      return StartAttempt::kStarted;
    });
    EXPECT_TRUE(server_ && server_->WaitServing(20s)) << "the node does not serve";
  }
  ~OneNode() {
    if (server_) server_->Shutdown();
  }
  const std::string& address() const { return address_; }

  // Writes `name` (low 1, mid 2, high 3) to token `id`; false (and a test failure) if refused.
  bool Write(const std::string& id, const std::string& name) {
    if (!stub_) {
      stub_ = v1::TokenService::NewStub(
          grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::WriteRequest req;
    req.set_id(id);
    req.set_name(name);
    req.set_low(1);
    req.set_mid(2);
    req.set_high(3);
    v1::WriteResponse resp;
    grpc::Status st = stub_->Write(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << id << ": " << st.error_message();
    return st.ok();
  }

 private:
  TempDir dir_{"tokenstore-dump"};
  std::string address_;
  std::unique_ptr<ReplicaServer> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

std::string Id(const std::string& prefix, size_t i) { return prefix + std::to_string(i); }

// Every entry of a streamed dump, and the size of each chunk.
struct Streamed {
  Status status;
  NodeDump header;
  uint64_t tokens = 0;
  std::vector<DumpEntry> entries;
  std::vector<size_t> chunks;
};

Streamed StreamDump(const std::string& node) {
  Streamed s;
  AdminClient admin;
  s.status = admin.DumpStream(
      node,
      [&s](const NodeDump& header, uint64_t tokens) {
        s.header = header;
        s.tokens = tokens;
        return Status::Ok();
      },
      [&s](std::vector<DumpEntry>& entries) {
        s.chunks.push_back(entries.size());
        for (DumpEntry& e : entries) s.entries.push_back(std::move(e));
        return Status::Ok();
      });
  return s;
}

TEST(DumpStream, PastTheUnaryLimitEveryRegisterOnceInOrder) {
  // 36,000 ids of 125 bytes: some 5.5 MB of entries, past gRPC's 4 MiB default.
  const size_t n = 36'000;
  const std::string prefix = std::string(120, 'p');
  OneNode node(n, prefix);
  for (size_t i : {size_t{0}, size_t{12'345}, n - 1}) {
    ASSERT_TRUE(node.Write(Id(prefix, i), "name" + std::to_string(i)));
  }
  AdminClient admin;
  ASSERT_TRUE(admin.Crash(node.address(), Id(prefix, 7)).ok());

  // The old unary form does not fit in one message.
  {
    const auto admin_stub = v1::AdminService::NewStub(
        grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::DumpResponse resp;
    grpc::Status st = admin_stub->Dump(&ctx, v1::DumpRequest(), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << st.error_message() << "; the response took " << resp.ByteSizeLong() << " bytes";
  }

  const auto start = std::chrono::steady_clock::now();
  Streamed s = StreamDump(node.address());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(s.status.ok()) << s.status.ToString();
  std::printf(
      "streamed %zu entries in %zu chunks in %lld ms\n", s.entries.size(), s.chunks.size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(s.header.node, node.address());
  EXPECT_EQ(s.header.state, "serving");
  EXPECT_FALSE(s.header.identity.empty());
  EXPECT_EQ(s.tokens, n);
  ASSERT_EQ(s.entries.size(), n);
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(Id(prefix, i));
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(s.entries[i].token, ids[i]) << "entry " << i;  // each once, in token order
  }
  for (size_t c : s.chunks) EXPECT_LE(c, AdminServiceImpl::kDumpChunkEntries);
  for (const DumpEntry& e : s.entries) {
    EXPECT_EQ(e.role, "writer+reader");
    EXPECT_EQ(e.crashed, e.token == Id(prefix, 7)) << e.token;
    const bool written =
        e.token == Id(prefix, 0) || e.token == Id(prefix, 12'345) || e.token == Id(prefix, n - 1);
    EXPECT_EQ(e.reg.value.kind, written ? ValueKind::kDefined : ValueKind::kUndefined) << e.token;
    if (written) {
      EXPECT_EQ(e.reg.value.name, "name" + e.token.substr(prefix.size()));
      EXPECT_GT(e.reg.ts, 0u);
      EXPECT_GE(e.reserved_ts, e.reg.ts);
    }
  }

  // The compatibility call built on the stream.
  StatusOr<NodeDump> dump = admin.Dump(node.address());
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_EQ(dump->entries.size(), n);
}

// A header message, then full chunks and a last partial one; none empty.
TEST(DumpStream, ChunkBoundaries) {
  const size_t chunk = AdminServiceImpl::kDumpChunkEntries;
  for (size_t n : {size_t{1}, chunk, chunk + 1, 2 * chunk}) {
    SCOPED_TRACE("tokens: " + std::to_string(n));
    OneNode node(n, "t");
    Streamed s = StreamDump(node.address());
    ASSERT_TRUE(s.status.ok()) << s.status.ToString();
    EXPECT_EQ(s.tokens, n);
    std::vector<size_t> expected(n / chunk, chunk);
    if (n % chunk != 0) expected.push_back(n % chunk);
    EXPECT_EQ(s.chunks, expected);
    std::vector<std::string> ids;
    for (size_t i = 0; i < n; ++i) ids.push_back(Id("t", i));
    std::sort(ids.begin(), ids.end());
    std::vector<std::string> got;
    for (const DumpEntry& e : s.entries) got.push_back(e.token);
    EXPECT_EQ(got, ids);
  }
}

// Entries with long names end a chunk before 1,000 of them: a chunk stays far below the
// 4 MiB a caller receives by default whatever the names.
TEST(DumpStream, LongNamesMakeSmallerChunks) {
  const size_t n = AdminServiceImpl::kDumpChunkEntries;
  OneNode node(n, "t");
  const std::string name(1000, 'n');
  for (size_t i = 0; i < 600; ++i) ASSERT_TRUE(node.Write(Id("t", i), name));
  Streamed s = StreamDump(node.address());
  ASSERT_TRUE(s.status.ok()) << s.status.ToString();
  ASSERT_EQ(s.entries.size(), n);
  EXPECT_GE(s.chunks.size(), 2u);
  size_t at = 0;
  for (size_t c : s.chunks) {
    size_t bytes = 0;
    for (size_t i = at; i < at + c; ++i)
      bytes += s.entries[i].token.size() + s.entries[i].reg.value.name.size();
    EXPECT_LE(bytes, AdminServiceImpl::kDumpChunkBytes + name.size() + 64);
    at += c;
  }
  for (size_t i = 1; i < n; ++i) EXPECT_LT(s.entries[i - 1].token, s.entries[i].token);
}

}  // namespace
}  // namespace tokenstore
