// Node lifecycle (SPEC section 10, issue 10 scenarios 1-3) with the real binaries: a replaced
// disk at a reader and at the writer, and a replica or client started with an edited YAML.
// Three token-replica processes A, B, C on 127.0.0.1; token 1 is written by A and read by all
// three. Nodes are killed with SIGKILL, paused with SIGSTOP and resumed with SIGCONT.
//
// Each test asserts the safety outcome (no stale read, no lost acknowledgement, a clear
// refusal), not how the nodes get there, except that a node whose disk was replaced is
// waited for until its gRPC health says SERVING. Every wait is bounded; a paused or running
// process is killed when the test ends, also when it fails.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "tests/health_probe.h"
#include "tests/process_cluster.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using testing::CommandResult;
using namespace std::chrono_literals;

constexpr size_t kA = 0;  // token 1's writer, also a reader
constexpr size_t kB = 1;
constexpr size_t kC = 2;

// A rebuild moves one register; this only bounds a broken one.
constexpr auto kRebuildBound = 60s;

class Lifecycle : public testing::ProcessCluster {
 protected:
  std::string ClusterYaml(const std::vector<std::string>& n) const override {
    return "- token: 1\n  writer: " + n[kA] + "\n  readers: [" + n[kA] + ", " + n[kB] + ", " +
           n[kC] + "]\n";
  }

  static std::string Value(int version) { return "lifecycle-v" + std::to_string(version); }
  static std::string Seconds(std::chrono::seconds s) { return std::to_string(s.count()); }

  // Writes Value(version) to token 1 (through its writer A).
  CommandResult Write(int version, std::chrono::seconds timeout = 10s) {
    return Client({"--json", "--timeout", Seconds(timeout), "write", "--token", "1", "--name",
                   Value(version), "--low", "0", "--mid", "5", "--high", "9"});
  }
  // Reads token 1 at node `i` only.
  CommandResult Read(size_t i, std::chrono::seconds timeout = 10s) {
    return Client(
        {"--json", "--timeout", Seconds(timeout), "read", "--token", "1", "--node", nodes_[i]});
  }
  // The name a successful read returned ("" when it failed).
  static std::string NameRead(const CommandResult& r) {
    return r.exit_code == 0 ? JsonField(r.out, "name") : "";
  }

