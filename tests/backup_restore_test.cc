// token-admin backup and restore with the real binaries: a source cluster is backed up and
// restored into a target cluster on other ports whose replica sets (and writers) differ for
// the same token ids. Setup and checks use the client library; backup and restore run as a
// user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "admin/backup_record.h"
#include "admin/restore.h"
#include "client/token_client.h"
#include "tests/test_support.h"

namespace tokenstore {
namespace {

using testing::ChildProcess;
using testing::CommandResult;
using testing::RunCommand;
using testing::TempDir;
using namespace std::chrono_literals;

const std::string kBin = TOKENSTORE_BIN_DIR;

// Three token-replica processes; `shape` turns the three addresses into the YAML. They start
// on new addresses (and a rewritten YAML) when one was taken (StartOnLoopback).
class Cluster {
 public:
  Cluster(const TempDir& dir, const std::string& name,
          std::string (*shape)(const std::vector<std::string>&))
      : config_path_(dir.File(name + ".yaml")) {
    nodes_ = testing::StartOnLoopback(3, [&](const std::vector<std::string>& nodes) {
      nodes_ = nodes;
      return StartAll(dir, name, shape);
    });
    StatusOr<ClusterConfig> config = LoadClusterConfig(config_path_);
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    ClientOptions o;
    o.timeout = 5s;
    o.attempt_timeout = 1s;
    o.seed = 1;
    client_ = std::make_unique<TokenClient>(config_, o);
  }

  const std::string& config_path() const { return config_path_; }
  const std::string& node(size_t i) const { return nodes_[i]; }
  TokenClient& client() { return *client_; }

  // What a reader says now: "defined NAME LOW MID HIGH partial P final F at X", "undefined",
  // "dropped", or the error.
  std::string StateOf(const std::string& id) {
    StatusOr<BackupRecord> r = RecordFromRead(id, client_->Read(id));
    if (!r.ok()) return r.status().ToString();
    if (r->state != ValueKind::kDefined) return ValueKindName(r->state);
    return "defined " + r->name + " " + std::to_string(r->low) + " " + std::to_string(r->mid) +
           " " + std::to_string(r->high) + " partial " + std::to_string(r->partial.value_or(0)) +
           " final " + std::to_string(*r->final) + " at " + std::to_string(r->final_x);
  }

  CommandResult Admin(std::vector<std::string> args) {
    args.insert(args.begin(), {kBin + "/token-admin", "--config", config_path_});
    return RunCommand(args, 60s);
  }

 private:
  // One start attempt on nodes_.
  testing::StartAttempt StartAll(const TempDir& dir, const std::string& name,
                                 std::string (*shape)(const std::vector<std::string>&)) {
    testing::WriteFile(config_path_, shape(nodes_));
    std::vector<ChildProcess*> started;
    for (size_t i = 0; i < 3; ++i) {
      const std::string n = name + std::to_string(i);
      procs_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{kBin + "/token-replica", "--config", config_path_, "--listen",
                                   nodes_[i], "--data-dir", dir.File(n), "--no-op-log"},
          dir.File(n + ".out"), dir.File(n + ".err")));
      started.push_back(procs_.back().get());
    }
    std::string why;
    const testing::StartAttempt up = testing::AwaitServing(
        started,
        // A node of a new cluster serves once all its peers answered it.
        [&](size_t i) { return testing::DumpSaysServing(kBin + "/token-admin", nodes_[i]); }, 20s,
        &why);
    if (up == testing::StartAttempt::kAddressInUse) {
      procs_.clear();  // kills the others
      for (size_t i = 0; i < 3; ++i)
        std::filesystem::remove_all(dir.File(name + std::to_string(i)));
    }
    EXPECT_NE(up, testing::StartAttempt::kFailed) << name << ": " << why;
    return up;
  }

  std::vector<std::string> nodes_;
  std::string config_path_;
  ClusterConfig config_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;
  std::unique_ptr<TokenClient> client_;
};

// Token 1: writer n0, readers n0 n1 n2. Token 2: writer n1, readers n1 n2. Token 3: writer n2,
// readers n0 n1 n2.
std::string SourceShape(const std::vector<std::string>& n) {
  return "- token: 1\n  writer: " + n[0] + "\n  readers: [" + n[0] + ", " + n[1] + ", " + n[2] +
         "]\n- token: 2\n  writer: " + n[1] + "\n  readers: [" + n[1] + ", " + n[2] +
         "]\n- token: 3\n  writer: " + n[2] + "\n  readers: [" + n[0] + ", " + n[1] + ", " + n[2] +
         "]\n";
}

