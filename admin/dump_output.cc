#include "admin/dump_output.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/json.h"

namespace tokenstore {
namespace {

// Names are user data: shown bare when that keeps the table readable, quoted and escaped
// when they hold spaces, quotes or control bytes that would break the columns.
std::string TableName(const std::string& name) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"';
  });
  return plain ? name : JsonQuote(name);
}

std::vector<std::string> Row(const DumpEntry& e) {
  const TokenValue& v = e.reg.value;
  const bool defined = v.kind == ValueKind::kDefined;
  auto num = [defined](uint64_t n) { return defined ? std::to_string(n) : std::string("-"); };
  return {e.token,
          std::to_string(e.reg.ts),
          ValueKindName(v.kind),
          defined ? TableName(v.name) : "-",
          num(v.low),
          num(v.mid),
          num(v.high),
          defined && v.has_partial ? std::to_string(v.partial) : "-",
          defined && v.has_partial ? std::to_string(v.partial_x) : "-",
          e.crashed ? "yes" : "no",
          std::to_string(e.reserved_ts),
          e.role.empty() ? "-" : e.role};
}

const std::vector<std::string>& HeaderRow() {
  static const std::vector<std::string> kHeader = {"token",     "ts",      "kind",        "name",
                                                   "low",       "mid",     "high",        "partial",
                                                   "partial_x", "crashed", "reserved_ts", "role"};
  return kHeader;
}

std::string Title(const NodeDump& dump, size_t tokens) {
  std::string out = dump.data_dir.empty() ? "node " + dump.node : "data dir " + dump.data_dir;
  if (!dump.state.empty()) out += " (" + dump.state + "; " + dump.identity + ")";
  return out + ": " + std::to_string(tokens) + " token(s)\n";
}

void Widen(std::vector<size_t>& width, const std::vector<std::string>& row) {
  width.resize(row.size(), 0);
  for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
}

std::string Line(const std::vector<std::string>& row, const std::vector<size_t>& width) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) line += "  ";
    line += row[i];
    if (i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
  }
  return line + "\n";
}

std::string JsonLine(const NodeDump& dump, const DumpEntry& e) {
  const TokenValue& v = e.reg.value;
  const bool defined = v.kind == ValueKind::kDefined;
  JsonObject o;
  if (dump.data_dir.empty()) {
    o.Add("node", dump.node);
  } else {
    o.Add("data_dir", dump.data_dir);
  }
  o.Add("token", e.token).AddUint64String("ts", e.reg.ts).Add("kind", ValueKindName(v.kind));
  if (defined) {
    o.Add("name", v.name)
        .AddUint64String("low", v.low)
        .AddUint64String("mid", v.mid)
        .AddUint64String("high", v.high);
  } else {
    o.AddNull("name").AddNull("low").AddNull("mid").AddNull("high");
  }
  if (defined && v.has_partial) {
    o.AddUint64String("partial", v.partial).AddUint64String("partial_x", v.partial_x);
  } else {
    o.AddNull("partial").AddNull("partial_x");
  }
  o.Add("crashed", e.crashed).AddUint64String("reserved_ts", e.reserved_ts);
  if (e.role.empty()) {
    o.AddNull("role");
  } else {
    o.Add("role", e.role);
  }
  return o.str();
}

// A row in the temporary file: each cell as a 4-byte length and its bytes (cells may hold
// any byte, tokens included).
bool PutRow(std::FILE* f, const std::vector<std::string>& row) {
  for (const std::string& cell : row) {
    const uint32_t n = static_cast<uint32_t>(cell.size());
    if (std::fwrite(&n, sizeof n, 1, f) != 1) return false;
    if (n > 0 && std::fwrite(cell.data(), 1, n, f) != n) return false;
  }
  return true;
}

bool GetRow(std::FILE* f, std::vector<std::string>& row) {
  for (std::string& cell : row) {
    uint32_t n = 0;
    if (std::fread(&n, sizeof n, 1, f) != 1) return false;
    cell.resize(n);
    if (n > 0 && std::fread(cell.data(), 1, n, f) != n) return false;
  }
  return true;
}

Status WriteError(const std::string& what) {
  return Status::Internal("cannot " + what + ": " + std::strerror(errno));
}

}  // namespace

std::string FormatDumpTable(const NodeDump& dump) {
  std::string out = Title(dump, dump.entries.size());
  if (dump.entries.empty()) return out;
  std::vector<std::vector<std::string>> rows;
  rows.push_back(HeaderRow());
  for (const DumpEntry& e : dump.entries) rows.push_back(Row(e));
  std::vector<size_t> width;
  for (const auto& row : rows) Widen(width, row);
  for (const auto& row : rows) out += Line(row, width);
  return out;
}

std::vector<std::string> FormatDumpJson(const NodeDump& dump) {
  std::vector<std::string> lines;
  for (const DumpEntry& e : dump.entries) lines.push_back(JsonLine(dump, e));
  return lines;
}

DumpPrinter::~DumpPrinter() {
  if (rows_ != nullptr) std::fclose(rows_);
}

Status DumpPrinter::Begin(const NodeDump& header) {
  header_ = header;
  header_.entries.clear();
  if (json_) return Status::Ok();
  rows_ = std::tmpfile();
  if (rows_ == nullptr) return WriteError("create a temporary file for the table");
  Widen(width_, HeaderRow());
  return Status::Ok();
}

Status DumpPrinter::Add(const DumpEntry& entry) {
  ++count_;
  if (json_) {
    const std::string line = JsonLine(header_, entry) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) {
      return WriteError("write the dump");
    }
    return Status::Ok();
  }
  const std::vector<std::string> row = Row(entry);
  Widen(width_, row);
  if (!PutRow(rows_, row)) return WriteError("write the table's temporary file");
  return Status::Ok();
}

Status DumpPrinter::Finish() {
  if (!json_) {
    std::string title = Title(header_, count_);
    if (std::fputs(title.c_str(), out_) < 0) return WriteError("write the dump");
    if (count_ > 0) {
      const std::string header = Line(HeaderRow(), width_);
      if (std::fputs(header.c_str(), out_) < 0) return WriteError("write the dump");
      if (std::fflush(rows_) != 0 || std::fseek(rows_, 0, SEEK_SET) != 0) {
        return WriteError("read the table's temporary file back");
      }
      std::vector<std::string> row(HeaderRow().size());
      for (size_t i = 0; i < count_; ++i) {
        if (!GetRow(rows_, row)) return WriteError("read the table's temporary file back");
        const std::string line = Line(row, width_);
        if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) {
          return WriteError("write the dump");
        }
      }
    }
  }
  if (std::fflush(out_) != 0) return WriteError("write the dump");
  return Status::Ok();
}

}  // namespace tokenstore
