#include "client/client_cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "client/exit_codes.h"
#include "common/cli.h"
#include "common/duration.h"
#include "config/cluster_config.h"
#include "proto/security_cli.h"

namespace tokenstore {
namespace {

constexpr char kProgram[] = "token-client";
constexpr char kHint[] = "Run `token-client --help` or `token-client SUBCOMMAND --help` for usage.";

CliExit UsageError(const std::string& message) { return CliUsageError(kProgram, kHint, message); }

}  // namespace

StatusOr<uint64_t> ParseUint64(std::string_view flag, std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument(std::string(flag) + " must be a whole number from 0 to " +
                                   std::to_string(UINT64_MAX) + " (got \"" + std::string(text) +
                                   "\")");
  }
  return value;
}

std::string ConfigChangeNotice(const std::string& token, const ReplicaSet& newer,
                               const std::string& config_file) {
  std::vector<std::string> readers = newer.readers;
  std::sort(readers.begin(), readers.end());
  std::string view = "writer " + newer.writer + ", readers [";
  for (size_t i = 0; i < readers.size(); ++i) view += (i ? ", " : "") + readers[i];
  view += "]";
  return std::string(kProgram) + ": token " + token + " moved to epoch " +
         std::to_string(newer.epoch) + " (" + view + "); " +
         (config_file.empty() ? std::string("the configuration file") : config_file) +
         " is older: distribute the file token-admin reconfigure wrote";
}

std::function<void(const std::string& token, const ReplicaSet& newer)> ConfigChangeNotifier(
    std::string config_file, std::function<void(const std::string& line)> print) {
  struct Reported {
    std::mutex mu;
    std::set<std::string> tokens;  // guarded by mu
  };
  auto reported = std::make_shared<Reported>();
  return [reported, config_file = std::move(config_file), print = std::move(print)](
             const std::string& token, const ReplicaSet& newer) {
    std::lock_guard<std::mutex> lock(reported->mu);  // also keeps lines whole
    if (!reported->tokens.insert(token).second) return;
    print(ConfigChangeNotice(token, newer, config_file));
  };
}

StatusOr<std::chrono::milliseconds> SecondsOption(std::string_view flag, double seconds) {
  constexpr double kMaxSeconds = 24 * 3600;
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxSeconds) {
    return Status::InvalidArgument(std::string(flag) +
                                   " must be a duration above 0 and at most 24h (got " +
                                   FormatDurationSeconds(seconds) + ")");
  }
  // Round up so that a tiny positive value never becomes a zero timeout.
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
}

std::variant<ClientCommand, CliExit> ParseClientCommandLine(int argc, const char* const* argv) {
  CLI::App app{"token-client: reads and writes tokens of the replicated token store"};
  app.name("token-client");
  // Lets global options follow the subcommand: `read --token 1 --node ADDR`.
  app.fallthrough();
  app.require_subcommand(1);
  AddVersionFlag(app, kProgram);

  ClientCommand cmd;
  std::string node;
  double timeout_s = 10;
  double attempt_timeout_s = 3;
  app.add_option("--config", cmd.config_path,
                 "replication scheme (YAML), as the servers use; default: $TOKENSTORE_CONFIG, "
                 "else ./cluster.yaml, else /etc/tokenstore/cluster.yaml");
  CLI::Option* node_opt =
      app.add_option("--node", node,
                     "send the operation to this node only (ip:port); default: the writer for "
                     "write/create/drop, a random reader for read");
  app.add_flag("--json", cmd.json, "print one JSON object per result");
  AddTlsOptions(app, cmd.tls);
  app.add_option("--timeout", timeout_s,
                 "bound on the whole operation: a duration (500ms, 5s, 1m; a bare number is "
                 "seconds)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--attempt-timeout", attempt_timeout_s,
                 "how long a read waits for one reader before it asks another (a duration)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();

  // --token, as token-admin says; --id, SPEC section 8's name, stays an alias.
  constexpr char kTokenFlag[] = "--token,--id";
  constexpr char kTokenHelp[] = "token id (--id is the same)";
  CLI::App* write = app.add_subcommand("write", "write a token at its writer; prints partial");
  write->add_option(kTokenFlag, cmd.id, kTokenHelp)->required();
  write->add_option("--name", cmd.name, "the token's name")->required();
  std::string low, mid, high;
  write->add_option("--low", low, "domain start (inclusive)")->required();
  write->add_option("--mid", mid, "end of the partial range (exclusive)")->required();
  write->add_option("--high", high, "domain end (exclusive)")->required();
  CLI::App* read =
      app.add_subcommand("read", "read a token at a reader (failing over to others); prints final");
  read->add_option(kTokenFlag, cmd.id, kTokenHelp)->required();
  CLI::App* create = app.add_subcommand("create", "reset a token to undefined");
  create->add_option(kTokenFlag, cmd.id, kTokenHelp)->required();
  CLI::App* drop =
      app.add_subcommand("drop", "write a tombstone: the token answers NOT_FOUND until create");
  drop->add_option(kTokenFlag, cmd.id, kTokenHelp)->required();
  CLI::App* batch = app.add_subcommand(
      "batch",
      "run operations from stdin, one per line (write ID NAME LOW MID HIGH | read ID | create "
      "ID | drop ID), many at once over one connection per node; one JSON line per result");
  batch->add_option("--parallel", cmd.parallel, "operations in flight at once (1: in input order)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();

  if (std::optional<CliExit> exit = ParseCommandLine(app, argc, argv, kProgram, kHint)) {
    return *exit;
  }

  if (write->parsed()) cmd.op = ClientOp::kWrite;
  if (read->parsed()) cmd.op = ClientOp::kRead;
  if (create->parsed()) cmd.op = ClientOp::kCreate;
  if (drop->parsed()) cmd.op = ClientOp::kDrop;
  if (batch->parsed()) {
    cmd.batch = true;
    cmd.json = true;
    cmd.options.transport = ClientOptions::Transport::kSession;
  }

  if (!cmd.batch && cmd.id.empty()) return UsageError("--token must not be empty");
  if (cmd.op == ClientOp::kWrite) {
    for (auto [flag, text, out] :
         {std::tuple{"--low", &low, &cmd.low}, std::tuple{"--mid", &mid, &cmd.mid},
          std::tuple{"--high", &high, &cmd.high}}) {
      StatusOr<uint64_t> v = ParseUint64(flag, *text);
      if (!v.ok()) return UsageError(v.status().message());
      *out = *v;
    }
  }
  StatusOr<std::chrono::milliseconds> timeout = SecondsOption("--timeout", timeout_s);
  if (!timeout.ok()) return UsageError(timeout.status().message());
  StatusOr<std::chrono::milliseconds> attempt =
      SecondsOption("--attempt-timeout", attempt_timeout_s);
  if (!attempt.ok()) return UsageError(attempt.status().message());
  cmd.options.timeout = *timeout;
  cmd.options.attempt_timeout = *attempt;
  if (node_opt->count() > 0) {
    StatusOr<std::string> canonical = ParseAccessPoint(node);
    if (!canonical.ok()) return UsageError("--node: " + canonical.status().message());
    cmd.options.node = *canonical;
  }
  return cmd;
}

}  // namespace tokenstore
