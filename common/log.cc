#include "common/log.h"

#include <atomic>
#include <ctime>
#include <mutex>

#include "common/json.h"

namespace tokenstore {
namespace {

std::mutex& OutputMutex() {
  static std::mutex mu;
  return mu;
}

struct LogState {
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  std::atomic<LogFormat> format{LogFormat::kLogfmt};
  std::atomic<std::FILE*> out{stderr};
};

LogState& State() {
  static LogState state;
  return state;
}

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:00:00.123Z
std::string Timestamp(std::chrono::system_clock::time_point ts) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(ts.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);  // as JsonObject writes numbers
  return buf;
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

std::string LogfmtValue(const LogField& f) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          return NeedsQuotes(v) ? JsonQuote(v) : std::string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return FormatDouble(v);
        } else {
          return std::to_string(v);
        }
      },
      f.value());
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "logfmt") return LogFormat::kLogfmt;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point ts,
                          LogLevel level, std::string_view msg, LogFields fields) {
  if (format == LogFormat::kJson) {
    JsonObject o;
    o.Add("ts", Timestamp(ts)).Add("level", LogLevelName(level)).Add("msg", msg);
    for (const LogField& f : fields) {
      std::visit([&](const auto& v) { o.Add(f.key(), v); }, f.value());
    }
    return o.str();
  }
  std::string line = "ts=" + Timestamp(ts) + " level=" + std::string(LogLevelName(level)) +
                     " msg=" + JsonQuote(msg);
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key();
    line += '=';
    line += LogfmtValue(f);
  }
  return line;
}

void ConfigureLog(const LogOptions& options) {
  LogState& s = State();
  s.level = static_cast<int>(options.level);
  s.format = options.format;
  s.out = options.out;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= State().level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view msg, LogFields fields) {
  if (!LogEnabled(level)) return;
  LogState& s = State();
  WriteOutputLine(s.out, FormatLogLine(s.format, std::chrono::system_clock::now(), level, msg,
                                       fields));
}

void WriteOutputLine(std::FILE* stream, std::string_view line) {
  std::lock_guard<std::mutex> lock(OutputMutex());
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

}  // namespace tokenstore
