// Network namespaces, veths, a bridge and link cuts for token-chaos (see netns.h).
#include "chaos/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tokenstore::chaos {
namespace {

constexpr const char* kSubnetPrefix = "10.77.0.";
constexpr const char* kNamespacePrefix = "tchaos-";

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

Status Must(const std::vector<std::string>& argv) {
  std::string out;
  const int rc = RunTool(argv, &out);
  if (rc == 0) return Status::Ok();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return Status::Internal("`" + Join(argv) + "` failed (exit " + std::to_string(rc) +
                          "): " + out);
}

}  // namespace

int RunTool(const std::vector<std::string>& argv, std::string* output) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec: the parent may have threads.
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && output != nullptr) output->append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool NamespacesUsable(std::string* why) {
  if (geteuid() != 0) {
    *why = "not running as root";
    return false;
  }
  if (RunTool({"ip", "-V"}) != 0) {
    *why = "`ip` (iproute2) is not installed";
    return false;
  }
  const std::string probe = std::string(kNamespacePrefix) + std::to_string(getpid()) + "-probe";
  std::string out;
  if (RunTool({"ip", "netns", "add", probe}, &out) != 0) {
    *why = "`ip netns add` failed: " + out;
    return false;
  }
  RunTool({"ip", "netns", "del", probe});
  return true;
}

Status EnterPrivateNamespace() {
  if (unshare(CLONE_NEWNET) != 0) {
    return Status::Internal(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
  }
  return Must({"ip", "link", "set", "lo", "up"});
}

void CleanupStale() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename();
    if (name.rfind(kNamespacePrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::strlen(kNamespacePrefix));
    const pid_t pid = static_cast<pid_t>(std::atol(rest.c_str()));
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno == EPERM) continue;  // that run is still going
    RunTool({"ip", "netns", "del", name});
  }
}

std::string Network::NamespaceName(int i) const {
  return kNamespacePrefix + run_id_ + "-n" + std::to_string(i + 1);
}

std::string Network::Address(int i) const { return kSubnetPrefix + std::to_string(11 + i); }

std::string Network::NamespacePath(int i) const { return "/run/netns/" + NamespaceName(i); }

const char* Network::MethodName() const {
  return method_ == CutMethod::kIptables ? "iptables DROP" : "blackhole routes";
}

Status Network::Setup(int nodes) {
  run_id_ = std::to_string(getpid());
  // Interface names are at most 15 bytes: "tcb" + pid fits.
  bridge_ = "tcb" + run_id_;
  Status st = [&]() -> Status {
    TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "link", "add", bridge_, "type", "bridge"}));
    bridge_made_ = true;
    TOKENSTORE_RETURN_IF_ERROR(
        Must({"ip", "addr", "add", std::string(kSubnetPrefix) + "1/24", "dev", bridge_}));
    TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "link", "set", bridge_, "up"}));
    for (int i = 0; i < nodes; ++i) {
      const std::string ns = NamespaceName(i);
      const std::string host_end = "tcv" + run_id_ + "-" + std::to_string(i + 1);
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "netns", "add", ns}));
      namespaces_.push_back(ns);
      TOKENSTORE_RETURN_IF_ERROR(Must(
          {"ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns}));
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "link", "set", host_end, "master", bridge_}));
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "link", "set", host_end, "up"}));
      TOKENSTORE_RETURN_IF_ERROR(
          Must({"ip", "-n", ns, "addr", "add", Address(i) + "/24", "dev", "eth0"}));
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "-n", ns, "link", "set", "eth0", "up"}));
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "-n", ns, "link", "set", "lo", "up"}));
    }
    // iptables only when it is installed and works in these namespaces; blackhole routes
    // need nothing beyond iproute2.
    method_ = RunTool({"ip", "netns", "exec", namespaces_.front(), "iptables", "-w", "-L", "-n"}) == 0
                  ? CutMethod::kIptables
                  : CutMethod::kBlackholeRoute;
    return Status::Ok();
  }();
  if (!st.ok()) Cleanup();
  return st;
}

void Network::Cleanup() {
  for (const auto& ns : namespaces_) RunTool({"ip", "netns", "del", ns});
  namespaces_.clear();
  if (bridge_made_) RunTool({"ip", "link", "del", bridge_});
  bridge_made_ = false;
}

Status Network::CutRules(int a, int b, bool add) {
  for (auto [self, peer] : {std::pair{a, b}, std::pair{b, a}}) {
    const std::string ns = NamespaceName(self);
    const std::string addr = Address(peer);
    if (method_ == CutMethod::kIptables) {
      const char* op = add ? "-A" : "-D";
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "netns", "exec", ns, "iptables", "-w", op, "INPUT",
                                       "-s", addr, "-j", "DROP"}));
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "netns", "exec", ns, "iptables", "-w", op, "OUTPUT",
                                       "-d", addr, "-j", "DROP"}));
    } else {
      TOKENSTORE_RETURN_IF_ERROR(Must({"ip", "-n", ns, "route", add ? "add" : "del", "blackhole",
                                       addr + "/32"}));
    }
  }
  return Status::Ok();
}

Status Network::Cut(int a, int b) { return CutRules(a, b, true); }
Status Network::Restore(int a, int b) { return CutRules(a, b, false); }

}  // namespace tokenstore::chaos
