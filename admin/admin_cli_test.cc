#include "admin/admin_cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/exit_codes.h"

namespace tokenstore {
namespace {

std::variant<AdminCommand, CliExit> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "token-admin");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseAdminCommandLine(static_cast<int>(argv.size()), argv.data());
}

AdminCommand ParseOk(std::vector<std::string> args) {
  auto parsed = Parse(args);
  if (auto* exit = std::get_if<CliExit>(&parsed)) {
    ADD_FAILURE() << "exit " << exit->code << ": " << exit->err;
    return {};
  }
  return std::get<AdminCommand>(parsed);
}

std::string UsageError(std::vector<std::string> args) {
  auto parsed = Parse(args);
  auto* exit = std::get_if<CliExit>(&parsed);
  if (exit == nullptr) {
    ADD_FAILURE() << "parsed, expected a usage error";
    return "";
  }
  EXPECT_EQ(exit->code, kExitUsage) << exit->err;
  EXPECT_EQ(exit->err.rfind("token-admin: INVALID_ARGUMENT: ", 0), 0u) << exit->err;
  return exit->err;
}

TEST(AdminCli, CrashAndRevive) {
  AdminCommand c = ParseOk({"crash", "--node", "127.0.0.1:50051", "--token", "1"});
  EXPECT_EQ(c.op, AdminOp::kCrash);
  EXPECT_EQ(c.node, "127.0.0.1:50051");
  EXPECT_EQ(c.token, "1");
  EXPECT_FALSE(c.config_path.has_value());
  EXPECT_EQ(c.options.timeout, std::chrono::seconds(5));
  AdminCommand r = ParseOk({"--config", "c.yaml", "revive", "--node", "127.0.0.1:50051", "--token",
                            "1", "--timeout", "0.5"});
  EXPECT_EQ(r.op, AdminOp::kRevive);
  EXPECT_EQ(r.config_path, "c.yaml");
  EXPECT_EQ(r.options.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(ParseOk({"--timeout", "1m", "dump", "--node", "127.0.0.1:1"}).options.timeout,
            std::chrono::minutes(1));
  EXPECT_EQ(ParseOk({"dump", "--node", "127.0.0.1:1", "--timeout", "250ms"}).options.timeout,
            std::chrono::milliseconds(250));
  EXPECT_NE(UsageError({"--timeout", "5x", "dump", "--node", "127.0.0.1:1"})
                .find("--timeout: \"5x\" is not a duration"),
            std::string::npos);
}

// --id, token-client's other name for the token, is an alias of --token.
TEST(AdminCli, IdIsAnAliasOfToken) {
  EXPECT_EQ(ParseOk({"crash", "--node", "127.0.0.1:1", "--id", "9"}).token, "9");
  EXPECT_EQ(ParseOk({"revive", "--node", "127.0.0.1:1", "--id", "9"}).token, "9");
}

TEST(AdminCli, DumpLiveOrOffline) {
  AdminCommand live = ParseOk({"dump", "--node", "127.0.0.1:50051", "--json"});
  EXPECT_EQ(live.op, AdminOp::kDump);
  EXPECT_EQ(live.node, "127.0.0.1:50051");
  EXPECT_TRUE(live.data_dir.empty());
  EXPECT_TRUE(live.json);
  EXPECT_FALSE(live.dump_progress_every.has_value());  // a terminal decides
  EXPECT_EQ(
      ParseOk({"dump", "--node", "127.0.0.1:50051", "--progress-every", "500"}).dump_progress_every,
      500u);
  EXPECT_NE(UsageError({"dump", "--data-dir", "d", "--progress-every", "5"}).find("excludes"),
            std::string::npos);
  AdminCommand offline = ParseOk({"dump", "--data-dir", "data/n1"});
  EXPECT_TRUE(offline.node.empty());
  EXPECT_EQ(offline.data_dir, "data/n1");
}

TEST(AdminCli, UsageErrors) {
  EXPECT_NE(UsageError({"dump"}).find("--node ADDR (a running node) or --data-dir DIR"),
            std::string::npos);
  EXPECT_NE(UsageError({"dump", "--node", "127.0.0.1:1", "--data-dir", "d"}).find("excludes"),
            std::string::npos);
  EXPECT_NE(UsageError({"crash", "--node", "127.0.0.1:1"}).find("--token"), std::string::npos);
  EXPECT_NE(UsageError({"revive", "--token", "1"}).find("--node"), std::string::npos);
  EXPECT_NE(UsageError({"crash", "--node", "nowhere", "--token", "1"}).find("--node"),
            std::string::npos);
  EXPECT_NE(UsageError({"crash", "--node", "127.0.0.1:1", "--token", ""}).find("--token"),
            std::string::npos);
  EXPECT_NE(UsageError({"--timeout", "0", "dump", "--node", "127.0.0.1:1"}).find("--timeout"),
            std::string::npos);
  UsageError({});
  UsageError({"explode"});
}

TEST(AdminCli, HelpExitsZero) {
  auto parsed = Parse({"--help"});
  auto* exit = std::get_if<CliExit>(&parsed);
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(exit->code, kExitOk);
  EXPECT_NE(exit->out.find("crash"), std::string::npos);
}

class AdminConfigCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<ClusterConfig> c = ParseClusterConfig(
        "- token: 1\n"
        "  writer: 127.0.0.1:50051\n"
        "  readers: [127.0.0.1:50051, 127.0.0.1:50052]\n"
        "- token: 3\n"
        "  writer: 127.0.0.1:50053\n"
        "  readers: [127.0.0.1:50052, 127.0.0.1:50053]\n",
        "cluster.yaml");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    config_ = *c;
  }
  AdminCommand Crash(const std::string& node, const std::string& token) {
    AdminCommand cmd;
    cmd.op = AdminOp::kCrash;
    cmd.node = node;
    cmd.token = token;
    return cmd;
  }
  ClusterConfig config_;
};

