// token-admin: fail-silent emulation and inspection of replicas (SPEC sections 6 to 8).
//
//   token-admin crash --node 127.0.0.1:50051 --token 1
//   token-admin revive --node 127.0.0.1:50051 --token 1
//   token-admin dump --node 127.0.0.1:50051          (live, streamed; progress on stderr)
//   token-admin dump --data-dir data/n1              (offline, replica stopped)
//   token-admin --config cluster.yaml backup --out tokens.jsonl
//   token-admin --config other.yaml restore --in tokens.jsonl [--force]
//   token-admin --config cluster.yaml reconfigure --to new.yaml [--dry-run] [--out FILE]
//
// Exit codes: client/README.md (client/exit_codes.h), shared with token-client.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "admin/admin_cli.h"
#include "admin/admin_client.h"
#include "admin/backup.h"
#include "admin/dump_output.h"
#include "admin/offline_dump.h"
#include "admin/reconfigure.h"
#include "admin/restore.h"
#include "client/exit_codes.h"
#include "common/json.h"
#include "config/cluster_config.h"
#include "config/config_cache.h"

using namespace tokenstore;

namespace {

int Fail(const Status& st, int code) {
  std::fprintf(stderr, "token-admin: %s\n", st.ToString().c_str());
  return code;
}

int RunCrashOrRevive(const AdminCommand& cmd) {
  AdminClient admin(cmd.options);
  const bool crash = cmd.op == AdminOp::kCrash;
  StatusOr<bool> was = crash ? admin.Crash(cmd.node, cmd.token) : admin.Revive(cmd.node, cmd.token);
  if (!was.ok()) return Fail(was.status(), ExitCodeFor(was.status()));
  if (cmd.json) {
    JsonObject o;
    o.Add("op", crash ? "crash" : "revive")
        .Add("node", cmd.node)
        .Add("token", cmd.token)
        .Add("was_crashed", *was)
        .Add("crashed", crash);
    std::printf("%s\n", o.str().c_str());
  } else if (crash) {
    std::printf("%s is crash-stopped for token %s%s\n", cmd.node.c_str(), cmd.token.c_str(),
                *was ? " (it already was)" : "");
  } else {
    std::printf("%s serves token %s again%s\n", cmd.node.c_str(), cmd.token.c_str(),
                *was ? "" : " (it was not crash-stopped)");
  }
  return kExitOk;
}

int RunOfflineDump(const AdminCommand& cmd) {
  StatusOr<NodeDump> dump = DumpDataDir(cmd.data_dir);
  if (!dump.ok()) return Fail(dump.status(), ExitCodeFor(dump.status()));
  DumpPrinter printer(stdout, cmd.json);
  Status st = printer.Begin(*dump);
  for (size_t i = 0; st.ok() && i < dump->entries.size(); ++i) st = printer.Add(dump->entries[i]);
  if (st.ok()) st = printer.Finish();
  return st.ok() ? kExitOk : Fail(st, kExitFailed);
}

// A live dump of any size: printed chunk by chunk as the node streams it, with progress
// lines on stderr ("token-admin dump: 10000 of 1000000 tokens").
int RunDump(const AdminCommand& cmd) {
  if (cmd.node.empty()) return RunOfflineDump(cmd);
  const size_t every = cmd.dump_progress_every.value_or(kDumpProgressEvery);
  const bool progress = cmd.dump_progress_every.has_value() || ::isatty(STDERR_FILENO) == 1;
  DumpPrinter printer(stdout, cmd.json);
  uint64_t total = 0;
  uint64_t done = 0;
  auto report = [&] {
    std::fprintf(stderr, "token-admin dump: %llu of %llu tokens\n",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
  };
  AdminClient admin(cmd.options);
  Status st = admin.DumpStream(
      cmd.node,
      [&](const NodeDump& header, uint64_t tokens) {
        total = tokens;
        return printer.Begin(header);
      },
      [&](std::vector<DumpEntry>& entries) {
        for (const DumpEntry& e : entries) {
          if (Status s = printer.Add(e); !s.ok()) return s;
          ++done;
          if (progress && every > 0 && done % every == 0 && done < total) report();
        }
        return Status::Ok();
      });
  if (!st.ok()) return Fail(st, ExitCodeFor(st));
  if (Status s = printer.Finish(); !s.ok()) return Fail(s, kExitFailed);
  if (progress) report();
  return kExitOk;
}

ClientOptions BulkClientOptions(const AdminCommand& cmd) {
  ClientOptions o;
  o.timeout = cmd.options.timeout;
  o.attempt_timeout = std::min(o.attempt_timeout, o.timeout);
  o.security = cmd.options.security;
  return o;
}

// Prints up to kListed lines of `lines` to stderr, then how many more there were.
void ListOnStderr(const std::vector<std::string>& lines) {
  constexpr size_t kListed = 50;
  for (size_t i = 0; i < lines.size() && i < kListed; ++i) {
    std::fprintf(stderr, "  %s\n", lines[i].c_str());
  }
  if (lines.size() > kListed) std::fprintf(stderr, "  ... and %zu more\n", lines.size() - kListed);
}

int RunBackup(const AdminCommand& cmd, const ClusterConfig& config) {
  TokenClient client(config, BulkClientOptions(cmd));
  StatusOr<BackupSummary> summary = BackupTokens(client, config, cmd.file, cmd.bulk);
  if (!summary.ok()) return Fail(summary.status(), kExitFailed);
  if (!summary->failures.empty()) {
    std::fprintf(stderr, "token-admin: %zu of %zu tokens could not be read; %s was not written:\n",
                 summary->failures.size(), summary->tokens, cmd.file.c_str());
    ListOnStderr(summary->failures);
    return kExitFailed;
  }
  return kExitOk;
}

int RunRestore(const AdminCommand& cmd, const ClusterConfig& config) {
  StatusOr<std::vector<BackupRecord>> records = LoadBackupFile(cmd.file, config);
  if (!records.ok()) {
    return Fail(records.status(),
                records.status().code() == StatusCode::kNotFound ? kExitNotFound : kExitUsage);
  }
  TokenClient client(config, BulkClientOptions(cmd));
  RestoreSummary summary = RestoreTokens(client, *records, cmd.file, cmd.force, cmd.bulk);
  if (!summary.failures.empty()) {
    std::fprintf(stderr, "token-admin: %zu of %zu tokens could not be restored:\n",
                 summary.failures.size(), summary.total);
    ListOnStderr(summary.failures);
    return kExitFailed;
  }
  return kExitOk;
}

// Prints the plan, moves the tokens, writes the applied file (docs/operations.md: changing
// a replica set online).
int RunReconfigure(const AdminCommand& cmd, const ClusterConfig& current) {
  StatusOr<ClusterConfig> next =
      LoadClusterConfigCached(cmd.to, ConfigCacheOptions{DefaultConfigCacheDir()});
  if (!next.ok()) return Fail(next.status().WithContext("--to"), kExitUsage);
  StatusOr<ReconfigPlan> plan = PlanReconfiguration(current, *next);
  if (!plan.ok()) return Fail(plan.status(), kExitUsage);
  std::fputs(FormatPlan(*plan, current, *next).c_str(), stdout);
  std::fflush(stdout);
  const std::string out = cmd.file.empty() ? DefaultAppliedPath(cmd.to) : cmd.file;
  StatusOr<std::string> applied = AppliedConfigYaml(
      current, *next,
      "Written by token-admin reconfigure: " + next->source + " as moved from " + current.source +
          "; each moved entry carries its new epoch.\nDistribute it to every node and client.");
  if (!applied.ok()) return Fail(applied.status(), kExitFailed);
  if (cmd.dry_run) {
    std::printf("dry run: no node was contacted; a run would write %s\n", out.c_str());
    return kExitOk;
  }
  ReconfigSummary summary;
  {
    GrpcReconfigNodes nodes(cmd.options);
    ReconfigRunOptions options;
    options.parallel = cmd.parallel;
    options.interactive = ::isatty(STDERR_FILENO) == 1;
    summary = RunReconfiguration(nodes, *plan, options);
  }
  for (const std::string& w : summary.warnings) {
    std::fprintf(stderr, "token-admin: warning: %s\n", w.c_str());
  }
  if (summary.failed > 0) {
    std::fprintf(stderr,
                 "token-admin: %llu of %llu tokens could not be moved (the others were); %s was "
                 "not written. Run the same command again to complete them:\n",
                 static_cast<unsigned long long>(summary.failed),
                 static_cast<unsigned long long>(summary.tokens), out.c_str());
    ListOnStderr(summary.failures);
    return summary.only_unreachable ? kExitUnreachable : kExitFailed;
  }
  if (Status st = WriteFileAtomically(out, *applied); !st.ok()) return Fail(st, kExitFailed);
  std::printf("wrote %s: distribute it to every node and client (it carries the new epochs)\n",
              out.c_str());
  return kExitOk;
}

int Run(int argc, char** argv) {
  std::variant<AdminCommand, CliExit> parsed = ParseAdminCommandLine(argc, argv);
  if (auto* exit = std::get_if<CliExit>(&parsed)) {
    std::fputs(exit->out.c_str(), stdout);
    std::fputs(exit->err.c_str(), stderr);
    return exit->code;
  }
  AdminCommand& cmd = std::get<AdminCommand>(parsed);
  std::optional<ClusterConfig> config;
  StatusOr<std::optional<ConfigLocation>> where =
      AdminConfigLocation(cmd, ConfigLookupFromEnvironment(std::nullopt));
  if (!where.ok()) return Fail(where.status(), kExitUsage);
  if (*where) {
    StatusOr<ClusterConfig> loaded =
        LoadClusterConfigCached((*where)->path, ConfigCacheOptions{DefaultConfigCacheDir()});
    if (!loaded.ok()) {
      return Fail((*where)->source == "--config"
                      ? loaded.status()
                      : loaded.status().WithContext("configuration " + Describe(**where)),
                  kExitUsage);
    }
    if (Status st = CheckAgainstConfig(cmd, *loaded); !st.ok()) return Fail(st, kExitUsage);
    config = std::move(loaded).value();
  }
  StatusOr<Security> security = Security::FromFiles(cmd.tls);
  if (!security.ok()) return Fail(security.status(), kExitUsage);
  cmd.options.security = *security;
  switch (cmd.op) {
    case AdminOp::kDump:
      return RunDump(cmd);
    case AdminOp::kBackup:
      return RunBackup(cmd, *config);  // the parser requires --config
    case AdminOp::kRestore:
      return RunRestore(cmd, *config);
    case AdminOp::kReconfigure:
      return RunReconfigure(cmd, *config);
    case AdminOp::kCrash:
    case AdminOp::kRevive:
      break;
  }
  return RunCrashOrRevive(cmd);
}

}  // namespace

int main(int argc, char** argv) {
  // The parsers catch their own exceptions; this is the last line of defence.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "token-admin: INTERNAL: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "token-admin: INTERNAL: unexpected exception\n");
  }
  return kExitFailed;
}
