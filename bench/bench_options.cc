#include "bench/bench_options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <sstream>

#include "common/cli.h"

namespace tokenstore::bench {
namespace {

constexpr char kProgram[] = "token-bench";
constexpr char kHint[] =
    "Run `token-bench --help`, `token-bench hash --help` or `token-bench floor --help` for "
    "usage.";

CliExit UsageError(const std::string& message) { return CliUsageError(kProgram, kHint, message); }

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == ',') {
      parts.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

bool PositiveSeconds(double s) { return std::isfinite(s) && s > 0 && s <= 24 * 3600; }

}  // namespace

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kWrite:
      return "write";
    case Workload::kRead:
      return "read";
    case Workload::kMixed:
      return "mixed";
  }
  return "?";
}

BenchCommand ParseBenchCommandLine(int argc, const char* const* argv) {
  CLI::App app{
      "token-bench: closed-loop load against a running token store or etcd cluster; "
      "`token-bench hash` measures the hash engine alone, `token-bench floor` this machine's "
      "synced write and loopback gRPC round trips"};
  app.name("token-bench");
  app.require_subcommand(0, 1);
  AddVersionFlag(app, kProgram);

  LoadOptions load;
  std::string etcd;
  std::string workload = "mixed";
  CLI::Option* config_opt =
      app.add_option("--config", load.config_path, "token store: the cluster's YAML file");
  CLI::Option* etcd_opt = app.add_option(
      "--etcd", etcd, "etcd instead: comma-separated client endpoints host:port of its members");
  config_opt->excludes(etcd_opt);
  app.add_option("--clients", load.clients, "concurrent closed-loop clients (threads)")
      ->capture_default_str();
  app.add_option("--conns", load.conns,
                 "gRPC connections per node, shared round-robin by the clients; 0: one per "
                 "client")
      ->capture_default_str();
  std::string api = "unary";
  CLI::Option* api_opt =
      app.add_option("--api", api,
                     "token store: unary (one gRPC call per operation) or session (the client "
                     "library's session streams, one per node and connection)")
          ->capture_default_str();
  CLI::Option* duration_opt =
      app.add_option("--duration", load.duration_s,
                     "time measured (after the warm-up): a duration (500ms, 5s, 1m; a bare "
                     "number is seconds)")
          ->transform(DurationSeconds())
          ->type_name("DURATION")
          ->capture_default_str();
  CLI::Option* ops_opt =
      app.add_option("--ops", load.ops, "measure this many operations instead of a duration");
  duration_opt->excludes(ops_opt);
  app.add_option("--warmup", load.warmup_s, "load before measuring (a duration); 0: none")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--workload", workload, "write | read | mixed")->capture_default_str();
  CLI::Option* ratio_opt =
      app.add_option("--read-ratio", load.read_ratio, "fraction of reads in the mixed workload")
          ->capture_default_str();
  app.add_option("--tokens", load.tokens,
                 "use the first K tokens of the config (etcd: keys token/0..K-1); default: "
                 "all of the config, 16 for etcd");
  app.add_option("--cold-tokens", load.cold_tokens,
                 "reads only of the last C tokens, written once before the warm-up and never "
                 "since; writes only of the others. 0: every token read and written")
      ->capture_default_str();
  CLI::Option* zipf_opt =
      app.add_option("--zipf", load.zipf,
                     "choose tokens by a Zipfian law of this exponent (0 < THETA < 1, e.g. 0.99 "
                     "as YCSB; the hot tokens spread over the config) instead of uniformly");
  app.add_flag("--no-initial-writes{false}", load.initial_writes,
               "do not write every token once before the warm-up (the cluster is filled already)");
  app.add_option("--range", load.range, "high - low of each write")->capture_default_str();
  app.add_option("--timeout", load.timeout_s, "deadline of each operation (a duration)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--seed", load.seed, "seed of the random choices; 0: random");
  app.add_flag("--json", load.json, "print one JSON object with the results");

  HashOptions hash;
  std::string threads = "1";
  CLI::App* hash_cmd = app.add_subcommand("hash", "measure the hash engine (MinHash) alone");
  hash_cmd->add_option("--threads", threads, "thread counts to measure, e.g. 1,2")
      ->capture_default_str();
  hash_cmd->add_option("--seconds", hash.seconds, "time per thread count (a duration)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();
  hash_cmd->add_flag("--json", hash.json, "one JSON object per thread count");

  FloorOptions floor;
  CLI::App* floor_cmd = app.add_subcommand(
      "floor",
      "measure a synced RocksDB write and empty gRPC round trips on loopback, and the floor "
      "of a write and of a read they give");
  floor_cmd->add_option("--seconds", floor.seconds, "time measured per measure (a duration)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->capture_default_str();
  floor_cmd->add_flag("--json", floor.json, "print one JSON object with the results");

  if (std::optional<CliExit> exit = ParseCommandLine(app, argc, argv, kProgram, kHint)) {
    return *exit;
  }

  if (hash_cmd->parsed()) {
    hash.threads.clear();
    for (const std::string& part : SplitCommas(threads)) {
      unsigned n = 0;
      auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
      if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || n == 0 ||
          n > 1024) {
        return UsageError(
            "--threads must be a comma-separated list of counts from 1 to 1024 "
            "(got \"" +
            threads + "\")");
      }
      hash.threads.push_back(n);
    }
    if (!PositiveSeconds(hash.seconds)) return UsageError("--seconds must be above 0");
    return hash;
  }

  if (floor_cmd->parsed()) {
    if (!PositiveSeconds(floor.seconds) || floor.seconds > 600) {
      return UsageError("--seconds must be above 0 and at most 10m");
    }
    return floor;
  }

  if (load.config_path.empty() && etcd.empty()) {
    return UsageError(
        "give the cluster to load: --config FILE (token store) or --etcd "
        "ENDPOINTS");
  }
  if (!etcd.empty()) {
    for (const std::string& ep : SplitCommas(etcd)) {
      const auto colon = ep.rfind(':');
      if (ep.empty() || colon == std::string::npos || colon == 0 || colon + 1 == ep.size()) {
        return UsageError("--etcd endpoints must be host:port, comma-separated (got \"" + etcd +
                          "\")");
      }
      load.etcd_endpoints.push_back(ep);
    }
  }
  if (workload == "write") {
    load.workload = Workload::kWrite;
  } else if (workload == "read") {
    load.workload = Workload::kRead;
  } else if (workload == "mixed") {
    load.workload = Workload::kMixed;
  } else {
    return UsageError("--workload must be write, read or mixed (got \"" + workload + "\")");
  }
  if (ratio_opt->count() > 0 && load.workload != Workload::kMixed) {
    return UsageError("--read-ratio applies to --workload mixed only");
  }
  if (!(load.read_ratio >= 0 && load.read_ratio <= 1)) {
    return UsageError("--read-ratio must be between 0 and 1");
  }
  if (load.workload == Workload::kWrite) load.read_ratio = 0;
  if (load.workload == Workload::kRead) load.read_ratio = 1;
  if (load.clients < 1 || load.clients > 10000) {
    return UsageError("--clients must be from 1 to 10000");
  }
  if (load.conns < 0 || load.conns > 10000) return UsageError("--conns must be from 0 to 10000");
  if (api == "session") {
    load.api = LoadOptions::Api::kSession;
  } else if (api != "unary") {
    return UsageError("--api must be unary or session, not \"" + api + "\"");
  }
  if (api_opt->count() > 0 && !load.etcd_endpoints.empty()) {
    return UsageError("--api applies to the token store (--config) only");
  }
  if (ops_opt->count() == 0 && !PositiveSeconds(load.duration_s)) {
    return UsageError("--duration must be above 0");
  }
  if (ops_opt->count() > 0 && load.ops == 0) return UsageError("--ops must be above 0");
  if (!(std::isfinite(load.warmup_s) && load.warmup_s >= 0 && load.warmup_s <= 3600)) {
    return UsageError("--warmup must be from 0 to 1h");
  }
  if (load.range < 1) return UsageError("--range must be at least 1");
  if (!PositiveSeconds(load.timeout_s)) return UsageError("--timeout must be above 0");
  if (load.etcd() && load.tokens == 0) load.tokens = 16;
  if (zipf_opt->count() > 0 && !(load.zipf > 0 && load.zipf < 1)) {
    return UsageError("--zipf must be between 0 and 1 (exclusive), e.g. 0.99");
  }
  if (load.zipf > 0 && load.cold_tokens > 0) {
    return UsageError("--zipf and --cold-tokens do not go together");
  }
  if (load.cold_tokens > 0) {
    if (load.workload == Workload::kWrite) {
      return UsageError("--cold-tokens needs reads: --workload read or mixed");
    }
    if (load.workload == Workload::kMixed && load.tokens > 0 &&
        load.cold_tokens >= load.tokens) {
      return UsageError("--cold-tokens must leave at least one of the --tokens for the writes");
    }
    if (load.tokens > 0 && load.cold_tokens > load.tokens) {
      return UsageError("--cold-tokens must be at most --tokens");
    }
  }
  return load;
}

}  // namespace tokenstore::bench
