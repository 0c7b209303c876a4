#include "admin/dump_output.h"

#include <algorithm>

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

}  // namespace

std::string FormatDumpTable(const NodeDump& dump) {
  std::string out = dump.data_dir.empty() ? "node " + dump.node : "data dir " + dump.data_dir;
  if (!dump.state.empty()) out += " (" + dump.state + "; " + dump.identity + ")";
  out += ": " + std::to_string(dump.entries.size()) + " token(s)\n";
  if (dump.entries.empty()) return out;

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"token", "ts", "kind", "name", "low", "mid", "high", "partial", "partial_x",
                  "crashed", "reserved_ts", "role"});
  for (const DumpEntry& e : dump.entries) rows.push_back(Row(e));
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> FormatDumpJson(const NodeDump& dump) {
  std::vector<std::string> lines;
  for (const DumpEntry& e : dump.entries) {
    const TokenValue& v = e.reg.value;
    const bool defined = v.kind == ValueKind::kDefined;
    JsonObject o;
    if (dump.data_dir.empty()) {
      o.Add("node", dump.node);
    } else {
      o.Add("data_dir", dump.data_dir);
    }
    o.Add("token", e.token).Add("ts", e.reg.ts).Add("kind", ValueKindName(v.kind));
    if (defined) {
      o.Add("name", v.name).Add("low", v.low).Add("mid", v.mid).Add("high", v.high);
    } else {
      o.AddNull("name").AddNull("low").AddNull("mid").AddNull("high");
    }
    if (defined && v.has_partial) {
      o.Add("partial", v.partial).Add("partial_x", v.partial_x);
    } else {
      o.AddNull("partial").AddNull("partial_x");
    }
    o.Add("crashed", e.crashed).Add("reserved_ts", e.reserved_ts);
    if (e.role.empty()) {
      o.AddNull("role");
    } else {
      o.Add("role", e.role);
    }
    lines.push_back(o.str());
  }
  return lines;
}

}  // namespace tokenstore
