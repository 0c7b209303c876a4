// The command line of token-admin, parsed and validated without side effects, so that
// tests cover it and main() only runs what it returns.
//
//   token-admin [--config FILE] [--json] [--timeout S]
//               (crash --node ADDR --token ID | revive --node ADDR --token ID |
//                dump --node ADDR [--progress-every N] | dump --data-dir DIR |
//                backup --out FILE.jsonl [--concurrency N] [--progress-every N] |
//                restore --in FILE.jsonl [--force] [--concurrency N] [--progress-every N] |
//                reconfigure --to NEW.yaml [--dry-run] [--out FILE] [--parallel N])
// backup, restore and reconfigure need a configuration: --config, TOKENSTORE_CONFIG or a default path
// (AdminConfigLocation).
// Global options may also follow the subcommand.
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "admin/admin_client.h"
#include "admin/bulk.h"
#include "admin/reconfigure.h"
#include "client/client_cli.h"  // CliExit
#include "common/status.h"
#include "config/cluster_config.h"
#include "config/config_location.h"

namespace tokenstore {

inline constexpr size_t kDumpProgressEvery = 10'000;

enum class AdminOp { kCrash, kRevive, kDump, kBackup, kRestore, kReconfigure };

struct AdminCommand {
  AdminOp op = AdminOp::kDump;
  std::string node;      // canonical access point; empty for an offline dump
  std::string token;     // crash and revive
  std::string data_dir;  // offline dump
  std::string file;      // backup: --out; restore: --in; reconfigure: --out (empty: default)
  std::string to;        // reconfigure: --to, the new file
  bool dry_run = false;  // reconfigure: print the plan only
  int parallel = kDefaultReconfigParallel;  // reconfigure: tokens in flight
  bool force = false;    // restore: also tokens that are not undefined
  BulkOptions bulk;      // backup and restore
  // dump --node: a progress line on stderr after every N tokens and at the end (0: only at
  // the end). Unset: every kDumpProgressEvery when stderr is a terminal, else none.
  std::optional<size_t> dump_progress_every;
  std::optional<std::string> config_path;  // --config (AdminConfigLocation looks further)
  bool json = false;
  AdminOptions options;
  TlsFiles tls;  // main() loads them into options.security
};

std::variant<AdminCommand, CliExit> ParseAdminCommandLine(int argc, const char* const* argv);

// The configuration file `cmd` uses, found through `lookup` (config/config_location.h) with
// cmd.config_path as its --config: backup, restore and reconfigure need one (INVALID_ARGUMENT saying
// where it looked otherwise); crash, revive and dump --node use one when found; dump
// --data-dir only an explicit --config. nullopt: none.
StatusOr<std::optional<ConfigLocation>> AdminConfigLocation(const AdminCommand& cmd,
                                                            ConfigLookup lookup);

// With a configuration: --node must be one of its nodes and, for crash and revive, the token
// must be one that node keeps. INVALID_ARGUMENT naming the node's tokens otherwise, because
// crash-stopping a node for a token it does not keep would silently do nothing useful.
Status CheckAgainstConfig(const AdminCommand& cmd, const ClusterConfig& config);

}  // namespace tokenstore
