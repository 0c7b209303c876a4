#include "client/client_cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/exit_codes.h"

namespace tokenstore {
namespace {

std::variant<ClientCommand, CliExit> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "token-client");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseClientCommandLine(static_cast<int>(argv.size()), argv.data());
}

ClientCommand ParseOk(std::vector<std::string> args) {
  auto parsed = Parse(args);
  if (auto* exit = std::get_if<CliExit>(&parsed)) {
    ADD_FAILURE() << "exit " << exit->code << ": " << exit->err;
    return {};
  }
  return std::get<ClientCommand>(parsed);
}

// The usage error's stderr text; fails the test if parsing succeeded or exited otherwise.
std::string UsageError(std::vector<std::string> args) {
  auto parsed = Parse(args);
  auto* exit = std::get_if<CliExit>(&parsed);
  if (exit == nullptr) {
    ADD_FAILURE() << "parsed, expected a usage error";
    return "";
  }
  EXPECT_EQ(exit->code, kExitUsage) << exit->err;
  EXPECT_EQ(exit->err.rfind("token-client: INVALID_ARGUMENT: ", 0), 0u) << exit->err;
  return exit->err;
}

TEST(ClientCli, WriteTakesEveryFieldAndDefaults) {
  ClientCommand cmd = ParseOk({"--config", "c.yaml", "write", "--token", "1", "--name", "abc",
                               "--low", "5", "--mid", "25", "--high", "100"});
  EXPECT_EQ(cmd.config_path, "c.yaml");
  EXPECT_EQ(cmd.op, ClientOp::kWrite);
  EXPECT_EQ(cmd.id, "1");
  EXPECT_EQ(cmd.name, "abc");
  EXPECT_EQ(cmd.low, 5u);
  EXPECT_EQ(cmd.mid, 25u);
  EXPECT_EQ(cmd.high, 100u);
  EXPECT_FALSE(cmd.json);
  EXPECT_FALSE(cmd.options.node.has_value());
  EXPECT_EQ(cmd.options.timeout, std::chrono::seconds(10));
  EXPECT_EQ(cmd.options.attempt_timeout, std::chrono::seconds(3));
}

// --token is the documented name (as in token-admin); --id, SPEC section 8's, is an alias.
TEST(ClientCli, IdIsAnAliasOfToken) {
  for (const char* flag : {"--token", "--id"}) {
    EXPECT_EQ(ParseOk({"--config", "c", "read", flag, "7"}).id, "7") << flag;
    EXPECT_EQ(ParseOk({"--config", "c", "create", flag, "7"}).id, "7") << flag;
    EXPECT_EQ(ParseOk({"--config", "c", "drop", flag, "7"}).id, "7") << flag;
    ClientCommand w = ParseOk({"--config", "c", "write", flag, "7", "--name", "n", "--low", "0",
                               "--mid", "1", "--high", "2"});
    EXPECT_EQ(w.id, "7") << flag;
  }
  auto help = Parse({"read", "--help"});
  ASSERT_TRUE(std::holds_alternative<CliExit>(help));
  EXPECT_NE(std::get<CliExit>(help).out.find("--token,--id"), std::string::npos)
      << std::get<CliExit>(help).out;
}

TEST(ClientCli, FullUint64RangeIsAccepted) {
  ClientCommand cmd = ParseOk({"--config", "c.yaml", "write", "--token", "1", "--name", "n",
                               "--low", "0", "--mid", "0", "--high", "18446744073709551615"});
  EXPECT_EQ(cmd.high, UINT64_MAX);
}

