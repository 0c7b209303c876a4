// Mutual TLS and peer authentication over real gRPC (proto/security.h, replica/authorizer.h):
// who may join, impose a value, crash-stop a token; certificates from scripts/gen-certs.sh.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "replication.grpc.pb.h"
#include "tests/in_process_cluster.h"

namespace tokenstore {
namespace {

using testing::InProcessCluster;
using namespace std::chrono_literals;
using testing::NodeStubs;
using testing::RunCommand;
using testing::StartAttempt;
using testing::TempDir;

// Node addresses no test binds: names of certificates only. kOutsider is in no scheme.
const std::vector<std::string> kUnbound = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
const std::string kOutsider = "127.0.0.1:4";

// Certificates for `nodes` from one new CA, in `dir`.
void GenerateCerts(const std::string& dir, const std::vector<std::string>& nodes) {
  std::vector<std::string> argv = {TOKENSTORE_SOURCE_DIR "/scripts/gen-certs.sh", "--out", dir};
  argv.insert(argv.end(), nodes.begin(), nodes.end());
  auto r = RunCommand(argv, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

std::string Dashed(const std::string& node) {
  std::string d = NodeDnsName(node);
  return d.substr(0, d.find(".node.tokenstore"));
}

Security Load(const std::string& dir, const std::string& name) {
  auto s = Security::FromFiles({dir + "/ca.pem", dir + "/" + name + ".pem", dir + "/" + name + ".key"});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : Security();
}

Security NodeSecurity(const std::string& dir, const std::string& node) {
  return Load(dir, "node-" + Dashed(node));
}

// Certificates of the cluster CA in `good` and of an unrelated CA (same names) in `rogue`:
// client, admin, the kUnbound and kOutsider nodes, and a cluster's nodes once it started.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> names = kUnbound;
    names.push_back(kOutsider);
    GenerateCerts(good_.path(), names);
    GenerateCerts(rogue_.path(), names);
  }
  // A cluster of nodes with certificates of the cluster CA (n2's of the rogue CA when
  // `rogue_last`), made for the addresses of each start attempt; its stubs are clients.
  InProcessCluster::Setup ClusterSetup(bool rogue_last = false,
                                       std::vector<bool> unreachable = {}) {
    InProcessCluster::Setup setup;
    setup.client = Load(good_.path(), "client");
    setup.unreachable = std::move(unreachable);
    setup.node_security = [this, rogue_last](const std::vector<std::string>& nodes) {
      GenerateCerts(good_.path(), nodes);
      GenerateCerts(rogue_.path(), nodes);
      std::vector<Security> s;
      for (size_t i = 0; i < nodes.size(); ++i) {
        s.push_back(NodeSecurity(rogue_last && i == 2 ? rogue_.path() : good_.path(), nodes[i]));
      }
      return s;
    };
    return setup;
  }

  // A Store of a forged register (a huge ts) from the holder of `caller`, to `target`.
  grpc::Status ForgeStore(const Security& caller, const std::string& target,
                          const std::string& token) {
    auto stub = v1::ReplicaService::NewStub(caller.NewNodeChannel(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::StoreRequest req;
    req.set_token(token);
    req.mutable_reg()->set_ts(uint64_t{1} << 62);
    req.mutable_reg()->mutable_value()->set_kind(v1::TokenValue::DROPPED);
    v1::StoreResponse resp;
    return stub->Store(&ctx, req, &resp);
  }

  // The same forgery inside a Batch RPC (the path peers use); the entry's result, or the
  // call's status when the batch is refused as a whole.
  grpc::Status ForgeBatch(const Security& caller, const std::string& target,
                          const std::string& token, v1::BatchResponse* resp) {
    auto stub = v1::ReplicaService::NewStub(caller.NewNodeChannel(target));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::BatchRequest req;
    v1::BatchEntry* e = req.add_entries();
    e->set_id(1);
    e->set_token(token);
    e->mutable_store()->set_ts(uint64_t{1} << 62);
    e->mutable_store()->mutable_value()->set_kind(v1::TokenValue::DROPPED);
    return stub->Batch(&ctx, req, resp);
  }

  TempDir good_{"tokenstore-tls-good"};
  TempDir rogue_{"tokenstore-tls-rogue"};
};

TEST_F(TlsTest, ClientsWithCertificatesReadAndWritePlaintextCallersCannot) {
  InProcessCluster c(ClusterSetup());
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "abc", 5, 25, 100, &w).ok());
  for (size_t i = 0; i < 3; ++i) {
    v1::ReadResponse r;
    grpc::Status st = c.Read(i, "1", &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.ts(), w.ts());
    EXPECT_EQ(r.final(), 60570345165277511ull);
  }
  // A plaintext caller never gets past the handshake.
  auto plain = v1::TokenService::NewStub(Security().NewNodeChannel(c.node(1)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2s);
  v1::ReadRequest req;
  req.set_id("1");
  v1::ReadResponse resp;
  EXPECT_EQ(plain->Read(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, OnlyReplicasOfTheTokenMayStoreAndOnlyAdminsMayCrash) {
  InProcessCluster c(ClusterSetup());
  v1::WriteResponse w;
  ASSERT_TRUE(c.Write(0, "1", "abc", 5, 25, 100, &w).ok());

  // A client certificate of the right CA may not impose a value.
  grpc::Status st = ForgeStore(Load(good_.path(), "client"), c.node(1), "1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  // Nor may a node certificate of the right CA for a node outside the scheme.
  st = ForgeStore(NodeSecurity(good_.path(), kOutsider), c.node(1), "1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("is not a replica of token \"1\""), std::string::npos)
      << st.error_message();
  // Nor a node of the scheme for a token it does not keep (token 2: replicas n1, n2).
  st = ForgeStore(NodeSecurity(good_.path(), c.node(0)), c.node(1), "2");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The same through the batched peer path.
  v1::BatchResponse batch;
  st = ForgeBatch(Load(good_.path(), "client"), c.node(1), "1", &batch);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  batch.Clear();
  st = ForgeBatch(NodeSecurity(good_.path(), c.node(0)), c.node(1), "2", &batch);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(batch.results_size(), 1);
  EXPECT_EQ(batch.results(0).code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  // Nor anyone certified by another CA: the handshake fails.
  st = ForgeStore(NodeSecurity(rogue_.path(), c.node(0)), c.node(1), "1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();

  // A client may not crash-stop a token...
  st = c.Crash(1, "1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("admin:<name>"), std::string::npos);
  // ...so every reader still answers with the written value, untouched by the forgeries.
  for (size_t i = 0; i < 3; ++i) {
    v1::ReadResponse r;
    ASSERT_TRUE(c.Read(i, "1", &r).ok());
    EXPECT_EQ(r.ts(), w.ts());
    EXPECT_TRUE(r.defined());
  }
  // An admin may.
  NodeStubs admin(Load(good_.path(), "admin"), c.nodes());
  EXPECT_TRUE(admin.Crash(1, "1").ok());
  EXPECT_TRUE(admin.DumpOf(1, "1").crashed());
  EXPECT_TRUE(admin.Crash(1, "1", /*crash=*/false).ok());
}

TEST_F(TlsTest, NodeOfAnotherCaCanNeitherJoinNorImpose) {
  // n2 runs with a certificate for its own address, but from an unrelated CA.
  InProcessCluster c(ClusterSetup(/*rogue_last=*/true, /*unreachable=*/{false, false, true}));
  // Token 1 (writer n0; replicas n0 n1 n2) is written through n0 and n1; n2 never joins.
  v1::WriteResponse w;
  grpc::Status st = c.Write(0, "1", "abc", 5, 25, 100, &w);
  ASSERT_TRUE(st.ok()) << st.error_message();
  NodeStubs rogue_admin(Load(rogue_.path(), "admin"), c.nodes());
  EXPECT_EQ(rogue_admin.DumpOf(2, "1").reg().ts(), 0u);
  // Token 3's writer is n2: it cannot reach a majority, so nothing it issues is imposed.
  NodeStubs rogue_client(Load(rogue_.path(), "client"), c.nodes());
  v1::WriteResponse w3;
  st = rogue_client.Write(2, "3", "evil", 0, 1, 2, &w3, 1500ms);
  EXPECT_FALSE(st.ok());
  v1::ReadResponse r;
  ASSERT_TRUE(c.Read(0, "3", &r).ok());
  EXPECT_FALSE(r.defined());
  EXPECT_EQ(r.ts(), 0u);
}

TEST_F(TlsTest, ServerWithAnotherNodesCertificateIsRefused) {
  // A server presenting another node's (valid) certificate, then one presenting its own
  // address's, which is made once the address is chosen (per start attempt).
  const Security impostor = NodeSecurity(good_.path(), kUnbound[0]);
  testing::StartOnLoopback(1, [&](const std::vector<std::string>& address) {
    const std::string& at = address[0];
    GenerateCerts(good_.path(), address);
    const Security honest = NodeSecurity(good_.path(), at);
    for (const Security* server_security : {&impostor, &honest}) {
      grpc::ServerBuilder builder;
      v1::ReplicaService::CallbackService unimplemented;  // a server needs some service
      builder.RegisterService(&unimplemented);
      builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // never share a port
      int port = 0;
      builder.AddListeningPort(at, server_security->ServerCredentials(), &port);
      std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
      // On 127.0.0.1 a refused bind means the port is taken.
      if (!server || port == 0) return StartAttempt::kAddressInUse;
      auto stub = v1::TokenService::NewStub(Load(good_.path(), "client").NewNodeChannel(at));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 2s);
      v1::ReadRequest req;
      v1::ReadResponse resp;
      const grpc::StatusCode code = stub->Read(&ctx, req, &resp).error_code();
      // The honest server completes the handshake (and has no such service); the impostor not.
      EXPECT_EQ(code, server_security == &impostor ? grpc::StatusCode::UNAVAILABLE
                                                   : grpc::StatusCode::UNIMPLEMENTED);
      server->Shutdown(std::chrono::system_clock::now());
    }
    return StartAttempt::kStarted;
  });
}

TEST_F(TlsTest, ReplicaRefusesToStartWithAnotherNodesCertificate) {
  TempDir dir;
  auto cfg = ParseClusterConfig(testing::ConfigFor(kUnbound), "tls.yaml");
  ASSERT_TRUE(cfg.ok());
  ReplicaServerOptions o;
  o.listen = kUnbound[0];
  o.data_dir = dir.File("n0");
  o.op_log = false;
  o.security = NodeSecurity(good_.path(), kUnbound[1]);
  ReplicaServer server(*cfg, o);
  Status st = server.Start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("issued to node:" + kUnbound[1]), std::string::npos) << st.message();
}

TEST(Security, IdentitiesAndDnsNames) {
  EXPECT_EQ(ParsePeerIdentity("node:127.0.0.1:50051"),
            (PeerIdentity{PeerRole::kNode, "127.0.0.1:50051"}));
  EXPECT_EQ(ParsePeerIdentity("admin:ops"), (PeerIdentity{PeerRole::kAdmin, "ops"}));
  EXPECT_EQ(ParsePeerIdentity("client:cli")->ToString(), "client:cli");
  EXPECT_FALSE(ParsePeerIdentity("node:"));
  EXPECT_FALSE(ParsePeerIdentity("root"));
  EXPECT_FALSE(ParsePeerIdentity("Admin:ops"));
  EXPECT_EQ(NodeDnsName("127.0.0.1:50051"), "127-0-0-1-50051.node.tokenstore");
  EXPECT_EQ(NodeDnsName("[::1]:7"), "--1-7.node.tokenstore");
}

TEST_F(TlsTest, BadTlsFilesAreNamedInTheError) {
  const std::string g = good_.path();
  auto missing = Security::FromFiles({g + "/ca.pem", g + "/client.pem", ""});
  EXPECT_NE(missing.status().message().find("missing: --tls-key"), std::string::npos);
  auto unreadable = Security::FromFiles({g + "/ca.pem", g + "/nope.pem", g + "/client.key"});
  EXPECT_NE(unreadable.status().message().find("--tls-cert " + g + "/nope.pem: cannot read"),
            std::string::npos)
      << unreadable.status().message();
  auto not_pem = Security::FromFiles({g + "/ca.pem", g + "/client.key", g + "/client.key"});
  EXPECT_NE(not_pem.status().message().find("not a PEM certificate"), std::string::npos);
  auto mismatch = Security::FromFiles({g + "/ca.pem", g + "/client.pem", g + "/admin.key"});
  EXPECT_NE(mismatch.status().message().find("is not the key of the certificate"),
            std::string::npos);
  auto wrong_ca =
      Security::FromFiles({rogue_.path() + "/ca.pem", g + "/client.pem", g + "/client.key"});
  EXPECT_NE(wrong_ca.status().message().find("was not issued by the CA"), std::string::npos)
      << wrong_ca.status().message();
  auto none = Security::FromFiles({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->tls());
  auto ok = Security::FromFiles({g + "/ca.pem", g + "/admin.pem", g + "/admin.key"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->identity(), (PeerIdentity{PeerRole::kAdmin, "operator"}));
}

}  // namespace
}  // namespace tokenstore
