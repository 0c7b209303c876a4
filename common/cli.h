// Command-line parsing shared by the project's tools, on CLI11: the parse itself (token-client,
// token-admin, token-bench) and the duration transform (every program's duration flags).
//
// Thread-safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "common/build_info.h"
#include "common/cli_exit.h"
#include "common/duration.h"

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

// --version on `app`: prints VersionLine(program) (common/build_info.h) and exits 0. The
// program must link tokenstore_build_info.
inline void AddVersionFlag(CLI::App& app, std::string_view program) {
  app.set_version_flag("--version", VersionLine(program),
                       "print the version, git commit and build date, and exit");
}

// A CLI11 transform for a duration option held as seconds (a double): reads "500ms", "5s",
// "1m", a bare number of seconds (common/duration.h), and hands the option its value in
// seconds. Bad input is a usage error naming the flag:
//   --timeout: "5x" is not a duration: unknown unit "x" (use ...)
inline CLI::Validator DurationSeconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        StatusOr<double> seconds = ParseDurationSeconds(text);
        if (!seconds.ok()) return seconds.status().message();
        text = SecondsText(*seconds);
        return std::string();
      },
      "");
}

}  // namespace tokenstore
