#include "tests/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "replica/exit_codes.h"

namespace tokenstore::testing {

namespace {

// The errno of binding 127.0.0.1:`port` the way gRPC and civetweb bind (SO_REUSEADDR); 0 when
// it binds. The socket is closed at once: this says nothing about later.
int LoopbackBindErrno(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const int error = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
  close(fd);
  return error;
}

// The first port of the kernel's ephemeral range; 0 when it cannot be read.
int EphemeralLow() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  return (f >> low >> high) ? low : 0;
}

// A socket bound to 127.0.0.1 on a port the kernel picks, and that port. With `reuse`,
// SO_REUSEADDR and SO_REUSEPORT are set first; without, nothing else can bind the port.
std::pair<int, uint16_t> BindKernelPickedPort(bool reuse = false) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0 && reuse) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    throw std::runtime_error(std::string("cannot bind a loopback port: ") + std::strerror(error));
  }
  return {fd, ntohs(addr.sin_port)};
}

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

std::vector<std::string> CandidateLoopbackAddresses(int n) {
  constexpr int kLowest = 10000;  // well clear of the ports system services use
  const int below = EphemeralLow();
  std::vector<std::string> out;
  if (below - kLowest < 1000) {
    // No room below the range: ports the kernel picks, held until all are picked (distinct).
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
      auto [fd, port] = BindKernelPickedPort();
      fds.push_back(fd);
      out.push_back(Loopback(port));
    }
    for (int fd : fds) close(fd);
    return out;
  }
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<int> pick(kLowest, below - 1);
  for (int tries = 0; static_cast<int>(out.size()) < n; ++tries) {
    if (tries == 1000) throw std::runtime_error("no free loopback port below the ephemeral range");
    const auto port = static_cast<uint16_t>(pick(random));
    const std::string address = Loopback(port);
    if (std::find(out.begin(), out.end(), address) == out.end() && LoopbackBindErrno(port) == 0) {
      out.push_back(address);
    }
  }
  return out;
}

std::vector<std::string> StartOnLoopback(
    int n, const std::function<StartAttempt(const std::vector<std::string>&)>& attempt,
    const std::function<std::vector<std::string>(int n)>& propose) {
  std::string tried;
  for (int i = 0; i < kStartAttempts; ++i) {
    const std::vector<std::string> addresses = propose ? propose(n) : CandidateLoopbackAddresses(n);
    if (static_cast<int>(addresses.size()) != n) {
      throw std::runtime_error("StartOnLoopback: asked for " + std::to_string(n) +
                               " addresses, got " + std::to_string(addresses.size()));
    }
    if (attempt(addresses) != StartAttempt::kAddressInUse) return addresses;
    std::string these;
    for (const std::string& a : addresses) these += (these.empty() ? "" : ", ") + a;
    std::fprintf(stderr, "StartOnLoopback: attempt %d of %d: one of %s was taken; %s\n", i + 1,
                 kStartAttempts, these.c_str(),
                 i + 1 < kStartAttempts ? "again on new addresses" : "giving up");
    tried += (tried.empty() ? "" : "; ") + these;
  }
  throw std::runtime_error(
      "servers could not start on loopback: in each of " + std::to_string(kStartAttempts) +
      " attempts another process held one of the addresses (tried " + tried + ")");
}

HeldLoopbackPort::HeldLoopbackPort(Mode mode) {
  const bool listening = mode == Mode::kListeningWithReusePort;
  const auto [fd, port] = BindKernelPickedPort(/*reuse=*/listening);
  if (listening && listen(fd, 16) != 0) {
    const int error = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot listen on a loopback port: ") +
                             std::strerror(error));
  }
  fd_ = fd;
  address_ = Loopback(port);
}

HeldLoopbackPort::~HeldLoopbackPort() { close(fd_); }

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& stdout_path,
                           const std::string& stderr_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Never outlive the test, whatever happens to it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

void ChildProcess::Signal(int sig) {
  if (running()) kill(pid_, sig);
}

bool ChildProcess::Pause(std::chrono::milliseconds timeout) {
  if (!running()) return false;
  kill(pid_, SIGSTOP);
  const auto until = std::chrono::steady_clock::now() + timeout;
  const std::string stat_path = "/proc/" + std::to_string(pid_) + "/stat";
  for (;;) {
    // The state is the field after the parenthesised command name: 'T' when stopped.
    const std::string stat = ReadFile(stat_path);
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T') {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ChildProcess::Resume() {
  if (running()) kill(pid_, SIGCONT);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = status;
      return status;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StartAttempt AwaitServing(const std::vector<ChildProcess*>& procs,
                          const std::function<bool(size_t i)>& serving,
                          std::chrono::milliseconds timeout, std::string* why) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::vector<bool> up(procs.size(), false);
  for (;;) {
    size_t serving_now = 0;
    for (size_t i = 0; i < procs.size(); ++i) {
      if (std::optional<int> status = procs[i]->Wait(std::chrono::milliseconds(0))) {
        const bool in_use = WIFEXITED(*status) && WEXITSTATUS(*status) == kReplicaExitAddressInUse;
        *why = "process " + std::to_string(i) + " (pid " + std::to_string(procs[i]->pid()) +
               ") exited: " +
               (WIFEXITED(*status) ? "exit code " + std::to_string(WEXITSTATUS(*status))
                                   : "signal " + std::to_string(WTERMSIG(*status)));
        return in_use ? StartAttempt::kAddressInUse : StartAttempt::kFailed;
      }
      if (!up[i]) up[i] = serving(i);
      serving_now += up[i] ? 1 : 0;
    }
    if (serving_now == procs.size()) return StartAttempt::kStarted;
    if (std::chrono::steady_clock::now() >= until) {
      *why = std::to_string(procs.size() - serving_now) + " of " + std::to_string(procs.size()) +
             " processes did not serve within " + std::to_string(timeout.count()) + " ms";
      return StartAttempt::kFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout) {
  TempDir dir("tokenstore-cmd");
  const std::string out = dir.File("out"), err = dir.File("err");
  CommandResult result;
  {
    ChildProcess child(argv, out, err);
    std::optional<int> status = child.Wait(timeout);
    if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  }
  result.out = ReadFile(out);
  result.err = ReadFile(err);
  return result;
}

bool DumpSaysServing(const std::string& admin_bin, const std::string& node,
                     const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {admin_bin, "dump", "--node", node, "--timeout", "0.5"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const CommandResult r = RunCommand(argv, std::chrono::seconds(10));
  return r.exit_code == 0 && r.out.find(" (serving;") != std::string::npos;
}

std::optional<HttpResponse> HttpGet(const std::string& host_port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return std::nullopt;
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string raw;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
      if (n < 0) raw.clear();  // timed out: no complete answer
    }
  }
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  int status = 0;
  if (header_end == std::string::npos || std::sscanf(raw.c_str(), "HTTP/%*s %d", &status) != 1) {
    return std::nullopt;
  }
  return HttpResponse{status, raw.substr(header_end + 4)};
}

std::optional<double> MetricValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace tokenstore::testing
