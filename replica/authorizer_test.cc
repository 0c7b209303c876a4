#include "replica/authorizer.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

ClusterConfig Config() {
  auto c = ParseClusterConfig(R"(
- token: 1
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
- token: 2
  writer: 127.0.0.1:2
  readers: [127.0.0.1:3]
)",
                              "auth.yaml");
  EXPECT_TRUE(c.ok());
  return *c;
}

const PeerIdentity kNode1{PeerRole::kNode, "127.0.0.1:1"};
const PeerIdentity kNode3{PeerRole::kNode, "127.0.0.1:3"};
const PeerIdentity kStranger{PeerRole::kNode, "127.0.0.1:9"};
const PeerIdentity kAdmin{PeerRole::kAdmin, "ops"};
const PeerIdentity kClient{PeerRole::kClient, "cli"};

TEST(Authorizer, PlaintextAllowsEverything) {
  ClusterConfig config = Config();
  Authorizer a(config, /*enforce=*/false);
  EXPECT_TRUE(a.AllowPeer(std::nullopt, "1").ok());
  EXPECT_TRUE(a.AllowAdmin(kClient).ok());
  EXPECT_TRUE(a.AllowClient(std::nullopt).ok());
}

TEST(Authorizer, PeersMustKeepTheToken) {
  ClusterConfig config = Config();
  Authorizer a(config, true);
  EXPECT_TRUE(a.AllowPeer(kNode1, "1").ok());
  EXPECT_TRUE(a.AllowPeer(kNode3, "2").ok());
  Status st = a.AllowPeer(kNode1, "2");  // node 1 keeps token 1 only
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("node:127.0.0.1:1 is not a replica of token \"2\" in auth.yaml"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(a.AllowPeer(kStranger, "1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowPeer(kNode1, "404").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowPeer(kAdmin, "1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowPeer(kClient, "1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowPeer(std::nullopt, "1").code(), StatusCode::kUnauthenticated);
}

TEST(Authorizer, AdminCallsNeedAnAdminCertificate) {
  ClusterConfig config = Config();
  Authorizer a(config, true);
  EXPECT_TRUE(a.AllowAdmin(kAdmin).ok());
  EXPECT_EQ(a.AllowAdmin(kClient).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowAdmin(kNode1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(a.AllowAdmin(std::nullopt).code(), StatusCode::kUnauthenticated);
}

TEST(Authorizer, ClientCallsNeedAnyIdentity) {
  ClusterConfig config = Config();
  Authorizer a(config, true);
  for (const auto& who : {kNode1, kAdmin, kClient}) EXPECT_TRUE(a.AllowClient(who).ok());
  EXPECT_EQ(a.AllowClient(std::nullopt).code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace tokenstore