TEST_F(AdminConfigCheck, AcceptsATokenTheNodeKeeps) {
  EXPECT_TRUE(CheckAgainstConfig(Crash("127.0.0.1:50051", "1"), config_).ok());
  EXPECT_TRUE(CheckAgainstConfig(Crash("127.0.0.1:50052", "3"), config_).ok());
  AdminCommand dump;
  dump.node = "127.0.0.1:50053";
  EXPECT_TRUE(CheckAgainstConfig(dump, config_).ok());
  AdminCommand offline;
  offline.data_dir = "d";
  EXPECT_TRUE(CheckAgainstConfig(offline, config_).ok());
}

TEST_F(AdminConfigCheck, UnknownNodeListsTheNodes) {
  Status st = CheckAgainstConfig(Crash("127.0.0.1:9", "1"), config_);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "127.0.0.1:9 is not a node of cluster.yaml (its nodes: 127.0.0.1:50051, "
            "127.0.0.1:50052, 127.0.0.1:50053)");
}

TEST_F(AdminConfigCheck, TokenNotKeptByTheNodeNamesItsTokens) {
  Status st = CheckAgainstConfig(Crash("127.0.0.1:50051", "3"), config_);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "token \"3\" is not kept by 127.0.0.1:50051 (its replicas are 127.0.0.1:50053, "
            "127.0.0.1:50052); 127.0.0.1:50051 keeps tokens: 1");
  st = CheckAgainstConfig(Crash("127.0.0.1:50052", "9"), config_);
  EXPECT_EQ(st.message(), "token \"9\" is not in cluster.yaml; 127.0.0.1:50052 keeps tokens: 1, 3");
}

TEST(AdminCli, BackupAndRestoreNeedAConfigAndAFile) {
  AdminCommand b = ParseOk({"--config", "c.yaml", "backup", "--out", "t.jsonl"});
  EXPECT_EQ(b.op, AdminOp::kBackup);
  EXPECT_EQ(b.file, "t.jsonl");
  EXPECT_EQ(b.bulk.concurrency, 4);
  EXPECT_EQ(b.bulk.progress_every, 1000u);
  AdminCommand r = ParseOk({"restore", "--in", "t.jsonl", "--force", "--concurrency", "8",
                            "--progress-every", "0", "--config", "c.yaml"});
  EXPECT_EQ(r.op, AdminOp::kRestore);
  EXPECT_EQ(r.file, "t.jsonl");
  EXPECT_TRUE(r.force);
  EXPECT_EQ(r.bulk.concurrency, 8);
  EXPECT_EQ(r.bulk.progress_every, 0u);
  EXPECT_FALSE(ParseOk({"--config", "c.yaml", "restore", "--in", "t.jsonl"}).force);

  EXPECT_NE(UsageError({"--config", "c.yaml", "restore"}).find("--in"), std::string::npos);
  EXPECT_NE(UsageError({"--config", "c.yaml", "backup", "--out", "t", "--concurrency", "0"})
                .find("--concurrency must be 1 to 64, got 0"),
            std::string::npos);
  EXPECT_NE(UsageError({"--config", "c.yaml", "backup", "--out", "t", "--concurrency", "65"})
                .find("--concurrency must be 1 to 64"),
            std::string::npos);
}

