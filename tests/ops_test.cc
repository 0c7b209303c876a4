// The operational endpoints of a replica, in process over real gRPC and HTTP on 127.0.0.1:
// gRPC health checking, server reflection and the Prometheus metrics endpoint.
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <optional>
#include <thread>

#include "common/build_info.h"
#include "admin.grpc.pb.h"
#include "client.grpc.pb.h"
#include "ops_probe.pb.h"
#include "replica/replica_server.h"
#include "tests/health_probe.h"
#include "tests/raw_call.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using testing::HttpGet;
using testing::MetricValue;
using testing::RawCall;
using testing::StartAttempt;
using testing::TempDir;
using namespace std::chrono_literals;
namespace probe = tokenstore::testing::probe;

constexpr char kHealthWatch[] = "/grpc.health.v1.Health/Watch";
constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// One node keeping tokens 1 and 2 alone (a majority of one), metrics on a port the kernel
// picks; the node's address is named in its configuration, so it is chosen, then bound
// (on another one when it was taken).
class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::StartOnLoopback(1, [this](const std::vector<std::string>& address) {
      node_ = address[0];
      auto cfg = ParseClusterConfig("- token: 1\n  writer: " + node_ + "\n  readers: [" + node_ +
                                        "]\n- token: 2\n  writer: " + node_ + "\n  readers: [" +
                                        node_ + "]\n",
                                    "ops_test.yaml");
      EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
      if (!cfg.ok()) return StartAttempt::kFailed;
      config_ = *cfg;
      return StartServer();
    });
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  StartAttempt StartServer() {
    ReplicaServerOptions o;
    o.listen = node_;
    o.data_dir = dir_.File("data");
    o.op_log = false;
    o.storage_threads = 2;
    o.shutdown_grace = 500ms;
    o.metrics_listen = "127.0.0.1:0";
    server_ = std::make_unique<ReplicaServer>(config_, o);
    Status st = server_->Start();
    if (st.code() == StatusCode::kAlreadyExists) {
      server_.reset();
      return StartAttempt::kAddressInUse;
    }
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_NE(server_->metrics_port(), 0);
    metrics_address_ = "127.0.0.1:" + std::to_string(server_->metrics_port());
    return st.ok() ? StartAttempt::kStarted : StartAttempt::kFailed;
  }

  std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel(node_, grpc::InsecureChannelCredentials());
  }

  // The health of `service` ("" for the server), or the call's error.
  std::pair<grpc::Status, probe::HealthCheckResponse::ServingStatus> Health(
      const std::string& service) {
    testing::HealthAnswer a = testing::CheckHealth(Channel(), service);
    return {a.call, a.serving};
  }

  std::string Scrape() {
    std::optional<testing::HttpResponse> r = HttpGet(metrics_address_, "/metrics");
    EXPECT_TRUE(r.has_value()) << "no answer from " << metrics_address_;
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << r->body;
    return r->body;
  }
  // The value of `series` in a fresh scrape; -1 when it is missing.
  double Metric(const std::string& series) {
    const std::string text = Scrape();
    std::optional<double> v = MetricValue(text, series);
    EXPECT_TRUE(v.has_value()) << series << " missing from:\n" << text;
    return v.value_or(-1);
  }

  grpc::Status Write(const std::string& id, const std::string& name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::WriteRequest req;
    req.set_id(id);
    req.set_name(name);
    req.set_low(0);
    req.set_mid(10);
    req.set_high(20);
    v1::WriteResponse resp;
    return v1::TokenService::NewStub(Channel())->Write(&ctx, req, &resp);
  }
  grpc::Status Read(const std::string& id, std::chrono::milliseconds timeout = 5000ms) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ReadRequest req;
    req.set_id(id);
    v1::ReadResponse resp;
    return v1::TokenService::NewStub(Channel())->Read(&ctx, req, &resp);
  }
  grpc::Status SetCrashed(const std::string& token, bool crashed) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    auto admin = v1::AdminService::NewStub(Channel());
    if (crashed) {
      v1::CrashRequest req;
      v1::CrashResponse resp;
      req.set_token(token);
      return admin->Crash(&ctx, req, &resp);
    }
    v1::ReviveRequest req;
    v1::ReviveResponse resp;
    req.set_token(token);
    return admin->Revive(&ctx, req, &resp);
  }

  TempDir dir_{"tokenstore-ops"};
  std::string node_;
  ClusterConfig config_;
  std::unique_ptr<ReplicaServer> server_;
  std::string metrics_address_;
};

