// For tests: the event log (common/log.h) written to a temporary file instead of stderr, and
// read back. Header-only, so any test target can use it.
//
// Thread-safety: as the logger; one LogCapture at a time (the logger's output is global).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

#include "common/log.h"

namespace tokenstore {

class LogCapture {
 public:
  explicit LogCapture(LogLevel level = LogLevel::kInfo, LogFormat format = LogFormat::kLogfmt)
      : file_(std::tmpfile()) {
    if (file_ == nullptr) throw std::runtime_error("LogCapture: no temporary file");
    Configure(level, format);
  }
  ~LogCapture() {
    ConfigureLog(LogOptions{});  // back to info, logfmt, stderr
    std::fclose(file_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Another level or format, still into the file.
  void Configure(LogLevel level, LogFormat format) { ConfigureLog({level, format, file_}); }

  // Everything logged so far.
  std::string Written() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }

 private:
  std::FILE* file_;
};

}  // namespace tokenstore
