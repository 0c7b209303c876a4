// The token-replica processes of a fault run: started (each in its replica's network
// namespace when there is one), killed with SIGKILL, paused with SIGSTOP, continued, and
// stopped at the end. Every child gets PR_SET_PDEATHSIG(SIGKILL), so none outlives
// token-chaos, even when it is itself killed.
//
// Thread-safety: not thread-safe. The death signal fires when the *thread* that forked the
// child ends, so all calls must come from the one thread that lives for the whole run (the
// main thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_client.h"
#include "common/status.h"

namespace tokenstore::chaos {

struct ReplicaSpec {
  std::string address;     // "ip:port" as in the configuration
  std::string netns_path;  // empty: the current namespace
  std::string data_dir;
  std::string log_path;  // stdout and stderr, appended across restarts
};

class ReplicaSet {
 public:
  ReplicaSet(std::string binary, std::string config, std::vector<ReplicaSpec> specs,
             std::vector<std::string> extra_args);
  ~ReplicaSet() { StopAll(std::chrono::seconds(0)); }
  ReplicaSet(const ReplicaSet&) = delete;
  ReplicaSet& operator=(const ReplicaSet&) = delete;

  int size() const { return static_cast<int>(specs_.size()); }
  const ReplicaSpec& spec(int i) const { return specs_[i]; }

  Status Start(int i);
  void Kill(int i);  // SIGKILL and reap
  void Pause(int i);
  void Resume(int i);
  // Polls the admin API until the node answers, for at most `timeout`.
  bool WaitReady(int i, std::chrono::milliseconds timeout);
  // A replica that exited by itself since the last call, with its wait status.
  std::optional<std::pair<int, int>> ReapUnexpected();
  // SIGCONT + SIGTERM to all, SIGKILL to those still running after `grace`.
  void StopAll(std::chrono::milliseconds grace);

 private:
  const std::string binary_;
  const std::string config_;
  const std::vector<ReplicaSpec> specs_;
  const std::vector<std::string> extra_args_;
  std::vector<pid_t> pids_;  // -1: not running
  AdminClient probe_{AdminOptions{std::chrono::milliseconds(500)}};
};

}  // namespace tokenstore::chaos
