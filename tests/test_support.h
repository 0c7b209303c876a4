// Support for whole-cluster tests: loopback ports, temporary directories and child
// processes that can never outlive the test.
//
// Thread-safety: none needed; tests drive these from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tokenstore::testing {

// `n` distinct free TCP ports' access points on 127.0.0.1 ("127.0.0.1:PORT"). The ports are
// free when returned; tests start servers on them right away.
std::vector<std::string> FreeLoopbackAddresses(int n);

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

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `argv` to completion (killed after `timeout`) and returns its exit code and output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

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
