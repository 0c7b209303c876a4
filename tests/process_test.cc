// The real binaries as separate processes: token-replica nodes killed with SIGKILL and
// restarted, driven through token-client and token-admin exactly as a user would.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "replica/exit_codes.h"
#include "tests/process_cluster.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using testing::ChildProcess;
using testing::CommandResult;
using testing::ProcessCluster;
using testing::RunCommand;
using testing::TempDir;
using namespace std::chrono_literals;

const std::string kBin = TOKENSTORE_BIN_DIR;

TEST_F(ProcessCluster, EveryAcknowledgedWriteSurvivesKillNineOfEveryReplica) {
  std::string last1, last3;
  for (int i = 0; i < 8; ++i) {
    // --id: SPEC section 8's name for --token, kept as an alias.
    last1 = "one-" + std::to_string(i);
    auto w = Client({"write", "--id", "1", "--name", last1, "--low", "0", "--mid", "5", "--high", "9"});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    last3 = "three-" + std::to_string(i);
    w = Client({"write", "--id", "3", "--name", last3, "--low", "0", "--mid", "5", "--high", "9"});
    ASSERT_EQ(w.exit_code, 0) << w.err;
  }
  for (auto& p : procs_) p->Signal(SIGKILL);
  for (auto& p : procs_) ASSERT_TRUE(p->Wait(10s).has_value());
  for (size_t i = 0; i < 3; ++i) Start(i);
  for (size_t i = 0; i < 3; ++i) WaitReady(i);
  for (const auto& node : nodes_) {
    auto r = Client({"--json", "read", "--token", "1", "--node", node});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(JsonField(r.out, "name"), last1) << r.out;
    r = Client({"--json", "read", "--token", "3", "--node", node});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(JsonField(r.out, "name"), last3) << r.out;
  }
}