TEST(ClientCli, GlobalOptionsMayFollowTheSubcommand) {
  ClientCommand cmd =
      ParseOk({"--config", "c.yaml", "read", "--token", "7", "--node", "127.0.0.1:50052", "--json",
               "--timeout", "0.5", "--attempt-timeout", "0.25"});
  EXPECT_EQ(cmd.op, ClientOp::kRead);
  EXPECT_EQ(cmd.id, "7");
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(cmd.options.node, "127.0.0.1:50052");
  EXPECT_EQ(cmd.options.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(cmd.options.attempt_timeout, std::chrono::milliseconds(250));
}

TEST(ClientCli, GlobalOptionsBeforeTheSubcommand) {
  ClientCommand cmd =
      ParseOk({"--json", "--node", "127.0.0.1:1", "--config", "c.yaml", "drop", "--token", "x"});
  EXPECT_EQ(cmd.op, ClientOp::kDrop);
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(cmd.options.node, "127.0.0.1:1");
  EXPECT_EQ(ParseOk({"--config", "c.yaml", "create", "--token", "x"}).op, ClientOp::kCreate);
}

TEST(ClientCli, TinyTimeoutRoundsUpToOneMillisecond) {
  ClientCommand cmd = ParseOk({"--config", "c", "--timeout", "0.0001", "read", "--token", "1"});
  EXPECT_EQ(cmd.options.timeout, std::chrono::milliseconds(1));
}

TEST(ClientCli, MissingPiecesAreUsageErrorsNamingThem) {
  // --config is optional: main() then looks at TOKENSTORE_CONFIG and the default paths.
  EXPECT_FALSE(ParseOk({"read", "--token", "1"}).config_path.has_value());
  EXPECT_NE(UsageError({"--config", "c.yaml"}).find("subcommand"), std::string::npos);
  EXPECT_NE(UsageError({"--config", "c.yaml", "read"}).find("--token"), std::string::npos);
  EXPECT_NE(UsageError({"--config", "c.yaml", "write", "--token", "1", "--name", "a", "--low", "1",
                        "--mid", "2"})
                .find("--high"),
            std::string::npos);
  EXPECT_NE(UsageError({"--config", "c.yaml", "read", "--token", ""}).find("--token"),
            std::string::npos);
  UsageError({"--config", "c.yaml", "frobnicate", "--token", "1"});
  UsageError({"--config", "c.yaml", "read", "--token", "1", "extra"});
}

TEST(ClientCli, BadNumbersAreUsageErrors) {
  const std::vector<std::string> base = {"--config", "c",     "write", "--token", "1", "--name",
                                         "a",        "--mid", "2",     "--high",  "3", "--low"};
  for (const char* bad : {"-5", "abc", "1.5", "18446744073709551616"}) {
    std::vector<std::string> args = base;
    args.push_back(bad);
    EXPECT_NE(UsageError(args).find("--low"), std::string::npos) << bad;
  }
}

TEST(ClientCli, TimeoutsMustBePositive) {
  for (const char* bad : {"0", "0s", "25h", "86401"}) {
    EXPECT_NE(UsageError({"--config", "c", "--timeout", bad, "read", "--token", "1"})
                  .find("--timeout must be a duration above 0 and at most 24h"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(UsageError({"--config", "c", "--attempt-timeout", "0", "read", "--token", "1"})
                .find("--attempt-timeout must be"),
            std::string::npos);
}

TEST(ClientCli, TimeoutsTakeUnits) {
  ClientCommand cmd = ParseOk(
      {"--config", "c", "--timeout", "2s", "--attempt-timeout", "500ms", "read", "--token", "1"});
  EXPECT_EQ(cmd.options.timeout, std::chrono::seconds(2));
  EXPECT_EQ(cmd.options.attempt_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(ParseOk({"--config", "c", "--timeout", "1m", "read", "--token", "1"}).options.timeout,
            std::chrono::minutes(1));
  EXPECT_EQ(ParseOk({"--config", "c", "--timeout", "1.5s", "read", "--token", "1"}).options.timeout,
            std::chrono::milliseconds(1500));
  // A bare number keeps meaning seconds.
  EXPECT_EQ(ParseOk({"--config", "c", "--timeout", "2", "read", "--token", "1"}).options.timeout,
            std::chrono::seconds(2));
  // Refused with the flag's name and what is wrong.
  for (const char* bad : {"5x", "-1s", "-1", "nan", "inf", "1e9", "2 s", ""}) {
    const std::string err = UsageError({"--config", "c", "--timeout", bad, "read", "--token", "1"});
    EXPECT_NE(err.find("--timeout"), std::string::npos) << bad << ": " << err;
    EXPECT_NE(err.find("not a duration"), std::string::npos) << bad << ": " << err;
  }
  EXPECT_NE(UsageError({"--config", "c", "--attempt-timeout", "3y", "read", "--token", "1"})
                .find("--attempt-timeout: \"3y\" is not a duration: unknown unit \"y\""),
            std::string::npos);
}

TEST(ClientCli, NodeMustBeAnAccessPoint) {
  for (const char* bad : {"localhost", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ""}) {
    EXPECT_NE(UsageError({"--config", "c", "--node", bad, "read", "--token", "1"}).find("--node"),
              std::string::npos)
        << bad;
  }
}

TEST(ClientCli, HelpExitsZeroWithUsageOnStdout) {
  auto parsed = Parse({"--help"});
  auto* exit = std::get_if<CliExit>(&parsed);
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(exit->code, kExitOk);
  EXPECT_NE(exit->out.find("write"), std::string::npos) << exit->out;
  EXPECT_NE(exit->out.find("--attempt-timeout"), std::string::npos) << exit->out;
}

TEST(ExitCodes, OneCodePerClassOfError) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(Status::DeadlineExceeded("x")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(Status::Unavailable("x")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(Status::FailedPrecondition("x")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), kExitFailed);
}

}  // namespace
}  // namespace tokenstore

namespace tokenstore {
namespace {

TEST(ClientCli, BatchTakesNoIdAndUsesSessions) {
  ClientCommand cmd = ParseOk({"--config", "c.yaml", "batch", "--parallel", "4"});
  EXPECT_TRUE(cmd.batch);
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(cmd.parallel, 4);
  EXPECT_EQ(cmd.options.transport, ClientOptions::Transport::kSession);
  EXPECT_EQ(ParseOk({"--config", "c.yaml", "batch"}).parallel, 16);
  EXPECT_FALSE(ParseOk({"--config", "c.yaml", "read", "--token", "1"}).batch);
  EXPECT_NE(UsageError({"--config", "c.yaml", "batch", "--parallel", "0"}).find("--parallel"),
            std::string::npos);
}

// token-client says once per token that its file is older than where a token moved (the
// library may report a token again when it moves once more, and batch mode reports from many
// threads). Fails without the notifier (it does not exist).
TEST(ClientCli, ConfigChangeIsReportedOncePerToken) {
  std::vector<std::string> lines;
  auto hook = ConfigChangeNotifier("cluster.yaml",
                                   [&](const std::string& line) { lines.push_back(line); });
  ReplicaSet newer;
  newer.writer = "127.0.0.1:50054";
  newer.readers = {"127.0.0.1:50055", "127.0.0.1:50054"};
  newer.epoch = 2;
  hook("1", newer);
  hook("1", newer);
  newer.epoch = 3;
  hook("1", newer);
  hook("7", newer);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "token-client: token 1 moved to epoch 2 (writer 127.0.0.1:50054, readers "
            "[127.0.0.1:50054, 127.0.0.1:50055]); cluster.yaml is older: distribute the file "
            "token-admin reconfigure wrote");
  EXPECT_NE(lines[1].find("token 7 moved to epoch 3"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace tokenstore
