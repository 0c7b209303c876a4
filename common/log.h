// Leveled, structured event logs: one line per event on stderr, in logfmt
//
//   ts=2024-05-01T12:00:00.123Z level=info msg="serving" tokens=3 listen=127.0.0.1:50051
//
// or, with LogFormat::kJson, one JSON object per line with the same keys
//
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"serving","tokens":3,...}
//
// logfmt values are written bare when they are non-empty printable ASCII without spaces,
// quotes, '=' or '\'; otherwise quoted, with the escapes of JsonQuote (common/json.h), so a
// message or value with quotes or newlines still gives exactly one line. `msg` is always
// quoted. Keys are the caller's constants and are written as given.
//
// Every line a process writes to stdout or stderr through WriteOutputLine (the logger and
// the replica's op log both do) is written whole under one lock, so lines of the two never
// interleave mid-line, even when both streams go to the same file.
//
// Thread-safety: everything here may be called from any thread. ConfigureLog() is meant
// for the start of main(), before other threads log.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tokenstore {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);
// "logfmt", "json"; nullopt for anything else.
std::optional<LogFormat> ParseLogFormat(std::string_view name);

// One key=value of an event. The value is only viewed: build fields in the Log() call.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, const std::string& value)
      : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  LogField(std::string_view key, int value) : key_(key), value_(int64_t{value}) {}
  LogField(std::string_view key, long value) : key_(key), value_(int64_t{value}) {}
  LogField(std::string_view key, long long value) : key_(key), value_(int64_t{value}) {}
  LogField(std::string_view key, unsigned value) : key_(key), value_(uint64_t{value}) {}
  LogField(std::string_view key, unsigned long value) : key_(key), value_(uint64_t{value}) {}
  LogField(std::string_view key, unsigned long long value)
      : key_(key), value_(uint64_t{value}) {}

  std::string_view key() const { return key_; }
  const std::variant<std::string_view, int64_t, uint64_t, double, bool>& value() const {
    return value_;
  }

 private:
  std::string_view key_;
  std::variant<std::string_view, int64_t, uint64_t, double, bool> value_;
};

using LogFields = std::initializer_list<LogField>;

// The line for one event, without the newline. Pure: the tests pin it down.
std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point ts,
                          LogLevel level, std::string_view msg, LogFields fields);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;  // events below it are dropped
  LogFormat format = LogFormat::kLogfmt;
  std::FILE* out = stderr;
};
void ConfigureLog(const LogOptions& options);

// Whether an event at `level` would be written (to skip building costly fields).
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view msg, LogFields fields = {});
inline void LogDebug(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kDebug, msg, fields); }
inline void LogInfo(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kInfo, msg, fields); }
inline void LogWarn(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kWarn, msg, fields); }
inline void LogError(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kError, msg, fields); }

// Writes `line` and a newline to `stream` and flushes it, all under the process-wide
// output lock.
void WriteOutputLine(std::FILE* stream, std::string_view line);

}  // namespace tokenstore