TEST_F(ProcessCluster, WriterCrashStoppedWritesEndWithDeadlineReadsContinue) {
  ASSERT_EQ(Client({"write", "--token", "1", "--name", "kept", "--low", "1", "--mid", "2", "--high", "3"})
                .exit_code,
            0);
  auto c = Admin({"crash", "--node", nodes_[0], "--token", "1"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto w = Client({"--timeout", "1", "write", "--token", "1", "--name", "lost", "--low", "1",
                   "--mid", "2", "--high", "3"});
  EXPECT_NE(w.exit_code, 0);
  EXPECT_NE(w.err.find("DEADLINE_EXCEEDED"), std::string::npos) << w.err;
  auto r = Client({"--json", "read", "--token", "1", "--node", nodes_[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonField(r.out, "name"), "kept");
  // Reads not pinned to a node fail over away from the silent one.
  for (int i = 0; i < 5; ++i) {
    r = Client({"--json", "--attempt-timeout", "0.5", "read", "--token", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
}

TEST_F(ProcessCluster, MinorityCrashStoppedTokenIsStillReadAndWritten) {
  auto c = Admin({"crash", "--node", nodes_[1], "--token", "1"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto w = Client({"write", "--token", "1", "--name", "through", "--low", "1", "--mid", "2", "--high", "3"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (size_t i : {0, 2}) {
    auto r = Client({"--json", "read", "--token", "1", "--node", nodes_[i]});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(JsonField(r.out, "name"), "through");
  }
  // The crash-stopped node still serves token 3.
  auto r = Client({"--json", "read", "--token", "3", "--node", nodes_[1]});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ProcessCluster, ReplicaThatWasKilledCatchesUpThroughReadWriteBack) {
  procs_[1]->Signal(SIGKILL);
  ASSERT_TRUE(procs_[1]->Wait(10s).has_value());
  for (int i = 0; i < 3; ++i) {
    auto w = Client({"write", "--token", "1", "--name", "while-down-" + std::to_string(i), "--low",
                     "1", "--mid", "2", "--high", "3"});
    ASSERT_EQ(w.exit_code, 0) << w.err;
  }
  Start(1);
  WaitReady(1);
  auto before = Admin({"--json", "dump", "--node", nodes_[1]});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out.find("while-down-2"), std::string::npos) << before.out;
  auto r = Client({"--json", "read", "--token", "1", "--node", nodes_[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonField(r.out, "name"), "while-down-2");
  EXPECT_EQ(JsonField(r.out, "fast_path"), "false");  // it imposed the newer value
  // The write-back went to every replica, but the read only waited for a majority, which
  // need not include this node's own store: poll (bounded) until it lands.
  CommandResult after;
  for (int i = 0; i < 50; ++i) {
    after = Admin({"--json", "dump", "--node", nodes_[1]});
    if (after.out.find("while-down-2") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(after.out.find("while-down-2"), std::string::npos) << after.out;
}

TEST_F(ProcessCluster, SigtermStopsCleanlyWithExitZero) {
  procs_[1]->Signal(SIGTERM);
  auto status = procs_[1]->Wait(20s);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(ProcessCluster, OfflineDumpRefusesWhileTheReplicaRunsAndWorksAfter) {
  ASSERT_EQ(Client({"write", "--token", "3", "--name", "dumped", "--low", "1", "--mid", "2", "--high", "3"})
                .exit_code,
            0);
  auto d = Admin({"dump", "--data-dir", DataDir(2)});
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(d.err.find("in use"), std::string::npos) << d.err;
  procs_[2]->Signal(SIGTERM);
  ASSERT_TRUE(procs_[2]->Wait(20s).has_value());
  d = Admin({"dump", "--data-dir", DataDir(2)});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("dumped"), std::string::npos) << d.out;
}

// One process per address (issue 10, item 4). gRPC sets SO_REUSEPORT on Linux by default;
// with it, a second replica on a served address listened there too and clients reached
// either. Fails before the fix: the second process kept running (RunCommand killed it at
// its 20 s timeout, exit_code -1) instead of exiting at once. It exits with its own code, so
// that a harness which chose the port can tell to choose another (issue 11, item 4).
TEST_F(ProcessCluster, SecondReplicaOnAServedAddressExitsAtOnceNamingIt) {
  ASSERT_EQ(Client({"write", "--token", "1", "--name", "first", "--low", "1", "--mid", "2", "--high",
                    "3"})
                .exit_code,
            0);
  const std::string other_dir = dir_.File("second-on-address");
  const auto start = std::chrono::steady_clock::now();
  CommandResult second = RunCommand({kBin + "/token-replica", "--config", config_, "--listen",
                                     nodes_[0], "--data-dir", other_dir},
                                    20s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(second.exit_code, kReplicaExitAddressInUse) << second.err;
  EXPECT_LT(took, 10s) << "it must exit at once, not wait to be killed";
  EXPECT_NE(second.err.find("cannot listen on " + nodes_[0]), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("another process already serves this address"), std::string::npos)
      << second.err;
  EXPECT_FALSE(std::filesystem::exists(other_dir)) << "refused before its data dir was touched";
  // The first replica still serves.
  ASSERT_FALSE(procs_[0]->Wait(0ms).has_value()) << "the first replica still runs";
  auto r = Client({"--json", "read", "--token", "1", "--node", nodes_[0]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonField(r.out, "name"), "first");
}

// Issue 11, item 4, with the real binaries: the YAML names every node, so the addresses are
// chosen before the replicas bind them. One taken in between (held as a gRPC server with
// default arguments holds its port, SO_REUSEPORT) makes that replica exit with
// kReplicaExitAddressInUse at once, and the cluster starts again on new addresses with a
// rewritten YAML. Before, the replicas started on probed ports and a taken one was shared.
class ProcessClusterOnATakenPort : public ProcessCluster {
 protected:
  ProcessClusterOnATakenPort() {
    propose_ = [this](int n) {
      std::vector<std::string> a = testing::CandidateLoopbackAddresses(n);
      if (proposals_++ == 0) a.back() = taken_.address();  // nodes 0 and 1 start first
      return a;
    };
  }
  const testing::HeldLoopbackPort taken_{testing::HeldLoopbackPort::Mode::kListeningWithReusePort};
  int proposals_ = 0;
};

TEST_F(ProcessClusterOnATakenPort, StartsAgainOnNewAddressesWithARewrittenYaml) {
  EXPECT_EQ(proposals_, 2);
  EXPECT_EQ(addresses_in_use_, 1);
  const std::string yaml = testing::ReadFile(config_);
  EXPECT_EQ(yaml.find(taken_.address()), std::string::npos) << yaml;
  for (const std::string& node : nodes_) {
    EXPECT_NE(yaml.find(node), std::string::npos) << node << " not in\n" << yaml;
  }
  auto w =
      Client({"write", "--token", "1", "--name", "moved", "--low", "1", "--mid", "2", "--high", "3"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (const std::string& node : nodes_) {
    auto r = Client({"--json", "read", "--token", "1", "--node", node});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(JsonField(r.out, "name"), "moved");
  }
}

// One process per data dir: RocksDB's LOCK refuses a second open; the message must say so
// and name the directory.
TEST_F(ProcessCluster, SecondReplicaOnAUsedDataDirExitsAtOnceNamingIt) {
  // Another address the file names, so that only the data dir is shared.
  const std::string config = dir_.File("with-other.yaml");
  CommandResult second;
  std::chrono::steady_clock::duration took;
  testing::StartOnLoopback(1, [&](const std::vector<std::string>& other) {
    testing::WriteFile(config, testing::ReadFile(config_) + "- token: 9\n  writer: " + other[0] +
                                   "\n  readers: [" + other[0] + "]\n");
    const auto start = std::chrono::steady_clock::now();
    second = RunCommand({kBin + "/token-replica", "--config", config, "--listen", other[0],
                         "--data-dir", DataDir(0)},
                        20s);
    took = std::chrono::steady_clock::now() - start;
    return second.exit_code == kReplicaExitAddressInUse ? testing::StartAttempt::kAddressInUse
                                                        : testing::StartAttempt::kStarted;
  });
  EXPECT_EQ(second.exit_code, kExitUsage) << second.err;
  EXPECT_LT(took, 10s);
  EXPECT_NE(second.err.find(DataDir(0) + " is in use by another process"), std::string::npos)
      << second.err;
  ASSERT_FALSE(procs_[0]->Wait(0ms).has_value()) << "the first replica still runs";
  EXPECT_EQ(Admin({"dump", "--node", nodes_[0], "--timeout", "5"}).exit_code, 0);
}

TEST_F(ProcessCluster, PlaintextReplicasWarnAtStart) {
  const std::string err = testing::ReadFile(dir_.File("err0"));
  EXPECT_NE(err.find("level=warn msg=\"plaintext without authentication"), std::string::npos) << err;
}

// The same binaries with mutual TLS (certificates from scripts/gen-certs.sh).
class TlsProcessCluster : public ProcessCluster {
 protected:
  TlsProcessCluster() { tls_ = true; }
};

TEST_F(TlsProcessCluster, ToolsWorkWithCertificatesAndOnlyAdminsCrashStop) {
  EXPECT_EQ(testing::ReadFile(dir_.File("err0")).find("plaintext without"), std::string::npos);
  auto w = Client({"--json", "write", "--token", "1", "--name", "abc", "--low", "5", "--mid", "25",
                   "--high", "100"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  auto r = Client({"--json", "read", "--token", "1", "--node", nodes_[2]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonField(r.out, "final"), "60570345165277511");
  // As a string, all digits kept for JSON readers that hold numbers as doubles (SPEC 8).
  EXPECT_NE(r.out.find("\"final\":\"60570345165277511\""), std::string::npos) << r.out;

  // A client certificate cannot crash-stop a token; nor can a caller without one.
  auto denied = Admin({"crash", "--node", nodes_[1], "--token", "1"}, "client");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("PERMISSION_DENIED"), std::string::npos) << denied.err;
  auto plain = RunCommand({kBin + "/token-admin", "crash", "--node", nodes_[1], "--token", "1",
                           "--timeout", "2"},
                          60s);
  EXPECT_NE(plain.exit_code, 0);
  auto dump = Admin({"--json", "dump", "--node", nodes_[1]});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_EQ(JsonField(dump.out, "crashed"), "false");
  // A plaintext client gets nothing either.
  auto plain_read = RunCommand({kBin + "/token-client", "--config", config_, "--timeout", "2",
                                "read", "--token", "1"},
                               60s);
  EXPECT_EQ(plain_read.exit_code, 4) << plain_read.err;

  // The admin certificate can.
  auto crash = Admin({"crash", "--node", nodes_[1], "--token", "1"});
  EXPECT_EQ(crash.exit_code, 0) << crash.err;
  dump = Admin({"--json", "dump", "--node", nodes_[1]});
  EXPECT_EQ(JsonField(dump.out, "crashed"), "true");

  // Both attempts that reached the node are in its log, with the caller's certificate.
  const std::string log = Log(1);
  EXPECT_NE(log.find("level=warn msg=\"admin call refused\" call=crash-stop token=1 "
                     "peer=ipv4:127.0.0.1:"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("client_cn=client:cli error="), std::string::npos) << log;
  EXPECT_NE(log.find("level=warn msg=\"token crash-stopped\" token=1 was_crashed=false "
                     "peer=ipv4:127.0.0.1:"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" client_cn=admin:operator\n"), std::string::npos) << log;
}

TEST_F(TlsProcessCluster, BadCertificateFlagsAreUsageErrors) {
  auto r = RunCommand({kBin + "/token-client", "--config", config_, "--tls-ca",
                       Certs() + "/ca.pem", "read", "--token", "1"},
                      60s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("go together"), std::string::npos) << r.err;
  TempDir other;
  auto replica = RunCommand({kBin + "/token-replica", "--config", config_, "--listen", nodes_[0],
                             "--data-dir", other.File("d"), "--tls-ca", Certs() + "/ca.pem",
                             "--tls-cert", Certs() + "/client.pem", "--tls-key",
                             Certs() + "/client.key"},
                            60s);
  EXPECT_EQ(replica.exit_code, 1);
  EXPECT_NE(replica.err.find("issued to client:cli"), std::string::npos) << replica.err;
}

TEST(ProcessConfig, BadConfigIsRefusedNamingFileAndLine) {
  TempDir dir("tokenstore-badcfg");
  const std::string cfg = dir.File("bad.yaml");
  testing::WriteFile(cfg, "- token: 1\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n"
                          "- token: 1\n  writer: 127.0.0.1:99999\n  readers: [127.0.0.1:2]\n");
  auto r = RunCommand({kBin + "/token-replica", "--config", cfg, "--listen", "127.0.0.1:2",
                       "--data-dir", dir.File("data")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:5"), std::string::npos) << r.err;
  // Nothing started, nothing created.
  EXPECT_FALSE(std::filesystem::exists(dir.File("data")));
}

// One token-replica (a single node keeps token 1) with the metrics endpoint and the event
// log, driven by token-client and scraped over HTTP as Prometheus would.
class ProcessOps : public ::testing::Test {
 protected:
  // Starts the replica with `extra` flags (and metrics on a second address when `metrics`),
  // on new addresses when one was taken (StartOnLoopback); returns once it serves.
  void Start(bool metrics, std::vector<std::string> extra) {
    testing::StartOnLoopback(2, [&](const std::vector<std::string>& addresses) {
      node_ = addresses[0];
      metrics_ = addresses[1];
      testing::WriteFile(config_,
                         "- token: 1\n  writer: " + node_ + "\n  readers: [" + node_ + "]\n");
      std::vector<std::string> argv = {
          kBin + "/token-replica", "--config", config_, "--listen", node_, "--data-dir",
          dir_.File("data")};
      if (metrics) argv.insert(argv.end(), {"--metrics-listen", metrics_});
      argv.insert(argv.end(), extra.begin(), extra.end());
      proc_ = std::make_unique<ChildProcess>(argv, dir_.File("out"), dir_.File("err"));
      std::string why;
      const testing::StartAttempt up = testing::AwaitServing(
          {proc_.get()},
          [&](size_t) { return testing::DumpSaysServing(kBin + "/token-admin", node_); }, 20s,
          &why);
      if (up == testing::StartAttempt::kAddressInUse) {
        proc_.reset();
        for (const char* f : {"out", "err", "data"}) std::filesystem::remove_all(dir_.File(f));
      }
      EXPECT_NE(up, testing::StartAttempt::kFailed)
          << why << ": " << testing::ReadFile(dir_.File("err"));
      return up;
    });
  }

  // Polls (bounded) until the metrics endpoint answers 200; its body.
  std::string WaitForMetrics() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto r = testing::HttpGet(metrics_, "/metrics", 1s);
      if (r && r->status == 200) return r->body;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no metrics on " << metrics_ << ": " << testing::ReadFile(dir_.File("err"));
    return "";
  }
  // SIGTERM; expects exit 0; the stderr lines.
  std::vector<std::string> StopAndReadLog() {
    proc_->Signal(SIGTERM);
    auto status = proc_->Wait(20s);
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    std::vector<std::string> lines;
    std::istringstream in(testing::ReadFile(dir_.File("err")));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  TempDir dir_{"tokenstore-procops"};
  std::string node_, metrics_;
  const std::string config_ = dir_.File("one.yaml");
  std::unique_ptr<ChildProcess> proc_;
};

TEST_F(ProcessOps, MetricsEndpointIsScrapedAndMovesWithAWrite) {
  Start(/*metrics=*/true, {});
  const std::string write_ok = R"(tokenstore_operations_total{op="write",code="OK"})";
  EXPECT_EQ(testing::MetricValue(WaitForMetrics(), write_ok), 0);
  auto w = RunCommand({kBin + "/token-client", "--config", config_, "write", "--token", "1",
                       "--name", "scraped", "--low", "0", "--mid", "5", "--high", "9"},
                      60s);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  const std::string text = WaitForMetrics();
  EXPECT_EQ(testing::MetricValue(text, write_ok), 1) << text;
  EXPECT_EQ(testing::MetricValue(text, "tokenstore_tokens"), 1) << text;
  EXPECT_GE(testing::MetricValue(text, "tokenstore_storage_sync_seconds_count").value_or(0), 2)
      << text;

  const std::vector<std::string> log = StopAndReadLog();
  ASSERT_FALSE(log.empty());
  for (const std::string& line : log) {
    EXPECT_TRUE(line.starts_with("ts=")) << line;
    EXPECT_NE(line.find(" level="), std::string::npos) << line;
  }
  // The plaintext warning, then the start event.
  ASSERT_GE(log.size(), 2u);
  EXPECT_NE(log[0].find("level=warn msg=\"plaintext without authentication"), std::string::npos)
      << log[0];
  EXPECT_NE(log[1].find("level=info msg=\"serving\" listen=" + node_), std::string::npos)
      << log[1];
  EXPECT_NE(log[1].find("metrics=http://" + metrics_ + "/metrics"), std::string::npos) << log[1];
  EXPECT_NE(log.back().find("msg=\"stopped cleanly\""), std::string::npos) << log.back();
  // The op log on stdout is unchanged: one JSON object per operation.
  const std::string out = testing::ReadFile(dir_.File("out"));
  EXPECT_TRUE(out.starts_with("{\"time_ms\":")) << out;
  EXPECT_NE(out.find("\"op\":\"write\",\"token\":\"1\",\"status\":\"OK\""), std::string::npos) << out;
  // It ends with the node's token count, not the ids of its tokens (SPEC section 3).
  EXPECT_NE(out.find(",\"tokens\":1}\n"), std::string::npos) << out;
  // Stopped: nothing listens on the metrics port any more.
  EXPECT_FALSE(testing::HttpGet(metrics_, "/metrics", 1s).has_value());
}

TEST_F(ProcessOps, JsonLogAtDebugLevel) {
  Start(/*metrics=*/false, {"--log-format", "json", "--log-level", "debug", "--no-op-log"});
  // Ready when a client operation succeeds.
  CommandResult r;
  for (int attempt = 0; attempt < 100; ++attempt) {
    r = RunCommand({kBin + "/token-client", "--config", config_, "--timeout", "1", "read", "--token", "1"});
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> log = StopAndReadLog();
  ASSERT_GE(log.size(), 4u);
  for (const std::string& line : log) {
    EXPECT_TRUE(line.starts_with("{\"ts\":\"") && line.ends_with("}")) << line;
  }
  EXPECT_NE(log[0].find("\"level\":\"debug\",\"msg\":\"configuration loaded\""), std::string::npos)
      << log[0];
  EXPECT_NE(log[1].find("\"level\":\"warn\",\"msg\":\"plaintext"), std::string::npos) << log[1];
  EXPECT_NE(log[2].find("\"msg\":\"serving\""), std::string::npos) << log[2];
  EXPECT_NE(log[2].find("\"metrics\":\"off\""), std::string::npos) << log[2];
  EXPECT_TRUE(testing::ReadFile(dir_.File("out")).empty());
}

TEST(ProcessOpsFlags, BadLogLevelAndMetricsAddressAreUsageErrors) {
  TempDir dir("tokenstore-opsflags");
  const std::string cfg = dir.File("c.yaml");
  testing::WriteFile(cfg, "- token: 1\n  writer: 127.0.0.1:2\n  readers: [127.0.0.1:2]\n");
  const std::vector<std::string> base = {kBin + "/token-replica", "--config", cfg, "--listen",
                                         "127.0.0.1:2", "--data-dir", dir.File("data")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  };
  EXPECT_EQ(with({"--log-level", "verbose"}).exit_code, 2);
  // --bind takes an access point, as --listen does.
  for (const char* bad : {"50051", "0.0.0.0", "localhost:50051"}) {
    auto bind = with({"--bind", bad});
    EXPECT_EQ(bind.exit_code, 2) << bad;
    EXPECT_NE(bind.err.find("level=error msg=\"invalid --bind\" error=\"--bind "),
              std::string::npos)
        << bind.err;
  }
  EXPECT_EQ(with({"--log-format", "xml"}).exit_code, 2);
  // Only "<ip>:<port>": a bare port would make civetweb listen on every interface.
  auto bare = with({"--metrics-listen", "9100"});
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.err.find("level=error msg=\"invalid --metrics-listen\""), std::string::npos)
      << bare.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("data")));
}

// --bind is what the server binds, not --listen: a taken --bind address is refused naming
// --bind (exit 4), while the --listen address (the identity) is free.
TEST(ProcessOpsFlags, TakenBindAddressIsRefusedNamingBind) {
  TempDir dir("tokenstore-bindflag");
  testing::HeldLoopbackPort held(testing::HeldLoopbackPort::Mode::kRefusing);
  const std::string identity = testing::CandidateLoopbackAddresses(1)[0];
  const std::string cfg = dir.File("c.yaml");
  testing::WriteFile(cfg, "- token: 1\n  writer: " + identity + "\n  readers: [" + identity + "]\n");
  auto r = RunCommand({kBin + "/token-replica", "--config", cfg, "--listen", identity,
                       "--bind", held.address(), "--data-dir", dir.File("data")});
  EXPECT_EQ(r.exit_code, kReplicaExitAddressInUse) << r.err;
  EXPECT_NE(r.err.find("cannot listen on " + held.address()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pick another --bind"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("data")));
}

// Three replicas serving metrics, /healthz and /readyz; node 0 names its bound address with
// --bind (the same as its --listen identity: tests bind loopback only).
class WatchedProcessCluster : public ProcessCluster {
 protected:
  WatchedProcessCluster() : metrics_(testing::CandidateLoopbackAddresses(3)) {}
  std::vector<std::string> ExtraFlags(size_t i) const override {
    std::vector<std::string> flags = {"--metrics-listen", metrics_[i]};
    if (i == 0) flags.insert(flags.end(), {"--bind", nodes_[0]});
    return flags;
  }
  std::optional<testing::HttpResponse> Get(size_t i, const std::string& path) {
    return testing::HttpGet(metrics_[i], path, 2s);
  }
  std::string Metrics(size_t i) {
    auto r = Get(i, "/metrics");
    return r && r->status == 200 ? r->body : "";
  }
  std::optional<double> Metric(size_t i, const std::string& series) {
    return testing::MetricValue(Metrics(i), series);
  }
  CommandResult Write(int version) {
    return Client({"write", "--id", "1", "--name", "v" + std::to_string(version), "--low", "1",
                   "--mid", "2", "--high", "3"});
  }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  std::vector<std::string> metrics_;
};

TEST_F(WatchedProcessCluster, PeerLossAndReturnAreLoggedOnceAndMeasured) {
  auto health = Get(0, "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto ready = Get(0, "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready: serving\n");
  EXPECT_NE(Log(0).find(" bind=" + nodes_[0] + " "), std::string::npos) << Log(0);

  const std::string down = "msg=\"peer unreachable\" peer=" + nodes_[2] + " ";
  const std::string back = "msg=\"peer reachable again\" peer=" + nodes_[2] + " ";
  const std::string peer2 = "{peer=\"" + nodes_[2] + "\"}";
  EXPECT_EQ(Metric(0, "tokenstore_peer_up" + peer2), 1);
  // A peer not listening yet when node 0 started is no loss: at most an info line.
  EXPECT_EQ(Log(0).find("level=warn msg=\"peer unreachable\""), std::string::npos) << Log(0);
  EXPECT_EQ(Metric(0, "tokenstore_peer_unreachable_total" + peer2), 0);
  ASSERT_NO_FATAL_FAILURE(Kill(2));
  int version = 0;
  // Node 0 writes token 1 to all three; a majority is left, so every write succeeds.
  for (int attempt = 0; attempt < 50 && Log(0).find(down) == std::string::npos; ++attempt) {
    auto w = Write(++version);
    ASSERT_EQ(w.exit_code, 0) << w.err;
    std::this_thread::sleep_for(100ms);
  }
  std::string log = Log(0);
  ASSERT_NE(log.find("level=warn " + down + "code=UNAVAILABLE error="), std::string::npos) << log;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Write(++version).exit_code, 0);  // still down
  std::string text = Metrics(0);
  EXPECT_EQ(testing::MetricValue(text, "tokenstore_peer_up" + peer2), 0) << text;
  EXPECT_EQ(testing::MetricValue(text, "tokenstore_peer_unreachable_total" + peer2), 1) << text;
  EXPECT_GE(testing::MetricValue(text, "tokenstore_peer_rpc_errors_total{peer=\"" + nodes_[2] +
                                           "\",code=\"UNAVAILABLE\"}")
                .value_or(0),
            1)
      << text;
  EXPECT_EQ(testing::MetricValue(text, "tokenstore_peer_up{peer=\"" + nodes_[1] + "\"}"), 1)
      << text;
  EXPECT_FALSE(Get(2, "/healthz").has_value());  // the process is gone

  Start(2);
  ASSERT_NO_FATAL_FAILURE(WaitReady(2));
  const size_t down_at = Log(0).find(down);  // "reachable again" is looked for after it
  for (int attempt = 0; attempt < 50 && Log(0).find(back, down_at) == std::string::npos;
       ++attempt) {
    auto w = Write(++version);
    ASSERT_EQ(w.exit_code, 0) << w.err;
    std::this_thread::sleep_for(100ms);
  }
  log = Log(0);
  ASSERT_NE(log.find("level=info " + back + "down_seconds="), std::string::npos) << log;
  EXPECT_LT(log.find(down), log.find(back));
  EXPECT_EQ(Count(log, down), 1u) << log;  // edge-triggered: one line per transition
  EXPECT_EQ(Count(log, back), 1u) << log;
  text = Metrics(0);
  EXPECT_EQ(testing::MetricValue(text, "tokenstore_peer_up" + peer2), 1) << text;
  EXPECT_GT(testing::MetricValue(text, "tokenstore_peer_rtt_seconds_count" + peer2).value_or(0), 0)
      << text;
  EXPECT_GT(
      testing::MetricValue(text, "tokenstore_peer_batch_entries_count" + peer2).value_or(0), 0)
      << text;
  EXPECT_GT(testing::MetricValue(text, "process_resident_memory_bytes").value_or(0), 1 << 20)
      << text;
  EXPECT_GT(testing::MetricValue(text, "process_open_fds").value_or(0), 3) << text;
  EXPECT_GT(testing::MetricValue(text, "process_threads").value_or(0), 2) << text;
  EXPECT_GT(testing::MetricValue(text, "process_start_time_seconds").value_or(0), 1.7e9) << text;

  // Every metric the Grafana dashboard queries is one a node serves.
  const std::string dashboard = testing::ReadFile(testing::kSourceDir + "/docs/grafana-dashboard.json");
  const std::regex name("(tokenstore|process)_[a-z_]+");
  size_t names = 0;
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), name);
       it != std::sregex_iterator(); ++it) {
    std::string metric = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (metric.ends_with(suffix) && !metric.ends_with("_total")) {
        metric.resize(metric.size() - std::string(suffix).size());
        break;
      }
    }
    ++names;
    EXPECT_NE(text.find("# TYPE " + metric + " "), std::string::npos) << metric;
  }
  EXPECT_GE(names, 10u);
}

TEST_F(WatchedProcessCluster, ReadyzIs503WithTheStateUntilTheNodeServes) {
  ASSERT_NO_FATAL_FAILURE(Kill(1));
  ASSERT_NO_FATAL_FAILURE(Kill(2));
  Start(2);  // a current data dir whose peers are all gone: it waits for them
  std::optional<testing::HttpResponse> health;
  for (int attempt = 0; attempt < 100 && !(health = Get(2, "/healthz")); ++attempt) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(health.has_value()) << Log(2);
  EXPECT_EQ(health->status, 200);  // alive, though not ready
  auto ready = Get(2, "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: starting\n");

  Start(1);
  ASSERT_NO_FATAL_FAILURE(WaitReady(2));
  ready = Get(2, "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready: serving\n");
}

TEST_F(WatchedProcessCluster, CrashStopAndReviveAreLoggedWithTheCaller) {
  auto crash = Admin({"crash", "--node", nodes_[1], "--token", "1"});
  ASSERT_EQ(crash.exit_code, 0) << crash.err;
  auto revive = Admin({"revive", "--node", nodes_[1], "--token", "1"});
  ASSERT_EQ(revive.exit_code, 0) << revive.err;
  const std::string log = Log(1);
  const size_t crashed =
      log.find("level=warn msg=\"token crash-stopped\" token=1 was_crashed=false "
               "peer=ipv4:127.0.0.1:");
  const size_t revived = log.find("level=info msg=\"token revived\" token=1 was_crashed=true "
                                  "peer=ipv4:127.0.0.1:");
  ASSERT_NE(crashed, std::string::npos) << log;
  ASSERT_NE(revived, std::string::npos) << log;
  EXPECT_LT(crashed, revived);
  EXPECT_EQ(Count(log, " client_cn=none\n"), 2u) << log;  // plaintext: no certificate

  // A crash-stop that fails is logged too, with its code.
  auto unknown = Admin({"crash", "--node", nodes_[1], "--token", "no-such-token"});
  EXPECT_NE(unknown.exit_code, 0) << unknown.out;
  const std::string after = Log(1);
  EXPECT_NE(after.find("level=warn msg=\"admin call failed\" call=crash-stop "
                       "token=no-such-token peer=ipv4:127.0.0.1:"),
            std::string::npos)
      << after;
  EXPECT_NE(after.find("client_cn=none code=NOT_FOUND error="), std::string::npos) << after;
}

}  // namespace
}  // namespace tokenstore
