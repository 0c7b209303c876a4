#include "bench/bench_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tokenstore::bench {
namespace {

BenchCommand Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "token-bench");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseBenchCommandLine(static_cast<int>(argv.size()), argv.data());
}

std::string UsageErrorOf(const BenchCommand& cmd) {
  const auto* e = std::get_if<CliExit>(&cmd);
  if (e == nullptr || e->code != 2) return "";
  return e->err;
}

TEST(BenchOptionsTest, Defaults) {
  BenchCommand cmd = Parse({"--config", "c.yaml"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd));
  const auto& o = std::get<LoadOptions>(cmd);
  EXPECT_EQ(o.config_path, "c.yaml");
  EXPECT_FALSE(o.etcd());
  EXPECT_STREQ(o.system(), "tokenstore");
  EXPECT_EQ(o.clients, 1);
  EXPECT_EQ(o.conns, 0);
  EXPECT_EQ(o.workload, Workload::kMixed);
  EXPECT_DOUBLE_EQ(o.read_ratio, 0.9);
  EXPECT_EQ(o.range, 16u);
  EXPECT_EQ(o.tokens, 0u);
  EXPECT_EQ(o.ops, 0u);
  EXPECT_DOUBLE_EQ(o.duration_s, 10);
  EXPECT_FALSE(o.json);
}

TEST(BenchOptionsTest, FullLoadCommand) {
  BenchCommand cmd = Parse({"--etcd", "127.0.0.1:2379, 127.0.0.1:2479", "--clients", "64",
                            "--conns", "4", "--ops", "1000", "--workload", "write", "--range",
                            "100", "--warmup", "0", "--json", "--tokens", "3"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd)) << UsageErrorOf(cmd);
  const auto& o = std::get<LoadOptions>(cmd);
  EXPECT_TRUE(o.etcd());
  EXPECT_STREQ(o.system(), "etcd");
  EXPECT_EQ(o.etcd_endpoints, (std::vector<std::string>{"127.0.0.1:2379", "127.0.0.1:2479"}));
  EXPECT_EQ(o.clients, 64);
  EXPECT_EQ(o.conns, 4);
  EXPECT_EQ(o.ops, 1000u);
  EXPECT_EQ(o.workload, Workload::kWrite);
  EXPECT_DOUBLE_EQ(o.read_ratio, 0);
  EXPECT_EQ(o.range, 100u);
  EXPECT_EQ(o.tokens, 3u);
  EXPECT_DOUBLE_EQ(o.warmup_s, 0);
  EXPECT_TRUE(o.json);
}

TEST(BenchOptionsTest, DurationsTakeUnits) {
  BenchCommand cmd = Parse({"--config", "c", "--duration", "1m", "--warmup", "500ms",
                            "--timeout", "2s"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(cmd).duration_s, 60);
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(cmd).warmup_s, 0.5);
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(cmd).timeout_s, 2);
  cmd = Parse({"hash", "--seconds", "250ms"});
  ASSERT_TRUE(std::holds_alternative<HashOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_DOUBLE_EQ(std::get<HashOptions>(cmd).seconds, 0.25);
}

TEST(BenchOptionsTest, EtcdDefaultsToSixteenKeys) {
  BenchCommand cmd = Parse({"--etcd", "127.0.0.1:2379"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd));
  EXPECT_EQ(std::get<LoadOptions>(cmd).tokens, 16u);
}

TEST(BenchOptionsTest, ReadWorkloadAndRatio) {
  auto read = Parse({"--config", "c", "--workload", "read"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(read));
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(read).read_ratio, 1);
  auto mixed = Parse({"--config", "c", "--read-ratio", "0.5"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(mixed));
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(mixed).read_ratio, 0.5);
}

TEST(BenchOptionsTest, ZipfAndInitialWrites) {
  BenchCommand cmd = Parse({"--config", "c", "--zipf", "0.99", "--no-initial-writes"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(cmd).zipf, 0.99);
  EXPECT_FALSE(std::get<LoadOptions>(cmd).initial_writes);
  EXPECT_TRUE(std::get<LoadOptions>(Parse({"--config", "c"})).initial_writes);
  EXPECT_DOUBLE_EQ(std::get<LoadOptions>(Parse({"--config", "c"})).zipf, 0);
  for (const char* bad : {"0", "1", "1.5", "-0.5"}) {
    EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--zipf", bad})).find("--zipf must be"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--zipf", "0.5", "--cold-tokens", "2",
                                "--workload", "read"}))
                .find("do not go together"),
            std::string::npos);
}

TEST(BenchOptionsTest, ColdTokens) {
  BenchCommand cmd = Parse({"--etcd", "h:1", "--cold-tokens", "8"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_EQ(std::get<LoadOptions>(cmd).cold_tokens, 8u);
  EXPECT_EQ(std::get<LoadOptions>(cmd).tokens, 16u);
  EXPECT_EQ(std::get<LoadOptions>(Parse({"--config", "c"})).cold_tokens, 0u);
  // Reads only: every token may be cold.
  cmd = Parse({"--config", "c", "--tokens", "4", "--cold-tokens", "4", "--workload", "read"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(cmd)) << UsageErrorOf(cmd);
  // The token count of a config is known only when it is loaded (RunLoad checks then).
  EXPECT_TRUE(std::holds_alternative<LoadOptions>(Parse({"--config", "c", "--cold-tokens", "99"})));

  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--cold-tokens", "2", "--workload", "write"}))
                .find("--cold-tokens"),
            std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--tokens", "4", "--cold-tokens", "4"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--etcd", "h:1", "--cold-tokens", "16"})), "");
  EXPECT_NE(UsageErrorOf(Parse(
                {"--config", "c", "--tokens", "4", "--cold-tokens", "5", "--workload", "read"})),
            "");
}

