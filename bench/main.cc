// token-bench: see bench/bench_options.h for the command line and bench/load.h for what it
// measures.
#include <cstdio>
#include <iostream>

#include "bench/bench_options.h"
#include "bench/floor.h"
#include "bench/load.h"
#include "hash/token_hash.h"

using namespace tokenstore;
using namespace tokenstore::bench;

int main(int argc, char** argv) {
  BenchCommand cmd = ParseBenchCommandLine(argc, argv);
  if (auto* e = std::get_if<CliExit>(&cmd)) {
    std::cout << e->out;
    std::cerr << e->err;
    return e->code;
  }
  if (auto* h = std::get_if<HashOptions>(&cmd)) {
    for (const HashResult& r : RunHashBench(*h)) {
      if (h->json) {
        JsonObject j;
        j.Add("threads", static_cast<uint64_t>(r.threads));
        j.Add("seconds", r.seconds);
        j.Add("hashes", r.hashes);
        j.Add("hashes_per_s", r.hashes_per_s());
        j.Add("sha256", Sha256ImplementationName());
        std::cout << j.str() << "\n";
      } else {
        std::printf("hash engine (%s), %u thread(s): %.2f M hashes/s\n",
                    Sha256ImplementationName(), r.threads, r.hashes_per_s() / 1e6);
      }
    }
    return 0;
  }
  if (auto* f = std::get_if<FloorOptions>(&cmd)) {
    StatusOr<FloorResult> r = RunFloor(*f);
    if (!r.ok()) {
      std::cerr << "token-bench floor: " << r.status().ToString() << "\n";
      return 1;
    }
    std::cout << (f->json ? FloorResultJson(*r).str() + "\n" : FormatFloorResult(*r));
    return 0;
  }
  const LoadOptions& load = std::get<LoadOptions>(cmd);
  StatusOr<LoadResult> r = RunLoad(load);
  if (!r.ok()) {
    std::cerr << "token-bench: " << r.status().ToString() << "\n";
    return r.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (load.json) {
    std::cout << LoadResultJson(*r).str() << "\n";
  } else {
    std::cout << FormatLoadResult(*r);
  }
  // A run with errors is still a measurement (they are reported); none succeeding is not.
  return r->all.count() > 0 ? 0 : 1;
}
