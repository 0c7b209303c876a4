// AdminClient against an in-process fake AdminService on 127.0.0.1.
#include "admin/admin_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <set>

#include "proto/convert.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using namespace std::chrono_literals;

class ParkedCall final : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override { Finish(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }
};

// Writes nothing; finishes with `status` at once, or (parked) when the caller gives up.
class StreamCall final : public grpc::ServerWriteReactor<v1::DumpChunk> {
 public:
  explicit StreamCall(std::optional<grpc::Status> status) {
    if (status) Finish(*status);
  }
  void OnCancel() override { Finish(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }
};

// Answers DumpStream as a node older than it (UNIMPLEMENTED), so that Dump is asked: the
// client's fallback. With `silent_stream`, DumpStream never sends a message.
class FakeAdminService final : public v1::AdminService::CallbackService {
 public:
  bool silent = false;
  bool silent_stream = false;

  grpc::ServerUnaryReactor* Crash(grpc::CallbackServerContext* ctx, const v1::CrashRequest* req,
                                  v1::CrashResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    resp->set_was_crashed(!crashed_.insert(req->token()).second);
    return Ok(ctx);
  }
  grpc::ServerUnaryReactor* Revive(grpc::CallbackServerContext* ctx, const v1::ReviveRequest* req,
                                   v1::ReviveResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    resp->set_was_crashed(crashed_.erase(req->token()) > 0);
    return Ok(ctx);
  }
  grpc::ServerWriteReactor<v1::DumpChunk>* DumpStream(grpc::CallbackServerContext*,
                                                      const v1::DumpRequest*) override {
    if (silent_stream) return new StreamCall(std::nullopt);
    return new StreamCall(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "older node"));
  }
  grpc::ServerUnaryReactor* Dump(grpc::CallbackServerContext* ctx, const v1::DumpRequest*,
                                 v1::DumpResponse* resp) override {
    if (silent) return new ParkedCall();
    std::lock_guard<std::mutex> lock(mu_);
    resp->set_node("127.0.0.1:50051");
    // Out of order on purpose: the client sorts.
    for (const char* token : {"b", "a"}) {
      v1::DumpEntry* e = resp->add_entries();
      e->set_token(token);
      Register reg;
      reg.ts = 2;
      reg.value.kind = ValueKind::kDefined;
      reg.value.name = std::string("name-") + token;
      reg.value.low = 1;
      reg.value.mid = 2;
      reg.value.high = 3;
      ToProto(reg, e->mutable_reg());
      e->set_crashed(crashed_.count(token) > 0);
      e->set_reserved_ts(10);
      e->set_role("writer");
    }
    return Ok(ctx);
  }

 private:
  static grpc::ServerUnaryReactor* Ok(grpc::CallbackServerContext* ctx) {
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  std::mutex mu_;
  std::set<std::string> crashed_;
};

class AdminClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // never share a port
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    node_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  FakeAdminService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string node_;
};

TEST_F(AdminClientTest, CrashAndReviveReportThePreviousMark) {
  AdminClient admin;
  EXPECT_EQ(admin.Crash(node_, "1").value(), false);
  EXPECT_EQ(admin.Crash(node_, "1").value(), true);
  EXPECT_EQ(admin.Revive(node_, "1").value(), true);
  EXPECT_EQ(admin.Revive(node_, "1").value(), false);
}

TEST_F(AdminClientTest, DumpIsSortedPlainValues) {
  AdminClient admin;
  ASSERT_TRUE(admin.Crash(node_, "a").ok());
  StatusOr<NodeDump> d = admin.Dump(node_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->node, "127.0.0.1:50051");
  ASSERT_EQ(d->entries.size(), 2u);
  EXPECT_EQ(d->entries[0].token, "a");
  EXPECT_TRUE(d->entries[0].crashed);
  EXPECT_EQ(d->entries[0].reg.value.name, "name-a");
  EXPECT_EQ(d->entries[0].reserved_ts, 10u);
  EXPECT_EQ(d->entries[0].role, "writer");
  EXPECT_EQ(d->entries[1].token, "b");
  EXPECT_FALSE(d->entries[1].crashed);
}

TEST_F(AdminClientTest, SilentNodeTimesOutWithAMessage) {
  service_.silent = true;
  AdminClient admin(AdminOptions{200ms});
  StatusOr<NodeDump> d = admin.Dump(node_);
  ASSERT_EQ(d.status().code(), StatusCode::kDeadlineExceeded) << d.status().ToString();
  EXPECT_NE(d.status().message().find("dump: " + node_ + " did not answer within 200ms"),
            std::string::npos)
      << d.status().message();
}

// The stream's wait is per message: nothing within --timeout fails the dump.
TEST_F(AdminClientTest, SilentStreamTimesOutWithAMessage) {
  service_.silent_stream = true;
  AdminClient admin(AdminOptions{200ms});
  StatusOr<NodeDump> d = admin.Dump(node_);
  ASSERT_EQ(d.status().code(), StatusCode::kDeadlineExceeded) << d.status().ToString();
  EXPECT_NE(d.status().message().find("dump: " + node_ + " did not answer within 200ms"),
            std::string::npos)
      << d.status().message();
}

TEST(AdminClient, UnreachableNodeSaysWhatToCheck) {
  const testing::HeldLoopbackPort refusing(testing::HeldLoopbackPort::Mode::kRefusing);
  const std::string& dead = refusing.address();

  AdminClient admin(AdminOptions{2s});
  StatusOr<bool> r = admin.Crash(dead, "1");
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("crash of token \"1\": cannot reach " + dead +
                                      " (connection refused): is token-replica "
                                      "running there?"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace tokenstore