TEST_F(OpsTest, HealthIsServingForTheServerAndEachService) {
  for (const char* service : {"", "tokenstore.v1.TokenService", "tokenstore.v1.ReplicaService",
                              "tokenstore.v1.AdminService"}) {
    auto [st, status] = Health(service);
    ASSERT_TRUE(st.ok()) << service << ": " << st.error_message();
    EXPECT_EQ(status, probe::HealthCheckResponse::SERVING) << service;
  }
  auto [st, status] = Health("no.such.Service");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(OpsTest, HealthTurnsNotServingAtShutdownThenTheServerIsGone) {
  probe::HealthCheckRequest req;
  RawCall watch(Channel(), kHealthWatch, 10s);
  ASSERT_TRUE(watch.Write(req.SerializeAsString()));
  ASSERT_TRUE(watch.WritesDone());
  probe::HealthCheckResponse first;
  std::optional<std::string> bytes = watch.Read();
  ASSERT_TRUE(bytes.has_value());
  ASSERT_TRUE(first.ParseFromString(*bytes));
  EXPECT_EQ(first.status(), probe::HealthCheckResponse::SERVING);

  std::thread stopper([this] { server_->Shutdown(); });
  // The watcher hears NOT_SERVING before its stream is closed by the shutdown.
  bool saw_not_serving = false;
  while ((bytes = watch.Read())) {
    probe::HealthCheckResponse update;
    ASSERT_TRUE(update.ParseFromString(*bytes));
    if (update.status() == probe::HealthCheckResponse::NOT_SERVING) saw_not_serving = true;
  }
  watch.Finish();
  stopper.join();
  EXPECT_TRUE(saw_not_serving);

  auto [st, status] = Health("");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

TEST_F(OpsTest, ReflectionListsOurServicesAndDescribesThem) {
  RawCall call(Channel(), kReflection, 5s);
  probe::ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(call.Write(list.SerializeAsString()));
  std::optional<std::string> bytes = call.Read();
  ASSERT_TRUE(bytes.has_value()) << call.Finish().error_message();
  probe::ServerReflectionResponse resp;
  ASSERT_TRUE(resp.ParseFromString(*bytes));
  ASSERT_TRUE(resp.has_list_services_response()) << resp.DebugString();
  std::vector<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  for (const char* want : {"tokenstore.v1.TokenService", "tokenstore.v1.ReplicaService",
                           "tokenstore.v1.AdminService", "grpc.health.v1.Health"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end())
        << want << " not listed; got " << resp.DebugString();
  }

  // What `grpcurl describe` asks next: the file that defines a service.
  probe::ServerReflectionRequest describe;
  describe.set_file_containing_symbol("tokenstore.v1.TokenService");
  ASSERT_TRUE(call.Write(describe.SerializeAsString()));
  ASSERT_TRUE(call.WritesDone());
  bytes = call.Read();
  ASSERT_TRUE(bytes.has_value());
  ASSERT_TRUE(resp.ParseFromString(*bytes));
  ASSERT_TRUE(resp.has_file_descriptor_response()) << resp.DebugString();
  bool found_write = false;
  for (const std::string& raw : resp.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(raw));
    for (const auto& service : file.service()) {
      if (file.package() != "tokenstore.v1" || service.name() != "TokenService") continue;
      for (const auto& method : service.method()) found_write |= method.name() == "Write";
    }
  }
  EXPECT_TRUE(found_write) << "no TokenService.Write in the descriptors returned";
  EXPECT_TRUE(call.Finish().ok());
}

TEST_F(OpsTest, MetricsMoveAfterAWriteAndReads) {
  const std::string write_ok = R"(tokenstore_operations_total{op="write",code="OK"})";
  const std::string read_ok = R"(tokenstore_operations_total{op="read",code="OK"})";
  const std::string fast = R"(tokenstore_reads_total{path="fast"})";
  const std::string hits = "tokenstore_final_cache_hits_total";
  const std::string applied = R"(tokenstore_stores_total{result="applied"})";
  const std::string store_waits = R"(tokenstore_quorum_wait_seconds_count{round="store"})";
  const std::string get_waits = R"(tokenstore_quorum_wait_seconds_count{round="get"})";
  const std::string syncs = "tokenstore_storage_sync_seconds_count";
  const std::string write_latency = R"(tokenstore_operation_duration_seconds_count{op="write"})";

  EXPECT_EQ(Metric(write_ok), 0);
  EXPECT_EQ(Metric(read_ok), 0);
  EXPECT_EQ(Metric(fast), 0);
  EXPECT_EQ(Metric(hits), 0);
  EXPECT_EQ(Metric(write_latency), 0);
  EXPECT_EQ(Metric("tokenstore_tokens"), 2);
  // Which build runs: the labels are what --version prints (common/build_info.h).
  EXPECT_EQ(Metric("tokenstore_build_info{version=\"" + std::string(BuildVersion()) +
                   "\",git=\"" + std::string(BuildGit()) + "\"}"),
            1);
  // The node serves: its lifecycle says so, and every token counts in quorums.
  EXPECT_EQ(Metric(R"(tokenstore_node_state{state="serving"})"), 1);
  EXPECT_EQ(Metric(R"(tokenstore_node_state{state="rebuilding"})"), 0);
  EXPECT_EQ(Metric("tokenstore_tokens_served"), 2);
  const double syncs_before = Metric(syncs);

  ASSERT_TRUE(Write("1", "abc").ok());
  EXPECT_EQ(Metric(write_ok), 1);
  EXPECT_EQ(Metric(write_latency), 1);
  EXPECT_EQ(Metric(applied), 1);
  EXPECT_EQ(Metric(store_waits), 1);
  // The writer's first operation learns the token's state by a quorum read.
  EXPECT_EQ(Metric(get_waits), 1);
  // The timestamp reservation and the register: each a synced write.
  EXPECT_GE(Metric(syncs), syncs_before + 2);

  ASSERT_TRUE(Read("1").ok());
  ASSERT_TRUE(Read("1").ok());
  EXPECT_EQ(Metric(read_ok), 2);
  EXPECT_EQ(Metric(fast), 2);  // one replica always agrees with itself
  EXPECT_EQ(Metric(R"(tokenstore_reads_total{path="slow"})"), 0);
  EXPECT_EQ(Metric(hits), 1);  // the second read found final in the cache
  EXPECT_EQ(Metric(get_waits), 3);

  // Failures are counted by their status code.
  EXPECT_EQ(Read("no-such-token").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Metric(R"(tokenstore_operations_total{op="read",code="NOT_FOUND"})"), 1);
  EXPECT_EQ(Metric(read_ok), 2);

  const std::string text = Scrape();
  for (const char* help : {"# TYPE tokenstore_operations_total counter",
                           "# TYPE tokenstore_operation_duration_seconds histogram",
                           "# TYPE tokenstore_operations_in_flight gauge",
                           "# TYPE tokenstore_quorum_rounds_failed_total counter",
                           "# TYPE tokenstore_crash_stopped_tokens gauge"}) {
    EXPECT_NE(text.find(help), std::string::npos) << help << " missing from:\n" << text;
  }
  EXPECT_EQ(MetricValue(text, R"(tokenstore_operation_duration_seconds_bucket{op="write",le="+Inf"})"),
            1);
}

TEST_F(OpsTest, CrashStoppedTokenShowsInTheGaugeAndItsParkedCallsInFlight) {
  const std::string gauge = "tokenstore_crash_stopped_tokens";
  const std::string reads_in_flight = R"(tokenstore_operations_in_flight{op="read"})";
  EXPECT_EQ(Metric(gauge), 0);
  ASSERT_TRUE(SetCrashed("2", true).ok());
  EXPECT_EQ(Metric(gauge), 1);

  // A read of the crash-stopped token is parked until its caller gives up.
  auto parked = std::async(std::launch::async, [this] { return Read("2", 1500ms); });
  double seen = 0;
  for (int i = 0; i < 100 && seen != 1; ++i) {
    seen = Metric(reads_in_flight);
    if (seen != 1) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(parked.get().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  for (int i = 0; i < 100 && seen != 0; ++i) {
    seen = Metric(reads_in_flight);
    if (seen != 0) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(seen, 0);
  // The server's side of a caller giving up is CANCELLED.
  EXPECT_EQ(Metric(R"(tokenstore_operations_total{op="read",code="CANCELLED"})"), 1);

  ASSERT_TRUE(SetCrashed("2", false).ok());
  EXPECT_EQ(Metric(gauge), 0);
}

TEST_F(OpsTest, MetricsAddressInUseRefusesToStartAndLeavesNothingRunning) {
  ReplicaServerOptions o;
  o.data_dir = dir_.File("other");
  o.op_log = false;
  std::optional<ClusterConfig> cfg;
  // Another node, first without metrics: it binds its own address and stops again.
  testing::StartOnLoopback(1, [&](const std::vector<std::string>& address) {
    o.listen = address[0];
    auto parsed = ParseClusterConfig(
        "- token: 9\n  writer: " + o.listen + "\n  readers: [" + o.listen + "]\n", "other.yaml");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    if (!parsed.ok()) return StartAttempt::kFailed;
    cfg = *parsed;
    ReplicaServer first(*cfg, o);
    Status st = first.Start();
    if (st.code() == StatusCode::kAlreadyExists) return StartAttempt::kAddressInUse;
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? StartAttempt::kStarted : StartAttempt::kFailed;
  });
  ASSERT_TRUE(cfg.has_value());
  o.metrics_listen = metrics_address_;  // the running server's
  {
    ReplicaServer clash(*cfg, o);
    Status st = clash.Start();
    EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
    EXPECT_NE(st.message().find(metrics_address_), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("--metrics-listen"), std::string::npos) << st.ToString();
  }
  // IPv6 is refused with a reason (Debian's civetweb is built without it).
  {
    o.metrics_listen = "[::1]:0";
    ReplicaServer v6(*cfg, o);
    Status st = v6.Start();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find("IPv6"), std::string::npos) << st.ToString();
  }
  // Nothing of either is left: the gRPC port and data directory can be taken again at once.
  o.metrics_listen.clear();
  ReplicaServer again(*cfg, o);
  Status st = again.Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(again.metrics_port(), 0);
  again.Shutdown();
  // And the first server's metrics were never disturbed.
  EXPECT_EQ(Metric("tokenstore_tokens"), 2);
}

}  // namespace
}  // namespace tokenstore
