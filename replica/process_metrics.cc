#include "replica/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tokenstore {
namespace {

std::optional<std::string> ReadWhole(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<double> Number(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t begin = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > begin) out.push_back(s.substr(begin, i - begin));
  }
  return out;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view stat, double ticks_per_second,
                                      double page_bytes) {
  // "pid (comm) state ppid ...": the command may hold spaces and parentheses; the fields
  // after its last ')' are numbered from 3 (state).
  const size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  const std::vector<std::string_view> f = Words(stat.substr(paren + 1));
  // f[0] is field 3; field n is f[n - 3]. utime 14, stime 15, num_threads 20,
  // starttime 22, vsize 23, rss 24.
  if (f.size() < 22) return std::nullopt;
  auto field = [&](size_t n) { return Number(f[n - 3]); };
  const auto utime = field(14), stime = field(15), threads = field(20), start = field(22),
             vsize = field(23), rss = field(24);
  if (!utime || !stime || !threads || !start || !vsize || !rss) return std::nullopt;
  ProcStat out;
  out.cpu_seconds = (*utime + *stime) / ticks_per_second;
  out.start_ticks = *start;
  out.threads = *threads;
  out.virtual_bytes = *vsize;
  out.resident_bytes = *rss * page_bytes;
  return out;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  for (size_t begin = 0; begin < proc_stat.size();) {
    size_t end = proc_stat.find('\n', begin);
    if (end == std::string_view::npos) end = proc_stat.size();
    const std::vector<std::string_view> w = Words(proc_stat.substr(begin, end - begin));
    if (w.size() == 2 && w[0] == "btime") return Number(w[1]);
    begin = end + 1;
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(std::string_view limits) {
  const std::string_view key = "Max open files";
  const size_t at = limits.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t end = limits.find('\n', at);
  if (end == std::string_view::npos) end = limits.size();
  const std::vector<std::string_view> w =
      Words(limits.substr(at + key.size(), end - at - key.size()));
  if (w.empty()) return std::nullopt;
  if (w[0] == "unlimited") return 0.0;
  return Number(w[0]);
}

std::optional<ProcessStats> ReadProcessStats() {
  const std::optional<std::string> stat = ReadWhole("/proc/self/stat");
  const std::optional<std::string> system = ReadWhole("/proc/stat");
  if (!stat || !system) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::optional<ProcStat> p = ParseProcStat(*stat, ticks, page);
  const std::optional<double> boot = ParseBootTime(*system);
  if (!p || !boot) return std::nullopt;
  ProcessStats out;
  out.cpu_seconds = p->cpu_seconds;
  out.resident_bytes = p->resident_bytes;
  out.virtual_bytes = p->virtual_bytes;
  out.start_time_seconds = *boot + p->start_ticks / ticks;
  out.threads = p->threads;
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    out.open_fds = n - 1;  // not counting the directory's own descriptor
  }
  if (const std::optional<std::string> limits = ReadWhole("/proc/self/limits")) {
    out.max_fds = ParseMaxOpenFiles(*limits).value_or(0);
  }
  return out;
}

}  // namespace tokenstore