  // Polls (bounded) node i's live dump until it holds Value(version): a write returns after
  // a majority, so the third replica's Store may still be on its way.
  void WaitStored(size_t i, int version) {
    CommandResult d;
    for (int attempt = 0; attempt < 100; ++attempt) {
      d = Admin({"--json", "dump", "--node", nodes_[i], "--timeout", "1"});
      if (d.out.find("\"" + Value(version) + "\"") != std::string::npos) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << nodes_[i] << " never stored " << Value(version) << ": " << d.out << d.err;
  }

  // Value(1) at every replica; C killed (data kept) while versions 2..last are acknowledged
  // by A and B; C restarted on its old data, which still holds version 1.
  void CIsBehind(int last) {
    auto w = Write(1);
    ASSERT_EQ(w.exit_code, 0) << w.err;
    for (size_t i : {kA, kB, kC}) ASSERT_NO_FATAL_FAILURE(WaitStored(i, 1));
    ASSERT_NO_FATAL_FAILURE(Kill(kC));
    for (int v = 2; v <= last; ++v) {
      w = Write(v);
      ASSERT_EQ(w.exit_code, 0) << Value(v) << ": " << w.err;
    }
    Start(kC);
    ASSERT_NO_FATAL_FAILURE(WaitServing(kC));
  }

  // Kills node i and gives it an empty data dir in place of its old one, as an operator
  // who swapped a dead disk would.
  void ReplaceDisk(size_t i) {
    ASSERT_NO_FATAL_FAILURE(Kill(i));
    std::filesystem::remove_all(DataDir(i));
    ASSERT_TRUE(std::filesystem::create_directory(DataDir(i)));
  }

  void WaitServing(size_t i) {
    ASSERT_TRUE(testing::WaitForHealth(nodes_[i], testing::probe::HealthCheckResponse::SERVING,
                                       kRebuildBound))
        << nodes_[i] << " never reported SERVING; its log:\n"
        << Log(i);
  }
  // Until node i's gRPC server answers at all (SERVING or not): the process is up.
  void WaitAnswering(size_t i) {
    ASSERT_TRUE(testing::WaitForHealthAnswer(nodes_[i], kRebuildBound).has_value())
        << nodes_[i] << " never answered a health check; its log:\n"
        << Log(i);
  }
};

// Scenario 1, a replaced disk at a reader. B restarts on an empty data dir with its usual
// command line; once it says SERVING it must hold what A and B acknowledged, so with A
// paused, C (still at v1) and B form a majority that must know v3.
// Before the lifecycle change (main at 856a2ed, 3 runs alike): B said SERVING at once on
// its empty store and the read at C returned v1 (ts 1) after v3 had been acknowledged.
TEST_F(Lifecycle, ReaderWithReplacedDiskNeverLetsAStaleValueBeRead) {
  ASSERT_NO_FATAL_FAILURE(CIsBehind(3));
  ASSERT_NO_FATAL_FAILURE(ReplaceDisk(kB));
  Start(kB);
  ASSERT_NO_FATAL_FAILURE(WaitServing(kB));
  // The rebuild's start and end are events of their own.
  const std::string log = Log(kB);
  EXPECT_NE(log.find("level=info msg=\"rebuild started\" tokens="), std::string::npos) << log;
  EXPECT_NE(log.find("level=info msg=\"rebuild finished\" tokens="), std::string::npos) << log;
  EXPECT_LT(log.find("rebuild started"), log.find("rebuild finished")) << log;
  ASSERT_NO_FATAL_FAILURE(Pause(kA));
  auto r = Read(kC);
  EXPECT_NE(NameRead(r), Value(1)) << "stale read after " << Value(3) << " was acknowledged";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(NameRead(r), Value(3)) << r.out;
}

// Scenario 1, variant: A is paused before B restarts on its empty disk, so B cannot rebuild
// (it needs both A and C). While A is paused no read at C may return v1; it may fail. Once
// A is back, B rebuilds, says SERVING, and a read at C returns v3.
// Pausing A before B's start rather than "right after" it makes "before B could rebuild"
// certain instead of a race.
// Before the lifecycle change (main at 856a2ed, 3 runs alike): with A paused the read at C
// returned v1 (ts 1); after A was resumed a read at C still returned v1 (B and C now both
// held ts 1, so they formed a majority without A).
TEST_F(Lifecycle, ReaderWithReplacedDiskThatCannotRebuildServesNoStaleValue) {
  ASSERT_NO_FATAL_FAILURE(CIsBehind(3));
  ASSERT_NO_FATAL_FAILURE(ReplaceDisk(kB));
  ASSERT_NO_FATAL_FAILURE(Pause(kA));
  Start(kB);
  ASSERT_NO_FATAL_FAILURE(WaitAnswering(kB));
  auto r = Read(kC, 3s);
  EXPECT_NE(NameRead(r), Value(1)) << "stale read after " << Value(3) << " was acknowledged";
  if (r.exit_code == 0) {
    EXPECT_EQ(NameRead(r), Value(3)) << r.out;
  }

  Resume(kA);
  ASSERT_NO_FATAL_FAILURE(WaitServing(kB));
  r = Read(kC);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(NameRead(r), Value(3)) << r.out;
}

// Scenario 2, a replaced disk at the writer. A restarts on an empty data dir while B holds
// v5 and C v1; once A says SERVING, a write it acknowledges with B paused (A and C) must be
// the value every node reads after B is back.
// Before the lifecycle change (main at 856a2ed, 3 runs alike): v6 was acknowledged with
// ts 2 (A learnt only C's ts 1), and after B was back the reads at A, B and C all returned
// v5 (ts 5): the acknowledged write was lost.
TEST_F(Lifecycle, WriterWithReplacedDiskLosesNoAcknowledgedWrite) {
  ASSERT_NO_FATAL_FAILURE(CIsBehind(5));
  ASSERT_NO_FATAL_FAILURE(ReplaceDisk(kA));
  Start(kA);
  ASSERT_NO_FATAL_FAILURE(WaitServing(kA));
  ASSERT_NO_FATAL_FAILURE(Pause(kB));
  auto w = Write(6);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  Resume(kB);
  for (size_t i : {kA, kB, kC}) {
    auto r = Read(i);
    ASSERT_EQ(r.exit_code, 0) << nodes_[i] << ": " << r.err;
    EXPECT_EQ(NameRead(r), Value(6)) << "read at " << nodes_[i] << ": " << r.out;
  }
}

// Scenario 2, variant: B is paused before A restarts on its empty disk, so A cannot rebuild
// (it needs B and C). A write must not be acknowledged then (an error is fine). Once B is
// back, A says SERVING and a new write is acknowledged and read back at every node.
// Before the lifecycle change (main at 856a2ed, 3 runs alike): v6 was acknowledged (ts 2)
// with B paused; after B was back v7 was acknowledged too, and the reads at A, B and C all
// returned v5 (ts 5): both acknowledged writes were lost.
TEST_F(Lifecycle, WriterWithReplacedDiskThatCannotRebuildAcknowledgesNothing) {
  ASSERT_NO_FATAL_FAILURE(CIsBehind(5));
  ASSERT_NO_FATAL_FAILURE(Pause(kB));
  ASSERT_NO_FATAL_FAILURE(ReplaceDisk(kA));
  Start(kA);
  ASSERT_NO_FATAL_FAILURE(WaitAnswering(kA));
  auto w = Write(6, 3s);
  EXPECT_NE(w.exit_code, 0) << "acknowledged by a writer that could not rebuild: " << w.out;

  Resume(kB);
  ASSERT_NO_FATAL_FAILURE(WaitServing(kA));
  w = Write(7);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (size_t i : {kA, kB, kC}) {
    auto r = Read(i);
    ASSERT_EQ(r.exit_code, 0) << nodes_[i] << ": " << r.err;
    EXPECT_EQ(NameRead(r), Value(7)) << "read at " << nodes_[i] << ": " << r.out;
  }
}

// Scenario 3, an edited YAML. C restarts with a file that gives token 1 the replica set
// {A, C}; A and B keep {A, B, C}. A read at C (by a client with C's file) must fail with
// FAILED_PRECONDITION naming the token and both nodes, at once rather than by the client's
// timeout; a read at A still succeeds with A and B. A client whose file differs from the
// node it calls is refused the same way.
// "At once" is checked as under 5 s of wall time for the whole token-client run against a
// 20 s timeout: far apart, so a loaded machine starting the process slowly does not matter.
// Before the lifecycle change (main at 856a2ed, 3 runs alike): the read at C succeeded on
// the fast path with A and C ({A, C} as "majority"), and the client with the other file
// read at A and even wrote (acknowledged, ts 2): nothing compared the views.
TEST_F(Lifecycle, MismatchedReplicaSetsAreRefusedNamingTokenAndNodes) {
  auto w = Write(1);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (size_t i : {kA, kB, kC}) ASSERT_NO_FATAL_FAILURE(WaitStored(i, 1));

  const std::string& a = nodes_[kA];
  const std::string& c = nodes_[kC];
  const std::string edited = dir_.File("edited-at-c.yaml");
  testing::WriteFile(edited,
                     "- token: 1\n  writer: " + a + "\n  readers: [" + a + ", " + c + "]\n");
  ASSERT_NO_FATAL_FAILURE(Kill(kC));
  Start(kC, edited);
  ASSERT_NO_FATAL_FAILURE(WaitServing(kC));  // not only answering: refused by a serving C

  const std::regex names_token1(R"(token "?1\b)");
  auto started = std::chrono::steady_clock::now();
  auto r =
      ClientWithConfig(edited, {"--json", "--timeout", "20", "read", "--token", "1", "--node", c});
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_NE(r.exit_code, 0) << "read at C succeeded with a majority of {A, C}: " << r.out;
  EXPECT_NE(r.err.find("FAILED_PRECONDITION"), std::string::npos) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, names_token1)) << r.err;
  EXPECT_NE(r.err.find(a), std::string::npos) << "A not named: " << r.err;
  EXPECT_NE(r.err.find(c), std::string::npos) << "C not named: " << r.err;
  EXPECT_LT(took, 5s) << "refused by timeout, not at once: " << r.err;

  r = Read(kA);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(NameRead(r), Value(1)) << r.out;

  // A client whose file gives token 1 other readers than A's does.
  const std::string other = dir_.File("other-client.yaml");
  testing::WriteFile(
      other, "- token: 1\n  writer: " + a + "\n  readers: [" + a + ", " + nodes_[kB] + "]\n");
  for (const std::vector<std::string>& op :
       {std::vector<std::string>{"read", "--token", "1", "--node", a},
        std::vector<std::string>{"write", "--token", "1", "--name", Value(2), "--low", "0", "--mid",
                                 "5", "--high", "9"}}) {
    std::vector<std::string> args = {"--timeout", "20"};
    args.insert(args.end(), op.begin(), op.end());
    started = std::chrono::steady_clock::now();
    r = ClientWithConfig(other, args);
    took = std::chrono::steady_clock::now() - started;
    EXPECT_NE(r.exit_code, 0) << op[0] << " by a client with another view succeeded: " << r.out;
    EXPECT_NE(r.err.find("FAILED_PRECONDITION"), std::string::npos) << op[0] << ": " << r.err;
    EXPECT_TRUE(std::regex_search(r.err, names_token1)) << op[0] << ": " << r.err;
    EXPECT_LT(took, 5s) << op[0] << " refused by timeout, not at once: " << r.err;
  }
}

}  // namespace
}  // namespace tokenstore