// Other writers and replica sets for the same ids; token 4 is not in the backup.
std::string TargetShape(const std::vector<std::string>& n) {
  return "- token: 1\n  writer: " + n[2] + "\n  readers: [" + n[0] + ", " + n[1] +
         "]\n- token: 2\n  writer: " + n[0] + "\n  readers: [" + n[0] + ", " + n[1] + ", " + n[2] +
         "]\n- token: 3\n  writer: " + n[1] + "\n  readers: [" + n[2] +
         "]\n- token: 4\n  writer: " + n[0] + "\n  readers: [" + n[0] + "]\n";
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const char kAbc[] = "defined abc 5 25 100 partial 902613196918738813 final 60570345165277511 at 70";

TEST(BackupRestore, MovesEveryStateToAnotherReplicaSetAndSkipsTokensInUse) {
  TempDir dir("tokenstore-backup");
  const std::string backup = dir.File("tokens.jsonl");
  Cluster source(dir, "source", SourceShape);
  TokenClient& from = source.client();
  ASSERT_TRUE(from.Write("1", "abc", 5, 25, 100).ok());
  ASSERT_TRUE(from.Write("2", "gone", 1, 2, 3).ok());
  ASSERT_TRUE(from.Drop("2").ok());
  ASSERT_TRUE(from.Write("3", "reset", 1, 2, 3).ok());
  ASSERT_TRUE(from.Create("3").ok());

  CommandResult b =
      source.Admin({"backup", "--out", backup, "--concurrency", "2", "--progress-every", "1"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("token-admin backup: 1 of 3 tokens done, 0 failed\n"), std::string::npos)
      << b.err;
  EXPECT_NE(b.err.find("token-admin backup: 3 of 3 tokens done, 0 failed, written to " + backup),
            std::string::npos)
      << b.err;
  const std::vector<std::string> lines = Lines(backup);
  ASSERT_EQ(lines.size(), 3u);  // configuration order
  EXPECT_EQ(lines[0].rfind(R"({"id":"1","state":"defined","ts":")", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(R"("final":"60570345165277511","final_x":"70"})"), std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[1].rfind(R"({"id":"2","state":"dropped","ts":null,)", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind(R"({"id":"3","state":"undefined","ts":")", 0), 0u) << lines[2];

  Cluster target(dir, "target", TargetShape);
  TokenClient& to = target.client();
  ASSERT_TRUE(to.Write("1", "inuse", 1, 2, 3).ok());
  ASSERT_TRUE(to.Write("4", "untouched", 1, 2, 3).ok());

  CommandResult plain = target.Admin({"restore", "--in", backup});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.err.find("token-admin restore: 3 of 3 tokens done, 0 failed, 2 restored, 1 "
                           "skipped (not undefined; --force overwrites them)"),
            std::string::npos)
      << plain.err;
  EXPECT_EQ(target.StateOf("1").rfind("defined inuse 1 2 3 ", 0), 0u) << target.StateOf("1");
  EXPECT_EQ(target.StateOf("2"), "dropped");
  EXPECT_EQ(target.StateOf("3"), "undefined");

  // --force overwrites, also a dropped token (created again before the write).
  ASSERT_TRUE(to.Drop("1").ok());
  ASSERT_TRUE(to.Write("3", "inuse", 1, 2, 3).ok());
  CommandResult forced = target.Admin({"restore", "--in", backup, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.err.find("3 of 3 tokens done, 0 failed, 3 restored, 0 skipped"),
            std::string::npos)
      << forced.err;
  for (const char* id : {"1", "2", "3"}) EXPECT_EQ(target.StateOf(id), source.StateOf(id)) << id;
  EXPECT_EQ(target.StateOf("1"), kAbc);
  EXPECT_EQ(target.StateOf("2"), "dropped");
  EXPECT_EQ(target.StateOf("3"), "undefined");
  EXPECT_EQ(target.StateOf("4").rfind("defined untouched ", 0), 0u) << target.StateOf("4");
}

TEST(BackupRestore, BackupThatCannotReadATokenNamesItAndWritesNothing) {
  TempDir dir("tokenstore-backup");
  const std::string backup = dir.File("tokens.jsonl");
  testing::WriteFile(backup, "an older backup\n");
  Cluster c(dir, "c", SourceShape);
  // Token 1 (replicas n0 n1 n2) keeps no majority; tokens 2 and 3 still answer.
  for (size_t i : {0, 1}) {
    CommandResult crash = c.Admin({"crash", "--node", c.node(i), "--token", "1"});
    ASSERT_EQ(crash.exit_code, 0) << crash.err;
  }
  CommandResult b = c.Admin({"--timeout", "1.5", "backup", "--out", backup});
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_NE(
      b.err.find("token-admin backup: 3 of 3 tokens done, 1 failed, " + backup + " not written\n"),
      std::string::npos)
      << b.err;
  EXPECT_NE(b.err.find("1 of 3 tokens could not be read; " + backup +
                       " was not written:\n"
                       "  token \"1\": DEADLINE_EXCEEDED"),
            std::string::npos)
      << b.err;
  EXPECT_EQ(testing::ReadFile(backup), "an older backup\n");  // left as it was
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find("tokens.jsonl.tmp"), std::string::npos)
        << "left behind: " << e.path();
  }
}

TEST(BackupRestore, RestoreChecksTheWholeFileFirstAndNamesEachLine) {
  TempDir dir("tokenstore-backup");
  const std::string path = dir.File("bad.jsonl");
  StatusOr<ClusterConfig> config = ParseClusterConfig(
      "- token: 1\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n"
      "- token: 2\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n",
      "two.yaml");
  ASSERT_TRUE(config.ok());
  const std::string undefined = R"("state":"undefined","ts":"0","name":null,"low":null,)"
                                R"("mid":null,"high":null,"partial":null,"partial_x":null,)"
                                R"("final":null,"final_x":null})";
  testing::WriteFile(path, R"({"id":"1",)" + undefined + "\n" +      //
                               "{not json\n" +                       //
                               R"({"id":"1",)" + undefined + "\n" +  //
                               R"({"id":"9",)" + undefined + "\n" +  //
                               R"({"id":"2",)" + undefined + "\n");
  StatusOr<std::vector<BackupRecord>> records = LoadBackupFile(path, *config);
  ASSERT_FALSE(records.ok());
  const std::string& m = records.status().message();
  EXPECT_EQ(m.rfind("3 problem(s) in " + path + ", nothing was restored:", 0), 0u) << m;
  EXPECT_NE(m.find("\n  " + path + ":2: not a backup line"), std::string::npos) << m;
  EXPECT_NE(m.find("\n  " + path + ":3: token \"1\" is listed twice (first at line 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("\n  " + path + ":4: token \"9\" is not in the replication scheme two.yaml"),
            std::string::npos)
      << m;
  EXPECT_EQ(LoadBackupFile(dir.File("missing.jsonl"), *config).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokenstore
