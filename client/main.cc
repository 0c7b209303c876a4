// token-client: the command-line client of the token store (SPEC section 8).
//
//   token-client --config cluster.yaml write --token 1 --name abc --low 5 --mid 25 --high 100
//   token-client --config cluster.yaml read --token 1
//   printf 'read 1\nread 2\n' | token-client --config cluster.yaml batch
//
// Exit codes: client/README.md (client/exit_codes.h).
#include <cstdio>
#include <exception>
#include <string>
#include <variant>

#include <iostream>

#include "client/batch.h"
#include "client/client_cli.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "client/token_client.h"
#include "config/cluster_config.h"
#include "config/config_cache.h"
#include "config/config_location.h"

using namespace tokenstore;

namespace {

int Fail(const Status& st, int code) {
  std::fprintf(stderr, "token-client: %s\n", st.ToString().c_str());
  return code;
}

int Run(int argc, char** argv) {
  std::variant<ClientCommand, CliExit> parsed = ParseClientCommandLine(argc, argv);
  if (auto* exit = std::get_if<CliExit>(&parsed)) {
    std::fputs(exit->out.c_str(), stdout);
    std::fputs(exit->err.c_str(), stderr);
    return exit->code;
  }
  ClientCommand& cmd = std::get<ClientCommand>(parsed);

  StatusOr<ConfigLocation> where = FindConfigFile(ConfigLookupFromEnvironment(cmd.config_path));
  if (!where.ok()) return Fail(where.status(), kExitUsage);
  StatusOr<ClusterConfig> config =
      LoadClusterConfigCached(where->path, ConfigCacheOptions{DefaultConfigCacheDir()});
  if (!config.ok()) {
    if (where->source == "--config") return Fail(config.status(), kExitUsage);
    return Fail(config.status().WithContext("configuration " + Describe(*where)), kExitUsage);
  }
  StatusOr<Security> security = Security::FromFiles(cmd.tls);
  if (!security.ok()) return Fail(security.status(), kExitUsage);
  cmd.options.security = *security;

  // A node may tell the client that a token moved to a newer configuration than the file's
  // (online reconfiguration): the client follows it, and says once per token that the file
  // is older, in batch mode too.
  cmd.options.on_config_change =
      ConfigChangeNotifier(where->path, [](const std::string& line) {
        std::fprintf(stderr, "%s\n", line.c_str());
      });
  TokenClient client(*config, cmd.options);
  if (cmd.batch) {
    const BatchCounts counts = RunBatch(client, std::cin, std::cout, cmd.parallel);
    std::fprintf(stderr, "token-client batch: %zu ok, %zu failed\n", counts.ok, counts.failed);
    return counts.failed == 0 ? kExitOk : kExitFailed;
  }
  std::string line;
  Status st;
  switch (cmd.op) {
    case ClientOp::kWrite: {
      auto r = client.Write(cmd.id, cmd.name, cmd.low, cmd.mid, cmd.high);
      if (r.ok()) line = FormatWrite(*r, cmd.json);
      st = r.status();
      break;
    }
    case ClientOp::kRead: {
      auto r = client.Read(cmd.id);
      if (r.ok()) line = FormatRead(*r, cmd.json);
      st = r.status();
      break;
    }
    case ClientOp::kCreate:
    case ClientOp::kDrop: {
      auto r = cmd.op == ClientOp::kCreate ? client.Create(cmd.id) : client.Drop(cmd.id);
      if (r.ok()) line = FormatAck(ClientOpName(cmd.op), *r, cmd.json);
      st = r.status();
      break;
    }
  }
  if (!st.ok()) return Fail(st, ExitCodeFor(st));
  std::printf("%s\n", line.c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // The parsers catch their own exceptions; this is the last line of defence (yaml-cpp,
  // CLI11 or allocation failures that escaped), so the user still gets a one-line message.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "token-client: INTERNAL: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "token-client: INTERNAL: unexpected exception\n");
  }
  return kExitFailed;
}
