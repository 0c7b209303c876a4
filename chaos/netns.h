// The test's own little network: one Linux network namespace per replica, each with its own
// address (10.77.0.11, .12, ...) on a veth pair plugged into a bridge. token-chaos itself
// moves into a fresh, unnamed namespace first (EnterPrivateNamespace), so the bridge, the
// host ends of the veths and the 10.77.0.0/24 subnet exist only inside this run: parallel
// runs cannot collide and nothing is left behind in the machine's own namespace when the
// program dies. The replica namespaces are named `tchaos-<pid>-n<i>`; Cleanup() deletes them,
// and scripts/chaos.sh (or the next run, CleanupStale) deletes them after a SIGKILL.
//
// A partition cuts the link between two replicas in both of their namespaces: with iptables
// (DROP to and from the peer) when it is installed, otherwise with blackhole routes. Either
// way the packets vanish in the kernel; clients (in token-chaos's namespace) still reach
// every replica.
//
// Thread-safety: not thread-safe; token-chaos drives it from its main thread only.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace tokenstore::chaos {

// Runs a tool (argv[0] looked up in PATH) to completion; its exit code, or -1 when it could
// not run or died from a signal. Output goes to `output` when given, else is discarded.
int RunTool(const std::vector<std::string>& argv, std::string* output = nullptr);

// Whether namespaces can be used here: root, `ip` present, `ip netns add` works. When not,
// `why` says why, for the run's report.
bool NamespacesUsable(std::string* why);

// unshare(CLONE_NEWNET) of the calling process. Must run before any thread is started: a
// thread created earlier would stay in the old namespace.
Status EnterPrivateNamespace();

// Deletes `tchaos-<pid>-*` namespaces whose run (pid) is gone.
void CleanupStale();

class Network {
 public:
  enum class CutMethod { kIptables, kBlackholeRoute };

  Network() = default;
  ~Network() { Cleanup(); }
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Creates the bridge and `nodes` replica namespaces. On error, what was made is removed.
  Status Setup(int nodes);
  // Removes everything Setup made (idempotent). Cut rules disappear with the namespaces.
  void Cleanup();

  std::string Address(int i) const;        // "10.77.0.<11+i>"
  std::string NamespacePath(int i) const;  // "/run/netns/tchaos-<pid>-n<i>"
  CutMethod method() const { return method_; }
  const char* MethodName() const;

  // Cuts / restores the link between replicas a and b, in both directions.
  Status Cut(int a, int b);
  Status Restore(int a, int b);

 private:
  std::string NamespaceName(int i) const;
  Status CutRules(int a, int b, bool add);

  std::string run_id_;
  std::string bridge_;
  std::vector<std::string> namespaces_;  // created so far
  bool bridge_made_ = false;
  CutMethod method_ = CutMethod::kBlackholeRoute;
};

}  // namespace tokenstore::chaos
