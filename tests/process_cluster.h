// A cluster of real token-replica processes on 127.0.0.1 for whole-program tests, driven
// through token-client and token-admin as a user would. Nodes can be killed (SIGKILL),
// paused (SIGSTOP) and restarted; every process is killed when the test ends, also when it
// fails. Needs TOKENSTORE_BIN_DIR and TOKENSTORE_SOURCE_DIR defined for the test target.
//
// Thread-safety: none needed; a test drives its cluster from one thread.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_support.h"

namespace tokenstore::testing {

// Where the programs were built, and the source tree (for scripts/).
inline const std::string kBinDir = TOKENSTORE_BIN_DIR;
inline const std::string kSourceDir = TOKENSTORE_SOURCE_DIR;

class ProcessCluster : public ::testing::Test {
 protected:
  // The replication scheme for `nodes` (three access points) that every node and tool reads
  // unless told otherwise. Default: token 1 written by node 0, token 3 by node 2, each read
  // by all three.
  virtual std::string ClusterYaml(const std::vector<std::string>& n) const {
    return "- token: 1\n  writer: " + n[0] + "\n  readers: [" + n[0] + ", " + n[1] + ", " + n[2] +
           "]\n- token: 3\n  writer: " + n[2] + "\n  readers: [" + n[0] + ", " + n[1] + ", " +
           n[2] + "]\n";
  }

  // The nodes are started on loopback addresses the YAML names, on new ones (and a rewritten
  // YAML) when one was taken (StartOnLoopback in tests/test_support.h). Their restarts keep
  // the address: a data dir belongs to one.
  void SetUp() override {
    config_ = dir_.File("cluster.yaml");
    StartOnLoopback(
        3, [this](const std::vector<std::string>& n) { return StartAll(n); }, propose_);
  }

  // Flags added to node `i`'s command line (none by default).
  virtual std::vector<std::string> ExtraFlags(size_t /*i*/) const { return {}; }

  std::string DataDir(size_t i) { return dir_.File("data" + std::to_string(i)); }
  std::string Certs() { return dir_.File("certs"); }
  // What node `i` wrote to stderr (its log) so far, across its restarts.
  std::string Log(size_t i) { return ReadFile(dir_.File("err" + std::to_string(i))); }
  // The TLS flags for the certificate `name` (e.g. "client", "node-127-0-0-1-5000").
  std::vector<std::string> TlsFlags(const std::string& name) {
    if (!tls_) return {};
    return {"--tls-ca",  Certs() + "/ca.pem",          "--tls-cert", Certs() + "/" + name + ".pem",
            "--tls-key", Certs() + "/" + name + ".key"};
  }
  static std::string NodeCert(const std::string& node) {
    std::string name = "node-" + node;
    for (char& c : name) c = (c == '.' || c == ':') ? '-' : c;
    return name;
  }

  // Starts node `i` with its usual command line (the cluster's file, or `config`).
  void Start(size_t i) { Start(i, config_); }
  void Start(size_t i, const std::string& config) {
    if (procs_.size() <= i) procs_.resize(i + 1);
    std::vector<std::string> argv{kBinDir + "/token-replica",
                                  "--config",
                                  config,
                                  "--listen",
                                  nodes_[i],
                                  "--data-dir",
                                  DataDir(i)};
    for (const std::string& flag : TlsFlags(NodeCert(nodes_[i]))) argv.push_back(flag);
    for (const std::string& flag : ExtraFlags(i)) argv.push_back(flag);
    procs_[i] = std::make_unique<ChildProcess>(argv, dir_.File("out" + std::to_string(i)),
                                               dir_.File("err" + std::to_string(i)));
  }

  // SIGKILL, and waits (bounded) until node `i` is gone.
  void Kill(size_t i) {
    procs_[i]->Signal(SIGKILL);
    ASSERT_TRUE(procs_[i]->Wait(std::chrono::seconds(10)).has_value()) << nodes_[i];
  }
  // SIGSTOP / SIGCONT: node `i` keeps its sockets but answers nothing while paused.
  void Pause(size_t i) {
    ASSERT_TRUE(procs_[i]->Pause(std::chrono::seconds(10))) << nodes_[i] << " did not stop";
  }
  void Resume(size_t i) { procs_[i]->Resume(); }