TEST(BenchOptionsTest, Hash) {
  BenchCommand cmd = Parse({"hash", "--threads", "1,2", "--seconds", "0.5", "--json"});
  ASSERT_TRUE(std::holds_alternative<HashOptions>(cmd)) << UsageErrorOf(cmd);
  const auto& h = std::get<HashOptions>(cmd);
  EXPECT_EQ(h.threads, (std::vector<unsigned>{1, 2}));
  EXPECT_DOUBLE_EQ(h.seconds, 0.5);
  EXPECT_TRUE(h.json);
  // Without a cluster: the hash subcommand needs no --config.
  EXPECT_TRUE(std::holds_alternative<HashOptions>(Parse({"hash"})));
}

TEST(BenchOptionsTest, Floor) {
  BenchCommand cmd = Parse({"floor"});
  ASSERT_TRUE(std::holds_alternative<FloorOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_DOUBLE_EQ(std::get<FloorOptions>(cmd).seconds, 2);
  EXPECT_FALSE(std::get<FloorOptions>(cmd).json);

  cmd = Parse({"floor", "--seconds", "0.5", "--json"});
  ASSERT_TRUE(std::holds_alternative<FloorOptions>(cmd)) << UsageErrorOf(cmd);
  EXPECT_DOUBLE_EQ(std::get<FloorOptions>(cmd).seconds, 0.5);
  EXPECT_TRUE(std::get<FloorOptions>(cmd).json);

  EXPECT_NE(UsageErrorOf(Parse({"floor", "--seconds", "0"})).find("--seconds"), std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"floor", "--seconds", "-1"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"floor", "--seconds", "601"})), "");
  // The load options belong to the load command, not to floor.
  EXPECT_NE(UsageErrorOf(Parse({"floor", "--clients", "4"})), "");
  // A load command is still one: floor is only taken when named.
  EXPECT_TRUE(std::holds_alternative<LoadOptions>(Parse({"--config", "c"})));
}

TEST(BenchOptionsTest, Errors) {
  EXPECT_NE(UsageErrorOf(Parse({})).find("--config FILE"), std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--etcd", "h:1"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--workload", "scan"})).find("--workload"),
            std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--read-ratio", "1.5"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--workload", "write", "--read-ratio", "0.5"})),
            "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--clients", "0"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--duration", "0"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--duration", "5x"})).find("--duration"),
            std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--warmup", "-1s"})).find("--warmup"),
            std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--duration", "5", "--ops", "10"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--config", "c", "--range", "0"})), "");
  EXPECT_NE(UsageErrorOf(Parse({"--etcd", "localhost"})).find("host:port"), std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"hash", "--threads", "1,x"})).find("--threads"),
            std::string::npos);
  EXPECT_NE(UsageErrorOf(Parse({"hash", "--threads", "0"})), "");
}

TEST(BenchOptionsTest, Help) {
  BenchCommand cmd = Parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(cmd));
  EXPECT_EQ(std::get<CliExit>(cmd).code, 0);
  EXPECT_NE(std::get<CliExit>(cmd).out.find("--workload"), std::string::npos);
  cmd = Parse({"floor", "--help"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(cmd));
  EXPECT_EQ(std::get<CliExit>(cmd).code, 0);
  EXPECT_NE(std::get<CliExit>(cmd).out.find("--seconds"), std::string::npos);
}

}  // namespace
}  // namespace tokenstore::bench

namespace tokenstore::bench {
namespace {

TEST(BenchOptions, ApiIsUnaryOrSessionAndOnlyForTheTokenStore) {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "token-bench");
    return ParseBenchCommandLine(static_cast<int>(args.size()), args.data());
  };
  BenchCommand unary = parse({"--config", "c.yaml"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(unary));
  EXPECT_EQ(std::get<LoadOptions>(unary).api, LoadOptions::Api::kUnary);
  BenchCommand session = parse({"--config", "c.yaml", "--api", "session"});
  ASSERT_TRUE(std::holds_alternative<LoadOptions>(session));
  EXPECT_EQ(std::get<LoadOptions>(session).api, LoadOptions::Api::kSession);
  BenchCommand bad = parse({"--config", "c.yaml", "--api", "stream"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(bad));
  EXPECT_EQ(std::get<CliExit>(bad).code, 2);
  EXPECT_NE(std::get<CliExit>(bad).err.find("--api must be unary or session"), std::string::npos);
  BenchCommand etcd = parse({"--etcd", "127.0.0.1:2379", "--api", "session"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(etcd));
  EXPECT_NE(std::get<CliExit>(etcd).err.find("--api applies to the token store"),
            std::string::npos);
}

}  // namespace
}  // namespace tokenstore::bench
