// A whole cluster in one process over real gRPC on 127.0.0.1: every node is a ReplicaServer
// (the same composition root as token-replica) with its own RocksDB directory, and raw
// stubs to call it with. Shared by the cluster, TLS and limits tests.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin.grpc.pb.h"
#include "client.grpc.pb.h"
#include "proto/security.h"
#include "replica/replica_server.h"
#include "tests/test_support.h"

namespace tokenstore::testing {

using namespace std::chrono_literals;

// Token 1: writer n0, readers n0 n1 n2. Token 2: writer n1, readers n1 n2 (replicas n1 n2).
// Token 3: writer n2, readers n0 n1 n2.
inline std::string ConfigFor(const std::vector<std::string>& n) {
  return "- token: 1\n  writer: " + n[0] + "\n  readers: [" + n[0] + ", " + n[1] + ", " + n[2] +
         "]\n- token: 2\n  writer: " + n[1] + "\n  readers: [" + n[1] + ", " + n[2] +
         "]\n- token: 3\n  writer: " + n[2] + "\n  readers: [" + n[0] + ", " + n[1] + ", " +
         n[2] + "]\n";
}

// Raw stubs to the nodes, connecting with one Security (plaintext by default).
class NodeStubs {
 public:
  NodeStubs(Security security, std::vector<std::string> nodes)
      : security_(std::move(security)), nodes_(std::move(nodes)) {}

  const std::string& node(size_t i) const { return nodes_[i]; }
  const std::vector<std::string>& nodes() const { return nodes_; }
  // Points the stubs at other nodes (those made so far are dropped).
  void set_nodes(std::vector<std::string> nodes) {
    nodes_ = std::move(nodes);
    clients_.clear();
    admins_.clear();
  }

  v1::TokenService::Stub& Client(size_t i) {
    auto& s = clients_[i];
    if (!s) s = v1::TokenService::NewStub(security_.NewNodeChannel(nodes_[i]));
    return *s;
  }
  v1::AdminService::Stub& Admin(size_t i) {
    auto& s = admins_[i];
    if (!s) s = v1::AdminService::NewStub(security_.NewNodeChannel(nodes_[i]));
    return *s;
  }

  grpc::Status Write(size_t i, const std::string& id, const std::string& name, uint64_t low,
                     uint64_t mid, uint64_t high, v1::WriteResponse* resp,
                     std::chrono::milliseconds timeout = 5000ms) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::WriteRequest req;
    req.set_id(id);
    req.set_name(name);
    req.set_low(low);
    req.set_mid(mid);
    req.set_high(high);
    return Client(i).Write(&ctx, req, resp);
  }
  grpc::Status Read(size_t i, const std::string& id, v1::ReadResponse* resp,
                    std::chrono::milliseconds timeout = 5000ms) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ReadRequest req;
    req.set_id(id);
    return Client(i).Read(&ctx, req, resp);
  }
  grpc::Status Crash(size_t i, const std::string& token, bool crash = true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    if (crash) {
      v1::CrashRequest req;
      v1::CrashResponse resp;
      req.set_token(token);
      return Admin(i).Crash(&ctx, req, &resp);
    }
    v1::ReviveRequest req;
    v1::ReviveResponse resp;
    req.set_token(token);
    return Admin(i).Revive(&ctx, req, &resp);
  }
  v1::DumpEntry DumpOf(size_t i, const std::string& token) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::DumpResponse resp;
    grpc::Status st = Admin(i).Dump(&ctx, v1::DumpRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const auto& e : resp.entries()) {
      if (e.token() == token) return e;
    }
    ADD_FAILURE() << "no entry for token " << token;
    return {};
  }

 private:
  Security security_;
  std::vector<std::string> nodes_;
  std::map<size_t, std::unique_ptr<v1::TokenService::Stub>> clients_;
  std::map<size_t, std::unique_ptr<v1::AdminService::Stub>> admins_;
};

// Three nodes with ConfigFor's scheme; the stubs connect with `client` security. The nodes
// are started on loopback addresses the YAML names, on new ones when one was taken
// (StartOnLoopback in tests/test_support.h). Their restarts (Stop, Start) keep the address.
class InProcessCluster : public NodeStubs {
 public:
  struct Setup {
    // Per start attempt, the nodes' security for its three addresses (plaintext when unset):
    // TLS tests make the node certificates, which name the addresses, here.
    std::function<std::vector<Security>(const std::vector<std::string>& nodes)> node_security;
    Security client;
    // When some node is not expected to serve (`unreachable[i]`: the others cannot talk to
    // it), the nodes start with --new-cluster, as an operator creating a cluster around a
    // broken member would.
    std::vector<bool> unreachable;
    // Replaces CandidateLoopbackAddresses (a test of the retry offers a taken port first).
    std::function<std::vector<std::string>(int n)> propose;
  };

