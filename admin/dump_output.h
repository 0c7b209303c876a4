// How token-admin prints a dump: an aligned table, or one JSON object per register (--json).
//
// JSON fields per line: node (live) or data_dir (offline), token, ts, kind, name, low, mid,
// high, partial, partial_x, crashed, reserved_ts, role (null offline). Values a register
// does not hold (undefined or dropped) are null; 64-bit integers (ts, low, mid, high, partial,
// partial_x, reserved_ts) are decimal strings (common/json.h AddUint64String).
//
// Thread-safety: the functions are stateless; a DumpPrinter is used by one thread.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "admin/admin_client.h"

namespace tokenstore {

// A title line, a header and one row per register; ends with a newline.
std::string FormatDumpTable(const NodeDump& dump);
// One JSON object per register, without newlines.
std::vector<std::string> FormatDumpJson(const NodeDump& dump);

// Prints a dump handed over in pieces (AdminClient::DumpStream) exactly as FormatDumpJson
// and FormatDumpTable print the whole of it. JSON lines are written as the entries arrive.
// The table's columns are as wide as their widest cell over all rows, so its rows go to an
// unnamed temporary file (std::tmpfile) and are printed, aligned, at Finish(): memory stays
// one row whatever the number of registers.
class DumpPrinter {
 public:
  DumpPrinter(std::FILE* out, bool json) : out_(out), json_(json) {}
  ~DumpPrinter();
  DumpPrinter(const DumpPrinter&) = delete;
  DumpPrinter& operator=(const DumpPrinter&) = delete;

  // `header`: node or data_dir, state and identity; its entries are ignored.
  Status Begin(const NodeDump& header);
  Status Add(const DumpEntry& entry);
  // Ends the output (the table is printed here). INTERNAL when a write failed.
  Status Finish();

 private:
  std::FILE* const out_;
  const bool json_;
  NodeDump header_;            // without entries
  std::FILE* rows_ = nullptr;  // the table's rows, until Finish
  std::vector<size_t> width_;  // the table's column widths so far
  size_t count_ = 0;
};

}  // namespace tokenstore
