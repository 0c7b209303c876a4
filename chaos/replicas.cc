// token-replica child processes for token-chaos (see replicas.h).
#include "chaos/replicas.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "proto/channel.h"
#include "tests/health_probe.h"

namespace tokenstore::chaos {

ReplicaSet::ReplicaSet(std::string binary, std::string config, std::vector<ReplicaSpec> specs,
                       std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      config_(std::move(config)),
      specs_(std::move(specs)),
      extra_args_(std::move(extra_args)),
      pids_(specs_.size(), -1) {}

Status ReplicaSet::Start(int i) {
  const ReplicaSpec& s = specs_[i];
  std::vector<std::string> argv = {binary_,      "--config",   config_, "--listen",
                                   s.address,    "--data-dir", s.data_dir, "--no-op-log"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  // Everything the child needs is opened before fork: after it, only async-signal-safe calls.
  const int log_fd = open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::Internal("cannot open " + s.log_path + ": " + std::strerror(errno));
  }
  int ns_fd = -1;
  if (!s.netns_path.empty()) {
    ns_fd = open(s.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      close(log_fd);
      return Status::Internal("cannot open " + s.netns_path + ": " + std::strerror(errno));
    }
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    if (ns_fd >= 0) close(ns_fd);
    return Status::Internal(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // token-chaos died before prctl took effect
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) _exit(125);
    // A replica that token-chaos pauses must not take the terminal's Ctrl-C with it.
    setpgid(0, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  if (ns_fd >= 0) close(ns_fd);
  pids_[i] = pid;
  return Status::Ok();
}

void ReplicaSet::Kill(int i) {
  if (pids_[i] <= 0) return;
  kill(pids_[i], SIGKILL);
  while (waitpid(pids_[i], nullptr, 0) < 0 && errno == EINTR) {
  }
  pids_[i] = -1;
}

void ReplicaSet::Pause(int i) {
  if (pids_[i] > 0) kill(pids_[i], SIGSTOP);
}

void ReplicaSet::Resume(int i) {
  if (pids_[i] > 0) kill(pids_[i], SIGCONT);
}

Health ReplicaSet::CheckHealth(int i, std::chrono::milliseconds timeout) const {
  // tests/health_probe.h: grpc.health.v1 by method path, as tests/ops_test.cc checks it.
  auto channel = grpc::CreateCustomChannel(specs_[i].address, grpc::InsecureChannelCredentials(),
                                           StandardChannelArguments());
  const testing::HealthAnswer a = testing::CheckHealth(channel, "", timeout);
  if (!a.call.ok()) return Health::kNoAnswer;
  return a.serving == testing::probe::HealthCheckResponse::SERVING ? Health::kServing
                                                                   : Health::kNotServing;
}

bool ReplicaSet::WaitServing(int i, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pids_[i] <= 0) return false;
    if (CheckHealth(i, std::chrono::milliseconds(500)) == Health::kServing) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

namespace {

std::string CopyPath(const ReplicaSpec& s) { return s.data_dir + ".copy"; }

Status FsError(const std::string& what, const std::error_code& ec) {
  return Status::Internal(what + ": " + ec.message());
}

}  // namespace

Status ReplicaSet::WipeData(int i) {
  assert(!Running(i));
  std::error_code ec;
  std::filesystem::remove_all(specs_[i].data_dir, ec);
  if (ec) return FsError("removing " + specs_[i].data_dir, ec);
  assert(!std::filesystem::exists(specs_[i].data_dir));
  return Status::Ok();
}

Status ReplicaSet::CopyData(int i) {
  assert(!Running(i));
  const std::string copy = CopyPath(specs_[i]);
  std::error_code ec;
  std::filesystem::remove_all(copy, ec);
  if (ec) return FsError("removing the old copy " + copy, ec);
  std::filesystem::copy(specs_[i].data_dir, copy, std::filesystem::copy_options::recursive, ec);
  if (ec) return FsError("copying " + specs_[i].data_dir + " to " + copy, ec);
  return Status::Ok();
}

bool ReplicaSet::HasCopy(int i) const {
  std::error_code ec;
  return std::filesystem::is_directory(CopyPath(specs_[i]), ec);
}

Status ReplicaSet::RestoreData(int i) {
  assert(!Running(i));
  if (!HasCopy(i)) return Status::Internal("no copy of " + specs_[i].data_dir + " to restore");
  TOKENSTORE_RETURN_IF_ERROR(WipeData(i));
  std::error_code ec;
  std::filesystem::copy(CopyPath(specs_[i]), specs_[i].data_dir,
                        std::filesystem::copy_options::recursive, ec);
  if (ec) return FsError("copying " + CopyPath(specs_[i]) + " to " + specs_[i].data_dir, ec);
  return Status::Ok();
}

std::optional<std::pair<int, int>> ReplicaSet::ReapUnexpected() {
  for (int i = 0; i < size(); ++i) {
    if (pids_[i] <= 0) continue;
    int status = 0;
    if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
      pids_[i] = -1;
      return std::pair{i, status};
    }
  }
  return std::nullopt;
}

void ReplicaSet::StopAll(std::chrono::milliseconds grace) {
  for (pid_t pid : pids_) {
    if (pid <= 0) continue;
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
  }
  const auto until = std::chrono::steady_clock::now() + grace;
  for (int i = 0; i < size(); ++i) {
    while (pids_[i] > 0) {
      if (waitpid(pids_[i], nullptr, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
      } else if (std::chrono::steady_clock::now() >= until) {
        Kill(i);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
}

}  // namespace tokenstore::chaos
