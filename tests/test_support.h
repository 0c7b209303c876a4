// Support for whole-cluster tests: loopback addresses, temporary directories and child
// processes that can never outlive the test.
//
// Thread-safety: none needed; tests drive these from one thread. Each function blocks only
// as long as its comment says (a child's wait, a command, an HTTP answer, the start attempts).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tokenstore::testing {

// Ports are bound, never probed and handed on. A server that can be named after it binds
// (a fake, a metrics endpoint) binds "127.0.0.1:0" and reads its port back. A replica cannot:
// the cluster's YAML names every node and each replica finds itself in it, so the addresses
// are chosen first. A port checked free is no reservation (another test may bind it before
// the replica does), so the replicas are started on candidates, and when an address was
// taken (ReplicaServer::Start says ALREADY_EXISTS, token-replica exits
// kReplicaExitAddressInUse; never shared, port reuse is off everywhere), everything is
// stopped and started again on new candidates with a rewritten YAML.

// What one attempt of StartOnLoopback came to.
enum class StartAttempt {
  kStarted,       // every server bound its address and started
  kAddressInUse,  // an address was taken; the attempt stopped whatever it had started
  kFailed,        // another failure, already reported to the test: no retry
};

// At most this many attempts (each on new candidates) before StartOnLoopback gives up.
inline constexpr int kStartAttempts = 5;

// `n` distinct candidate addresses "127.0.0.1:PORT", each free when checked (a bind with
// SO_REUSEADDR, as gRPC and civetweb bind; released at once). The ports are drawn at random
// below the kernel's ephemeral range (net.ipv4.ip_local_port_range), which it never hands out
// for port 0 nor for outgoing connections: a port stays free across a server's restart unless
// another test draws that very port (then the restart fails loudly, it never shares it).
// Falls back to ports the kernel picks when there is no room below the range.
std::vector<std::string> CandidateLoopbackAddresses(int n);

// Calls `attempt` with `n` candidate addresses until it returns kStarted or kFailed, at most
// kStartAttempts times, each time with new ones; returns the addresses of the last attempt.
// Throws std::runtime_error naming every address tried when each attempt found one taken.
// `propose` replaces CandidateLoopbackAddresses (a test of the retry offers a taken port
// first). Blocks as long as the attempts do.
std::vector<std::string> StartOnLoopback(
    int n, const std::function<StartAttempt(const std::vector<std::string>&)>& attempt,
    const std::function<std::vector<std::string>(int n)>& propose = {});

// A socket on 127.0.0.1, on a port the kernel picked, held while this object lives.
class HeldLoopbackPort {
 public:
  enum class Mode {
    // Bound, never listening, without SO_REUSEADDR or SO_REUSEPORT: a client sent there is
    // refused, never answered by another test's server, since no other socket can bind it.
    kRefusing,
    // Listening with SO_REUSEADDR and SO_REUSEPORT, as a gRPC server with default arguments
    // listens (another socket with SO_REUSEPORT of the same user could listen there too and
    // share its connections): a port taken between its choice and a server's bind.
    kListeningWithReusePort,
  };
  explicit HeldLoopbackPort(Mode mode);  // throws std::runtime_error when it cannot
  ~HeldLoopbackPort();
  HeldLoopbackPort(const HeldLoopbackPort&) = delete;
  HeldLoopbackPort& operator=(const HeldLoopbackPort&) = delete;
  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"

 private:
  int fd_ = -1;
  std::string address_;
};

// A directory under /tmp removed with everything in it when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tokenstore-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text);
std::string ReadFile(const std::string& path);

// A child process running `argv`, stdout and stderr sent to files. It gets SIGKILL when the
// test process dies, and the destructor kills it if it still runs.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::string& stdout_path,
               const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_status_; }
  void Signal(int sig);
  // SIGSTOP, then waits (bounded) until the kernel reports the process stopped, so a test
  // knows it answers nothing from here on. False when it did not stop within `timeout`.
  bool Pause(std::chrono::milliseconds timeout);
  void Resume();  // SIGCONT
  // Waits for the exit for at most `timeout`; the wait status (see waitpid), or nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Polls (every 100 ms, at most `timeout`) until `serving(i)` holds for every i of `procs`,
// the token-replica processes of one start attempt. kAddressInUse as soon as one exited with
// kReplicaExitAddressInUse; kFailed when one exited otherwise or not all served in time,
// with `*why` saying which; the processes are left as they are. `serving(i)` is one bounded
// check (e.g. `token-admin dump` saying "serving").
StartAttempt AwaitServing(const std::vector<ChildProcess*>& procs,
                          const std::function<bool(size_t i)>& serving,
                          std::chrono::milliseconds timeout, std::string* why);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `argv` to completion (killed after `timeout`) and returns its exit code and output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// One `token-admin dump --node NODE --timeout 0.5` (`admin_bin`, with `flags` such as the TLS
// ones): whether it says the node serves. Blocks at most about 0.5 s (10 s if the tool hangs).
bool DumpSaysServing(const std::string& admin_bin, const std::string& node,
                     const std::vector<std::string>& flags = {});

struct HttpResponse {
  int status = 0;    // e.g. 200
  std::string body;  // after the headers
};
// GET http://<host_port><path> over a plain socket, HTTP/1.0 (the server closes after the
// answer). nullopt when there is no connection or no complete answer within `timeout`.
std::optional<HttpResponse> HttpGet(const std::string& host_port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The value of the sample `series` (name and labels exactly as in the exposition text, e.g.
// `tokenstore_operations_total{op="write",code="OK"}`) in Prometheus text `text`; nullopt
// when it is not there.
std::optional<double> MetricValue(const std::string& text, const std::string& series);

}  // namespace tokenstore::testing
