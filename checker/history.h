// Histories of fault tests (SPEC section 9), in the style of Jepsen: one event per line of
// JSON Lines.
//
//   {"process": 3, "type": "invoke", "f": "write", "token": "1",
//    "value": {"name": "w-17", "low": 0, "mid": 5, "high": 9}, "time": 1234567}
//   {"process": 3, "type": "ok", "f": "write", "token": "1", "value": {...}, "time": ...}
//   {"process": 4, "type": "invoke", "f": "read", "token": "1", "value": null, "time": ...}
//   {"process": 4, "type": "ok", "f": "read", "token": "1",
//    "value": {"name": "w-17", "final": 60570345165277511}, "time": ...}
//
// Beyond that minimum, an `ok` may record the rest of what the store returned, as token-chaos
// does so that checker/value_check.h can check the hashes: a write's `partial` (null when
// low == mid) in its value, a read's `low`, `mid`, `high` and `partial` next to its name.
//
// The reader takes low, mid, high, partial and final as JSON integers or as decimal strings
// ("60570345165277511", protobuf's JSON mapping of 64-bit integers); the writer writes
// integers.
//
// type: invoke | ok | fail (certainly did not take effect) | info (unknown: may take effect
// at any later time, or never; the process id is never used again). time: nanoseconds,
// monotonic within one history. Written names are unique per history; a read of an
// undefined token has value.name == null.
//
// Thread-safety: HistoryWriter is safe for concurrent use; the rest are plain values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace tokenstore::checker {

enum class EventType { kInvoke, kOk, kFail, kInfo };
enum class OpFunction { kWrite, kRead };

struct Event {
  int64_t process = 0;
  EventType type = EventType::kInvoke;
  OpFunction f = OpFunction::kRead;
  std::string token;
  // Writes: the written value (on invoke, and repeated on ok). Reads: on ok, what was read.
  std::optional<std::string> name;  // nullopt: undefined (reads) or absent
  uint64_t low = 0, mid = 0, high = 0;  // writes
  std::optional<uint64_t> final_value;  // reads of a defined token
  // The `ok` recorded the whole returned value: a write's partial; a read's low, mid, high
  // (in the fields above) and partial. False in histories that record only SPEC section 9's.
  bool full_value = false;
  std::optional<uint64_t> partial_value;  // with full_value; nullopt: undefined (low == mid)
  int64_t time = 0;                     // nanoseconds
  int line = 0;                         // 1-based line in the file it came from (0 if none)
};

// "invoke", "ok", "fail", "info"; "write", "read": the spellings of SPEC section 9.
const char* EventTypeName(EventType type);
const char* OpFunctionName(OpFunction f);

// One event as a JSON line (no trailing newline).
std::string ToJsonLine(const Event& e);
// Parses one line; INVALID_ARGUMENT naming the field that is wrong, as
// "line N: column C: ..." or "line N: field \"f\": ...". Unknown keys are ignored (the spec
// says a value holds "at least" its fields), but their values must still be valid JSON of the
// accepted kinds. The result's `line` is `line_number`.
StatusOr<Event> ParseJsonLine(std::string_view line, int line_number);
// Reads a whole file; errors name the file and line ("FILE:LINE: ..."). Blank lines are
// skipped (but counted), so a trailing newline is fine.
StatusOr<std::vector<Event>> ReadHistory(const std::string& path);

// Appends events to a file as they happen, one line each, flushed per line.
class HistoryWriter {
 public:
  // Creates or truncates `path`: one file holds one history.
  static StatusOr<std::unique_ptr<HistoryWriter>> Open(const std::string& path);
  ~HistoryWriter();
  // Never blocks on anything but the file; a failed write is remembered, not thrown, so a
  // fault test can ask status() at the end instead of checking every call.
  void Append(const Event& e);
  // OK, or the first write or flush error.
  Status status();

 private:
  explicit HistoryWriter(std::FILE* f) : file_(f) {}
  Mutex mu_;
  std::FILE* file_ GUARDED_BY(mu_);
  Status error_ GUARDED_BY(mu_);
};

}  // namespace tokenstore::checker
