// The command line of token-client, parsed and validated without side effects, so that
// tests cover it and main() only runs what it returns.
//
//   token-client [--config FILE] [--node ADDR] [--json] [--timeout D] [--attempt-timeout D]
//                (write --token ID --name NAME --low L --mid M --high H | read --token ID |
//                 create --token ID | drop --token ID | batch [--parallel N])
// --id is an alias of --token (SPEC section 8 names --id; token-admin says --token).
// Global options may also follow the subcommand ("read --token 1 --node ADDR").
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "client/token_client.h"
#include "common/cli_exit.h"
#include "common/client_op.h"
#include "common/status.h"

namespace tokenstore {


struct ClientCommand {
  // --config; when absent main() looks further (config/config_location.h: TOKENSTORE_CONFIG,
  // ./cluster.yaml, /etc/tokenstore/cluster.yaml).
  std::optional<std::string> config_path;
  ClientOp op = ClientOp::kRead;
  std::string id;
  // write only
  std::string name;
  uint64_t low = 0;
  uint64_t mid = 0;
  uint64_t high = 0;
  bool json = false;
  // batch: operations from stdin (client/batch.h), `parallel` in flight at once, over the
  // session transport; `op` and the fields above are then unused.
  bool batch = false;
  int parallel = 16;
  ClientOptions options;  // timeouts and the pinned node (canonical form)
  TlsFiles tls;           // main() loads them into options.security
};

// When parsing ends the program, the result is a CliExit (common/cli.h): print `out` to
// stdout and `err` to stderr, exit with `code` (0 after --help, kExitUsage otherwise).

std::variant<ClientCommand, CliExit> ParseClientCommandLine(int argc, const char* const* argv);

// A whole number from 0 to 2^64 - 1 in plain decimal, strictly: CLI11 2.1 reads unsigned
// options with strtoull, which takes "-5" as 2^64-5 and clamps overflow, and a domain bound
// silently wrapped would hash the wrong range. INVALID_ARGUMENT naming `flag` otherwise.
// (token-client's --low/--mid/--high and batch's LOW/MID/HIGH.)
StatusOr<uint64_t> ParseUint64(std::string_view flag, std::string_view text);

// What token-client says when the library followed a token to a configuration newer than
// its file's (ClientOptions::on_config_change): "token-client: token T moved to epoch E
// (writer W, readers [R1, R2]); FILE is older: distribute the file token-admin reconfigure
// wrote".
std::string ConfigChangeNotice(const std::string& token, const ReplicaSet& newer,
                               const std::string& config_file);
// An on_config_change hook that passes ConfigChangeNotice to `print` once per token, whatever
// the number of threads and moves (batch mode runs many operations at once). Thread-safe.
std::function<void(const std::string& token, const ReplicaSet& newer)> ConfigChangeNotifier(
    std::string config_file, std::function<void(const std::string& line)> print);

// A --timeout style option, already parsed to seconds (common/cli.h DurationSeconds), as
// milliseconds. INVALID_ARGUMENT naming `flag` unless it is above 0 and at most a day (a typo like 1e9 would otherwise overflow gRPC's
// deadline arithmetic).
StatusOr<std::chrono::milliseconds> SecondsOption(std::string_view flag, double seconds);

}  // namespace tokenstore
