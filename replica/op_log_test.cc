#include "replica/op_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace tokenstore {
namespace {

// The lines an OpLog wrote to a temporary file.
std::string Written(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  return text;
}

OpRecord DefinedRead() {
  OpRecord r;
  r.op = "read";
  r.token = "t7";
  r.ts = 3;
  TokenValue v;
  v.kind = ValueKind::kDefined;
  v.name = "abc";
  v.low = 5;
  v.mid = 25;
  v.high = 100;
  v.has_partial = true;
  v.partial = 902613196918738813ull;
  v.partial_x = 15;
  r.value = v;
  r.final_min = HashMin{60570345165277511ull, 70};
  r.fast_path = true;
  r.millis = 0.5;
  return r;
}

// The line carries the token's state and the node's token count, never the ids of its
// tokens: it stays short on a node with a million of them (SPEC section 3).
TEST(OpLogTest, LineHasTheTokensStateAndTheNodesTokenCount) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  OpLog log(true, "127.0.0.1:50052", 1000000, file);
  log.Record(DefinedRead());
  const std::string line = Written(file);
  std::fclose(file);
  EXPECT_TRUE(line.starts_with("{\"time_ms\":")) << line;
  EXPECT_NE(line.find(",\"event\":\"op\",\"node\":\"127.0.0.1:50052\",\"op\":\"read\",\"token\":"
                      "\"t7\",\"status\":\"OK\",\"millis\":0.5,\"state\":{\"ts\":\"3\",\"kind\":"
                      "\"defined\",\"name\":\"abc\",\"low\":\"5\",\"mid\":\"25\",\"high\":\"100\","
                      "\"partial\":\"902613196918738813\",\"partial_x\":\"15\","
                      "\"final\":\"60570345165277511\",\"final_x\":\"70\",\"fast_path\":true},"
                      "\"tokens\":1000000}\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('['), std::string::npos) << line;
}

TEST(OpLogTest, FailedOperationHasNoStateButTheCount) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  OpLog log(true, "127.0.0.1:50051", 4, file);
  OpRecord r;
  r.op = "write";
  r.token = "9";
  r.status = Status::NotFound("token \"9\" is not in the configuration");
  log.Record(r);
  const std::string line = Written(file);
  std::fclose(file);
  EXPECT_NE(line.find("\"op\":\"write\",\"token\":\"9\",\"status\":\"NOT_FOUND\",\"error\":"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("\"state\""), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with(",\"tokens\":4}\n")) << line;
}

TEST(OpLogTest, DisabledWritesNothing) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  OpLog log(false, "127.0.0.1:50051", 4, file);
  log.Record(DefinedRead());
  EXPECT_EQ(Written(file), "");
  std::fclose(file);
}

}  // namespace
}  // namespace tokenstore
