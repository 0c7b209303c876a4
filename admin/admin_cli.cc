#include "admin/admin_cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

#include "client/exit_codes.h"
#include "common/cli.h"
#include "proto/security_cli.h"

namespace tokenstore {
namespace {

constexpr char kProgram[] = "token-admin";
constexpr char kHint[] = "Run `token-admin --help` or `token-admin SUBCOMMAND --help` for usage.";

CliExit UsageError(const std::string& message) { return CliUsageError(kProgram, kHint, message); }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::variant<AdminCommand, CliExit> ParseAdminCommandLine(int argc, const char* const* argv) {
  CLI::App app{
      "token-admin: fail-silent emulation, inspection, backup, restore and online "
      "reconfiguration of token-replica nodes"};
  app.name("token-admin");
  app.fallthrough();
  app.require_subcommand(1);
  AddVersionFlag(app, kProgram);

  AdminCommand cmd;
  std::string config_path;
  double timeout_s = 5;
  CLI::Option* config_opt = app.add_option(
      "--config", config_path,
      "replication scheme (YAML): backup, restore and reconfigure (the current one) need one, crash, revive and dump --node "
      "check --node and --token against it; default: $TOKENSTORE_CONFIG, else ./cluster.yaml, "
      "else /etc/tokenstore/cluster.yaml (dump --data-dir: only --config)");
  app.add_flag("--json", cmd.json, "print one JSON object per line");
  AddTlsOptions(app, cmd.tls);
  app.add_option("--timeout", timeout_s,
                 "how long to wait for the node (backup, restore: for each token operation; "
                 "reconfigure: for each call to a node): a "
                 "duration (500ms, 5s, 1m; a bare number is seconds)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();

  std::string node;
  CLI::App* crash = app.add_subcommand(
      "crash", "make a node crash-stop (answer nothing) for one token; durable until revive");
  crash->add_option("--node", node, "the node (ip:port)")->required();
  // --token; --id, token-client's other name for it, is an alias.
  crash->add_option("--token,--id", cmd.token, "the token id (--id is the same)")->required();
  CLI::App* revive = app.add_subcommand("revive", "clear a node's crash-stop mark for a token");
  revive->add_option("--node", node, "the node (ip:port)")->required();
  revive->add_option("--token,--id", cmd.token, "the token id (--id is the same)")->required();
  CLI::App* dump = app.add_subcommand(
      "dump", "print a node's registers: live with --node, or offline with --data-dir");
  CLI::Option* dump_node = dump->add_option("--node", node, "a running node (ip:port)");
  CLI::Option* dump_dir =
      dump->add_option("--data-dir", cmd.data_dir, "a stopped node's --data-dir");
  dump_node->excludes(dump_dir);
  size_t dump_progress_every = 0;
  CLI::Option* dump_progress = dump->add_option(
      "--progress-every", dump_progress_every,
      "with --node: a progress line on stderr after every N tokens and at the end (0: only at "
      "the end); default: every " +
          std::to_string(kDumpProgressEvery) + " when stderr is a terminal, else none");
  dump_progress->excludes(dump_dir);

  CLI::App* backup = app.add_subcommand(
      "backup", "read every token of --config atomically into a JSON Lines file");
  backup->footer(
      "One line per token, in configuration order: id, state (defined | undefined | dropped), "
      "ts, name, low, mid, high, partial, partial_x, final, final_x; 64-bit integers are JSON "
      "strings, absent values null (a dropped token's ts too). Each token is read through one "
      "of its readers, with failover. The file is replaced (atomically) only when every token "
      "was read; otherwise it is left as it was and the exit code is 1, naming each token that "
      "failed.");
  backup->add_option("--out", cmd.file, "the file to write (FILE.jsonl)")->required();
  CLI::App* restore = app.add_subcommand(
      "restore", "write a backup's tokens back through their writers in the cluster of --config");
  restore->footer(
      "The whole file is checked first (every line, no id twice, every id in --config); "
      "nothing is written when a line is wrong. Then each token is read: only undefined ones "
      "are restored unless --force. defined: write(name, low, mid, high), and the recomputed "
      "partial must equal the backup's; dropped: drop; undefined: create. Timestamps are not "
      "restored: the target's writers issue new ones. This is the way to move tokens to "
      "another cluster or onto a changed replica set. Exit code 1 names each token that "
      "failed.");
  restore->add_option("--in", cmd.file, "the backup file to read (FILE.jsonl)")->required();
  restore->add_flag("--force", cmd.force, "also overwrite tokens that are defined or dropped");
  for (CLI::App* bulk : {backup, restore}) {
    bulk->add_option(
            "--concurrency", cmd.bulk.concurrency,
            "tokens read or written in parallel (1 to " + std::to_string(kMaxBulkConcurrency) + ")")
        ->capture_default_str();
    bulk->add_option("--progress-every", cmd.bulk.progress_every,
                     "a progress line on stderr after every N tokens (0: only at the end)")
        ->capture_default_str();
  }

  CLI::App* reconfigure = app.add_subcommand(
      "reconfigure",
      "move every token whose writer or replicas differ in --to to its new configuration, "
      "online (seal, transfer, activate)");
  reconfigure->footer(
      "--config is the file the cluster uses now. Prints the plan (per entry: the tokens, the "
      "old and new writer and readers and epochs, the replicas added and removed), then moves "
      "each changed token: seal on a majority of its old replicas, install the newest register "
      "on a majority of its new ones, activate on every node of both (a majority of the new "
      "ones must take it). Nodes that do not answer cost only their own answer; a node that "
      "missed the activation is named: run the same command again later. An interrupted run "
      "completes when run again. Tokens of --to that --config lacks are ignored; a token of "
      "--config that --to lacks is an error. When every token moved, writes --out: the new file "
      "with each moved entry's new epoch, to distribute to every node and client. Exit code 1 "
      "(4 when nodes were unreachable) names the tokens that failed.");
  reconfigure->add_option("--to", cmd.to, "the new replication scheme (YAML)")->required();
  reconfigure->add_flag("--dry-run", cmd.dry_run, "print the plan and contact no node");
  reconfigure->add_option("--out", cmd.file,
                          "where to write the applied file (default: NEW.applied.yaml beside "
                          "--to)");
  reconfigure
      ->add_option("--parallel", cmd.parallel,
                   "tokens moved in parallel (1 to " + std::to_string(kMaxReconfigParallel) + ")")
      ->capture_default_str();

  if (std::optional<CliExit> exit = ParseCommandLine(app, argc, argv, kProgram, kHint)) {
    return *exit;
  }

  if (crash->parsed()) cmd.op = AdminOp::kCrash;
  if (revive->parsed()) cmd.op = AdminOp::kRevive;
  if (dump->parsed()) {
    cmd.op = AdminOp::kDump;
    if (dump_node->count() == 0 && dump_dir->count() == 0) {
      return UsageError(
          "dump needs --node ADDR (a running node) or --data-dir DIR (a stopped one)");
    }
    if (dump_dir->count() > 0 && cmd.data_dir.empty()) {
      return UsageError("--data-dir must not be empty");
    }
    if (dump_progress->count() > 0) cmd.dump_progress_every = dump_progress_every;
  }
  if (backup->parsed() || restore->parsed()) {
    cmd.op = backup->parsed() ? AdminOp::kBackup : AdminOp::kRestore;
    if (cmd.file.empty()) return UsageError("the backup file name must not be empty");
    if (cmd.bulk.concurrency < 1 || cmd.bulk.concurrency > kMaxBulkConcurrency) {
      return UsageError("--concurrency must be 1 to " + std::to_string(kMaxBulkConcurrency) +
                        ", got " + std::to_string(cmd.bulk.concurrency));
    }
  }
  if (reconfigure->parsed()) {
    cmd.op = AdminOp::kReconfigure;
    if (cmd.to.empty()) return UsageError("--to must not be empty");
    if (cmd.parallel < 1 || cmd.parallel > kMaxReconfigParallel) {
      return UsageError("--parallel must be 1 to " + std::to_string(kMaxReconfigParallel) +
                        ", got " + std::to_string(cmd.parallel));
    }
    if (reconfigure->get_option("--out")->count() > 0 && cmd.file.empty()) {
      return UsageError("--out must not be empty");
    }
  }
  const bool has_node = cmd.op == AdminOp::kCrash || cmd.op == AdminOp::kRevive ||
                        (cmd.op == AdminOp::kDump && dump_node->count() > 0);
  if ((cmd.op == AdminOp::kCrash || cmd.op == AdminOp::kRevive) && cmd.token.empty()) {
    return UsageError("--token must not be empty");
  }
  if (has_node) {
    StatusOr<std::string> canonical = ParseAccessPoint(node);
    if (!canonical.ok()) return UsageError("--node: " + canonical.status().message());
    cmd.node = *canonical;
  }
  StatusOr<std::chrono::milliseconds> timeout = SecondsOption("--timeout", timeout_s);
  if (!timeout.ok()) return UsageError(timeout.status().message());
  cmd.options.timeout = *timeout;
  if (config_opt->count() > 0) cmd.config_path = config_path;
  return cmd;
}

StatusOr<std::optional<ConfigLocation>> AdminConfigLocation(const AdminCommand& cmd,
                                                            ConfigLookup lookup) {
  lookup.flag = cmd.config_path;
  const bool offline_dump = cmd.op == AdminOp::kDump && cmd.node.empty();
  if (offline_dump && !lookup.flag) return std::optional<ConfigLocation>();
  StatusOr<ConfigLocation> found = FindConfigFile(lookup);
  if (found.ok()) return std::optional<ConfigLocation>(*found);
  if (cmd.op == AdminOp::kBackup || cmd.op == AdminOp::kRestore ||
      cmd.op == AdminOp::kReconfigure) {
    return found.status().WithContext(
        std::string(cmd.op == AdminOp::kBackup    ? "backup"
                    : cmd.op == AdminOp::kRestore ? "restore"
                                                  : "reconfigure") +
        " needs the cluster's replication scheme");
  }
  return std::optional<ConfigLocation>();  // crash, revive, dump --node: nothing to check
}

Status CheckAgainstConfig(const AdminCommand& cmd, const ClusterConfig& config) {
  if (cmd.node.empty()) return Status::Ok();  // offline dump: no node to check
  const std::vector<std::string> nodes = config.Nodes();
  if (std::find(nodes.begin(), nodes.end(), cmd.node) == nodes.end()) {
    return Status::InvalidArgument(cmd.node + " is not a node of " + config.source +
                                   " (its nodes: " + Join(nodes) + ")");
  }
  if (cmd.op == AdminOp::kDump) return Status::Ok();
  // At most 10 ids named: a node may keep millions.
  std::vector<std::string> kept;
  config.ForEachOf(cmd.node, [&kept](const TokenReplication& t) {
    kept.push_back(t.id);
    return kept.size() < 10;
  });
  if (const uint64_t all = config.CountOf(cmd.node); all > kept.size()) {
    kept.push_back("... (" + std::to_string(all) + " in all)");
  }
  const std::optional<TokenReplication> token = config.Find(cmd.token);
  if (!token) {
    return Status::InvalidArgument("token \"" + cmd.token + "\" is not in " + config.source + "; " +
                                   cmd.node + " keeps tokens: " + Join(kept));
  }
  if (token->RoleOf(cmd.node) == Role::kNone) {
    return Status::InvalidArgument("token \"" + cmd.token + "\" is not kept by " + cmd.node +
                                   " (its replicas are " + Join(token->Replicas()) + "); " +
                                   cmd.node + " keeps tokens: " + Join(kept));
  }
  return Status::Ok();
}

}  // namespace tokenstore
