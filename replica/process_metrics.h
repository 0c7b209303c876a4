// The usual Prometheus process metrics of the running process, read from /proc/self on
// each scrape (Linux only): CPU time, resident and virtual memory, start time, threads,
// open and allowed file descriptors. The parsers are pure, so the tests pin them down on
// recorded /proc text.
//
// Thread-safety: the functions keep no state; ReadProcessStats() may run on any thread.
#pragma once

#include <optional>
#include <string_view>

namespace tokenstore {

struct ProcessStats {
  double cpu_seconds = 0;          // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;   // since the Unix epoch
  double threads = 0;
  double open_fds = 0;
  double max_fds = 0;              // the soft limit; 0 when unlimited or unknown
};

// The fields of /proc/<pid>/stat that ProcessStats needs; `ticks_per_second` and
// `page_bytes` convert them. nullopt when the text does not have the expected shape.
struct ProcStat {
  double cpu_seconds = 0;
  double start_ticks = 0;  // clock ticks after boot
  double threads = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};
std::optional<ProcStat> ParseProcStat(std::string_view stat, double ticks_per_second,
                                      double page_bytes);
// "btime" of /proc/stat: the boot time, seconds since the epoch.
std::optional<double> ParseBootTime(std::string_view proc_stat);
// The soft "Max open files" of /proc/<pid>/limits; 0 for "unlimited".
std::optional<double> ParseMaxOpenFiles(std::string_view limits);

// This process's; nullopt when /proc cannot be read.
std::optional<ProcessStats> ReadProcessStats();

}  // namespace tokenstore
