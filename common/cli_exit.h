// What a command-line tool of the project (token-client, token-admin, token-bench) prints
// and returns when it does not run its command.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tokenstore {

// Exit code of every tool for a bad command line or configuration file.
inline constexpr int kExitUsage = 2;

// What to print (stdout, stderr) and the exit code, for --help or a usage error.
struct CliExit {
  int code = 0;
  std::string out;
  std::string err;
};

// "<program>: INVALID_ARGUMENT: <message>\n<hint>\n" with exit code kExitUsage.
inline CliExit CliUsageError(std::string_view program, std::string_view hint,
                             const std::string& message) {
  return CliExit{
      kExitUsage, "",
      std::string(program) + ": INVALID_ARGUMENT: " + message + "\n" + std::string(hint) + "\n"};
}

}  // namespace tokenstore
