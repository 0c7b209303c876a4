// How token-admin prints a dump: an aligned table, or one JSON object per register (--json).
//
// JSON fields per line: node (live) or data_dir (offline), token, ts, kind, name, low, mid,
// high, partial, partial_x, crashed, reserved_ts, role (null offline). Values a register
// does not hold (undefined or dropped) are null.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <vector>

#include "admin/admin_client.h"

namespace tokenstore {

// A title line, a header and one row per register; ends with a newline.
std::string FormatDumpTable(const NodeDump& dump);
// One JSON object per register, without newlines.
std::vector<std::string> FormatDumpJson(const NodeDump& dump);

}  // namespace tokenstore