// Where token-admin's configuration comes from (config/config_location.h), per subcommand.
TEST(AdminCli, Reconfigure) {
  AdminCommand c = ParseOk({"--config", "cur.yaml", "reconfigure", "--to", "new.yaml"});
  EXPECT_EQ(c.op, AdminOp::kReconfigure);
  EXPECT_EQ(c.to, "new.yaml");
  EXPECT_FALSE(c.dry_run);
  EXPECT_TRUE(c.file.empty());  // the default: new.applied.yaml
  EXPECT_EQ(c.parallel, kDefaultReconfigParallel);
  EXPECT_EQ(c.options.timeout, std::chrono::seconds(5));
  AdminCommand d = ParseOk({"--config", "cur.yaml", "reconfigure", "--to", "new.yaml",
                            "--dry-run", "--out", "o.yaml", "--parallel", "3", "--timeout",
                            "2s"});
  EXPECT_TRUE(d.dry_run);
  EXPECT_EQ(d.file, "o.yaml");
  EXPECT_EQ(d.parallel, 3);
  EXPECT_EQ(d.options.timeout, std::chrono::seconds(2));
  EXPECT_NE(UsageError({"reconfigure"}).find("--to is required"), std::string::npos);
  EXPECT_NE(UsageError({"reconfigure", "--to", "n.yaml", "--parallel", "0"})
                .find("--parallel must be 1 to 64, got 0"),
            std::string::npos);
  EXPECT_NE(UsageError({"reconfigure", "--to", ""}).find("--to must not be empty"),
            std::string::npos);
  ConfigLookup none;
  none.default_paths = {"/nonexistent/tokenstore/cluster.yaml"};
  StatusOr<std::optional<ConfigLocation>> where = AdminConfigLocation(
      ParseOk({"reconfigure", "--to", "new.yaml"}), none);
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.status().message().rfind("reconfigure needs the cluster's replication scheme", 0),
            0u);
}

TEST(AdminCli, ConfigFromFlagEnvironmentOrDefaultPath) {
  ConfigLookup none;  // no TOKENSTORE_CONFIG, no default path that exists
  none.default_paths = {"/nonexistent/tokenstore/cluster.yaml"};
  ConfigLookup env = none;
  env.env = "env.yaml";

  // backup and restore need one, and say where they looked.
  AdminCommand backup = ParseOk({"backup", "--out", "t.jsonl"});
  StatusOr<std::optional<ConfigLocation>> where = AdminConfigLocation(backup, none);
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.status().message(),
            "backup needs the cluster's replication scheme: no configuration file: --config not "
            "given, TOKENSTORE_CONFIG not set, no /nonexistent/tokenstore/cluster.yaml (give "
            "--config FILE or set TOKENSTORE_CONFIG=FILE)");
  where = AdminConfigLocation(backup, env);
  ASSERT_TRUE(where.ok() && where->has_value());
  EXPECT_EQ((*where)->path, "env.yaml");
  where = AdminConfigLocation(ParseOk({"--config", "c.yaml", "restore", "--in", "t"}), env);
  ASSERT_TRUE(where.ok() && where->has_value());
  EXPECT_EQ((*where)->path, "c.yaml");  // --config before TOKENSTORE_CONFIG

  // crash, revive and dump --node use one when there is one.
  AdminCommand crash = ParseOk({"crash", "--node", "127.0.0.1:1", "--token", "1"});
  where = AdminConfigLocation(crash, none);
  ASSERT_TRUE(where.ok());
  EXPECT_FALSE(where->has_value());
  where = AdminConfigLocation(crash, env);
  ASSERT_TRUE(where.ok() && where->has_value());
  EXPECT_EQ((*where)->source, "TOKENSTORE_CONFIG");

  // dump --data-dir only with an explicit --config.
  where = AdminConfigLocation(ParseOk({"dump", "--data-dir", "d"}), env);
  ASSERT_TRUE(where.ok());
  EXPECT_FALSE(where->has_value());
  where = AdminConfigLocation(ParseOk({"--config", "c.yaml", "dump", "--data-dir", "d"}), env);
  ASSERT_TRUE(where.ok() && where->has_value());
  EXPECT_EQ((*where)->path, "c.yaml");
}

}  // namespace
}  // namespace tokenstore