  // Until the node serves (its dump says so: a new cluster's nodes serve once they all
  // answered each other, a restarted one once its peers confirmed its data dir), at most
  // 20 s; fails at once when it exited.
  void WaitReady(size_t i) {
    std::string why;
    const StartAttempt up = AwaitServing(
        {procs_[i].get()}, [&](size_t) { return Serving(i); }, std::chrono::seconds(20), &why);
    ASSERT_EQ(up, StartAttempt::kStarted)
        << nodes_[i] << " did not come up: " << why
        << (up == StartAttempt::kAddressInUse
                ? " (its address was taken while it was stopped; it cannot move: its data dir "
                  "belongs to that address)"
                : "")
        << "; its log:\n"
        << Log(i);
  }

  // The tools, with the client or admin certificate when the cluster runs TLS.
  CommandResult Client(std::vector<std::string> args, const std::string& cert = "client") {
    return ClientWithConfig(config_, std::move(args), cert);
  }
  // token-client reading `config` instead of the cluster's file.
  CommandResult ClientWithConfig(const std::string& config, std::vector<std::string> args,
                                 const std::string& cert = "client") {
    args.insert(args.begin(), {kBinDir + "/token-client", "--config", config});
    for (const std::string& flag : TlsFlags(cert)) args.push_back(flag);
    return RunCommand(args, std::chrono::seconds(60));
  }
  CommandResult Admin(std::vector<std::string> args, const std::string& cert = "admin") {
    args.insert(args.begin(), kBinDir + "/token-admin");
    for (const std::string& flag : TlsFlags(cert)) args.push_back(flag);
    return RunCommand(args, std::chrono::seconds(60));
  }

  static std::string JsonField(const std::string& json, const std::string& key) {
    std::smatch m;
    std::regex re("\"" + key + "\":(\"([^\"]*)\"|([0-9]+|null|true|false))");
    if (!std::regex_search(json, m, re)) return "<missing " + key + ">";
    return m[2].matched ? m[2].str() : m[3].str();
  }

  bool tls_ = false;
  // Replaces CandidateLoopbackAddresses (a test of the retry offers a taken port first).
  std::function<std::vector<std::string>(int n)> propose_;
  // How many start attempts found an address taken.
  int addresses_in_use_ = 0;
  TempDir dir_{"tokenstore-proc"};
  std::vector<std::string> nodes_;
  std::string config_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;

 private:
  bool Serving(size_t i) {
    return DumpSaysServing(kBinDir + "/token-admin", nodes_[i], TlsFlags("admin"));
  }

  // One attempt of StartOnLoopback: the YAML (and certificates) for `n`, then the nodes.
  StartAttempt StartAll(const std::vector<std::string>& n) {
    nodes_ = n;
    WriteFile(config_, ClusterYaml(nodes_));
    if (tls_) {
      std::vector<std::string> gen = {kSourceDir + "/scripts/gen-certs.sh", "--out", Certs(),
                                      "--config", config_};
      auto r = RunCommand(gen, std::chrono::seconds(60));
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      if (r.exit_code != 0) return StartAttempt::kFailed;
    }
    std::vector<ChildProcess*> started;
    for (size_t i = 0; i < 3; ++i) {
      Start(i);
      started.push_back(procs_[i].get());
    }
    std::string why;
    const StartAttempt up = AwaitServing(
        started, [this](size_t i) { return Serving(i); }, std::chrono::seconds(20), &why);
    if (up == StartAttempt::kAddressInUse) {
      ++addresses_in_use_;
      procs_.clear();  // kills the others
      for (size_t i = 0; i < 3; ++i) {
        for (const std::string& f : {DataDir(i), dir_.File("out" + std::to_string(i)),
                                     dir_.File("err" + std::to_string(i))}) {
          std::filesystem::remove_all(f);
        }
      }
    }
    EXPECT_NE(up, StartAttempt::kFailed) << why << "; logs:\n" << Log(0) << Log(1) << Log(2);
    return up;
  }
};

}  // namespace tokenstore::testing
