// Command-line parsing shared by the project's tools (token-client, token-admin,
// token-bench), on CLI11.
//
// Thread-safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "common/cli_exit.h"

namespace tokenstore {

// Parses argv into `app`. nullopt when the command should run; otherwise --help (exit 0 with
// the help text) or a usage error (CliUsageError). CLI11's exceptions stop here.
inline std::optional<CliExit> ParseCommandLine(CLI::App& app, int argc, const char* const* argv,
                                               std::string_view program, std::string_view hint) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      std::ostringstream out, err;
      app.exit(e, out, err);
      return CliExit{0, out.str(), err.str()};
    }
    return CliUsageError(program, hint, e.what());
  }
  return std::nullopt;
}

}  // namespace tokenstore
