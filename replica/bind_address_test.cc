// token-replica's --bind: the address the server binds, apart from its identity (--listen).
#include <gtest/gtest.h>

#include "replica/replica_server.h"

namespace tokenstore {
namespace {

TEST(BindAddress, DefaultsToTheListenAddress) {
  EXPECT_EQ(BindAddressFor("10.0.0.11:50051", "").value(), "10.0.0.11:50051");
}

TEST(BindAddress, TakesAnyAccessPointInCanonicalForm) {
  EXPECT_EQ(BindAddressFor("10.0.0.11:50051", "0.0.0.0:50051").value(), "0.0.0.0:50051");
  EXPECT_EQ(BindAddressFor("10.0.0.11:50051", "127.0.0.1:6000").value(), "127.0.0.1:6000");
  EXPECT_EQ(BindAddressFor("10.0.0.11:50051", "[::]:50051").value(), "[::]:50051");
}

TEST(BindAddress, RefusesWhatIsNotAnAccessPointNamingTheFlag) {
  for (const char* bad : {"50051", "0.0.0.0", "0.0.0.0:0", "host.example:50051", "0.0.0.0:99999",
                          "::1:50051", " 0.0.0.0:1"}) {
    StatusOr<std::string> r = BindAddressFor("10.0.0.11:50051", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(r.status().message().starts_with("--bind ")) << r.status().message();
  }
}

}  // namespace
}  // namespace tokenstore
