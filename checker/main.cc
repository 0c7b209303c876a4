// token-check: decides whether a fault test's history (SPEC section 9) is atomic.
//
//   token-check HISTORY.jsonl [--json] [--max-steps N]
//
// Prints, per token, the operations checked and the verdict; on a violation, the evidence
// and why no order works. Exit codes: 0 linearizable, 1 violation, 2 bad input or usage,
// 3 unknown (a token's search exceeded its budget and no token was a violation).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "checker/history.h"
#include "checker/linearizability.h"
#include "common/cli.h"
#include "common/json.h"

using namespace tokenstore;
using namespace tokenstore::checker;

namespace {

constexpr int kExitLinearizable = 0;
constexpr int kExitViolation = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitUnknown = 3;

const char* VerdictWord(const TokenVerdict& v) {
  if (v.unknown) return "unknown";
  return v.linearizable ? "linearizable" : "violation";
}

void PrintText(const Verdict& verdict) {
  for (const TokenVerdict& t : verdict.tokens) {
    std::printf("token %s: %zu operations: %s\n", t.token.c_str(), t.operations,
                t.unknown ? "UNKNOWN" : t.linearizable ? "linearizable" : "NOT LINEARIZABLE");
    if (t.explanation.empty()) continue;
    size_t start = 0;
    while (start <= t.explanation.size()) {
      const size_t end = t.explanation.find('\n', start);
      const std::string line = t.explanation.substr(start, end - start);
      std::printf("  %s\n", line.c_str());
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  const char* summary = verdict.linearizable ? "linearizable"
                        : verdict.unknown && std::none_of(verdict.tokens.begin(),
                                                          verdict.tokens.end(),
                                                          [](const TokenVerdict& t) {
                                                            return !t.linearizable && !t.unknown;
                                                          })
                            ? "UNKNOWN"
                            : "NOT LINEARIZABLE";
  std::printf("history: %zu operations in %zu tokens: %s\n", verdict.operations,
              verdict.tokens.size(), summary);
}

void PrintJson(const Verdict& verdict, const char* summary) {
  for (const TokenVerdict& t : verdict.tokens) {
    JsonObject o;
    o.Add("token", t.token).Add("operations", uint64_t{t.operations}).Add("verdict", VerdictWord(t));
    if (!t.explanation.empty()) o.Add("explanation", t.explanation);
    if (!t.evidence_lines.empty()) {
      std::vector<std::string> lines;
      for (int l : t.evidence_lines) lines.push_back(std::to_string(l));
      o.Add("evidence_lines", lines);
    }
    std::printf("%s\n", o.str().c_str());
  }
  JsonObject o;
  o.Add("operations", uint64_t{verdict.operations})
      .Add("tokens", uint64_t{verdict.tokens.size()})
      .Add("verdict", summary);
  std::printf("%s\n", o.str().c_str());
}

int Run(const std::string& path, bool json, const CheckOptions& options) {
  auto events = ReadHistory(path);
  if (!events.ok()) {
    std::fprintf(stderr, "token-check: %s\n", events.status().message().c_str());
    return kExitBadInput;
  }
  if (Status st = ValidateHistory(*events, path); !st.ok()) {
    std::fprintf(stderr, "token-check: %s\n", st.message().c_str());
    return kExitBadInput;
  }
  const Verdict verdict = CheckHistory(*events, options);
  bool violation = false;
  for (const TokenVerdict& t : verdict.tokens) violation |= !t.linearizable && !t.unknown;
  const int code = violation         ? kExitViolation
                   : verdict.unknown ? kExitUnknown
                                     : kExitLinearizable;
  if (json) {
    PrintJson(verdict, code == kExitViolation ? "violation"
                       : code == kExitUnknown ? "unknown"
                                              : "linearizable");
  } else {
    PrintText(verdict);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"token-check: is a fault-test history (JSON Lines, SPEC section 9) atomic?"};
  AddVersionFlag(app, "token-check");
  std::string path;
  bool json = false;
  app.add_option("history", path, "history file, one JSON event per line")->required();
  app.add_flag("--json", json, "one JSON object per token and a summary line");
  CheckOptions options;
  // Signed on purpose: CLI11 would wrap "-3" into a huge unsigned budget.
  int64_t max_steps = static_cast<int64_t>(options.search.max_steps);
  app.add_option("--max-steps", max_steps,
                 "search budget per token; past it the token is unknown (exit 3)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0 through here too; everything else is a usage error.
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  if (max_steps < 1) {
    std::fprintf(stderr, "token-check: --max-steps must be at least 1\n");
    return kExitBadInput;
  }
  options.search.max_steps = static_cast<uint64_t>(max_steps);
  try {
    return Run(path, json, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "token-check: %s\n", e.what());
    return kExitBadInput;
  }
}
