// The token-replica processes of a fault run: started (each in its replica's network
// namespace when there is one), killed with SIGKILL, paused with SIGSTOP, continued, and
// stopped at the end; their data directories wiped, copied and restored from that copy while
// they are stopped; their gRPC health (grpc.health.v1, service "") probed. Every child gets
// PR_SET_PDEATHSIG(SIGKILL), so none outlives token-chaos, even when it is itself killed.
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

#include "common/status.h"

namespace tokenstore::chaos {

// What a replica's gRPC health check answered.
enum class Health { kNoAnswer, kNotServing, kServing };

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
  // One health check of the server as a whole (service ""), over a fresh channel so that a
  // restarted node is seen at once (no reconnect backoff), bounded by `timeout`.
  Health CheckHealth(int i, std::chrono::milliseconds timeout) const;
  // Polls the health until it reports SERVING, every 10 ms, for at most `timeout`. False also
  // when the process is not running.
  bool WaitServing(int i, std::chrono::milliseconds timeout);

  // The data directory, for a stopped replica only (REQUIRES: !Running(i)). Each returns an
  // error naming the directory when the file system refuses.
  bool Running(int i) const { return pids_[i] > 0; }
  // Removes the data directory: the replica restarts on a missing one.
  Status WipeData(int i);
  // Copies the data directory to data_dir + ".copy", replacing the previous copy.
  Status CopyData(int i);
  bool HasCopy(int i) const;
  // Replaces the data directory by the copy (which is kept for later restores).
  Status RestoreData(int i);
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
};

}  // namespace tokenstore::chaos