  InProcessCluster() : InProcessCluster(Setup{}) {}
  explicit InProcessCluster(Setup setup) : NodeStubs(setup.client, {}) {
    setup.unreachable.resize(3, false);
    const bool new_cluster = std::find(setup.unreachable.begin(), setup.unreachable.end(), true) !=
                             setup.unreachable.end();
    if (new_cluster) SetTweak([](ReplicaServerOptions& o) { o.core.lifecycle.new_cluster = true; });
    StartOnLoopback(
        3,
        [&](const std::vector<std::string>& addresses) {
          node_security_ =
              setup.node_security ? setup.node_security(addresses) : std::vector<Security>(3);
          return StartAll(addresses);
        },
        setup.propose);
    SetTweak(nullptr);
    for (size_t i = 0; i < nodes().size(); ++i) {
      if (!setup.unreachable[i]) WaitServing(i);
    }
  }
  ~InProcessCluster() { StopAll(); }

  // Starts node `i` again on its address (after Stop(i)).
  void Start(size_t i) {
    Status st = TryStart(i);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // A node serves once its lifecycle allows (replica/node_lifecycle.h): a new cluster's nodes
  // once all of them answered each other, a restarted one once its peers confirmed its dir.
  void WaitServing(size_t i) {
    ASSERT_TRUE(i < servers_.size() && servers_[i]) << node(i) << " did not start";
    ASSERT_TRUE(servers_[i]->WaitServing(std::chrono::seconds(20)))
        << node(i) << " does not serve: " << servers_[i]->fatal().ToString();
  }
  void Stop(size_t i) {
    servers_[i]->Shutdown();
    servers_[i].reset();
  }

  ReplicaServer& server(size_t i) { return *servers_[i]; }
  // The configuration the nodes run with (what a client would load).
  const ClusterConfig& config() const { return config_; }
  // Changes the options of the nodes started from now on (Start(i)).
  void SetTweak(std::function<void(ReplicaServerOptions&)> tweak) { tweak_ = std::move(tweak); }
  // How many start attempts found an address taken (tests of the retry).
  int addresses_in_use() const { return addresses_in_use_; }

 private:
  std::string DataDir(size_t i) const { return dir_.File("n" + std::to_string(i)); }

  Status TryStart(size_t i) {
    ReplicaServerOptions o;
    o.listen = node(i);
    o.data_dir = DataDir(i);
    o.op_log = false;
    o.storage_threads = 4;
    o.shutdown_grace = 500ms;
    o.security = node_security_[i];
    if (tweak_) tweak_(o);
    if (servers_.size() <= i) servers_.resize(i + 1);
    servers_[i] = std::make_unique<ReplicaServer>(config_, o);
    Status st = servers_[i]->Start();
    if (!st.ok()) servers_[i].reset();
    return st;
  }

  // One attempt of StartOnLoopback: every node on `addresses`, or none.
  StartAttempt StartAll(const std::vector<std::string>& addresses) {
    set_nodes(addresses);
    auto cfg = ParseClusterConfig(ConfigFor(nodes()), "cluster_test.yaml");
    if (!cfg.ok()) {
      ADD_FAILURE() << cfg.status().ToString();
      return StartAttempt::kFailed;
    }
    config_ = *cfg;
    for (size_t i = 0; i < nodes().size(); ++i) {
      Status st = TryStart(i);
      if (st.code() == StatusCode::kAlreadyExists) {
        ++addresses_in_use_;
        StopAll();
        for (size_t j = 0; j < nodes().size(); ++j) std::filesystem::remove_all(DataDir(j));
        return StartAttempt::kAddressInUse;
      }
      if (!st.ok()) {
        ADD_FAILURE() << node(i) << ": " << st.ToString();
        return StartAttempt::kFailed;
      }
    }
    return StartAttempt::kStarted;
  }

  void StopAll() {
    for (auto& s : servers_) {
      if (s) s->Shutdown();
      s.reset();
    }
  }

  TempDir dir_{"tokenstore-cluster"};
  std::vector<Security> node_security_;
  ClusterConfig config_;
  std::vector<std::unique_ptr<ReplicaServer>> servers_;
  std::function<void(ReplicaServerOptions&)> tweak_;
  int addresses_in_use_ = 0;
};

}  // namespace tokenstore::testing
