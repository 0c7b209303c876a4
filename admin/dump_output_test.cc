#include "admin/dump_output.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace tokenstore {
namespace {

NodeDump Sample() {
  NodeDump d;
  d.node = "127.0.0.1:50051";
  DumpEntry defined;
  defined.token = "1";
  defined.reg.ts = 3;
  defined.reg.value.kind = ValueKind::kDefined;
  defined.reg.value.name = "abc";
  defined.reg.value.low = 5;
  defined.reg.value.mid = 25;
  defined.reg.value.high = 100;
  defined.reg.value.has_partial = true;
  defined.reg.value.partial = 902613196918738813u;
  defined.reg.value.partial_x = 15;
  defined.reserved_ts = 64;
  defined.role = "writer+reader";
  DumpEntry crashed;
  crashed.token = "3";
  crashed.crashed = true;
  crashed.role = "reader";
  d.entries = {defined, crashed};
  return d;
}

TEST(DumpOutput, TableIsAligned) {
  EXPECT_EQ(FormatDumpTable(Sample()),
            "node 127.0.0.1:50051: 2 token(s)\n"
            "token  ts  kind       name  low  mid  high  partial             partial_x  crashed  "
            "reserved_ts  role\n"
            "1      3   defined    abc   5    25   100   902613196918738813  15         no       "
            "64           writer+reader\n"
            "3      0   undefined  -     -    -    -     -                   -          yes      "
            "0            reader\n");
}

TEST(DumpOutput, OfflineTableNamesTheDirectory) {
  NodeDump d;
  d.data_dir = "data/n1";
  EXPECT_EQ(FormatDumpTable(d), "data dir data/n1: 0 token(s)\n");
}

TEST(DumpOutput, NamesThatWouldBreakTheTableAreQuoted) {
  NodeDump d = Sample();
  d.entries[0].reg.value.name = "two words";
  EXPECT_NE(FormatDumpTable(d).find("\"two words\""), std::string::npos);
}

TEST(DumpOutput, JsonOneObjectPerRegister) {
  NodeDump d = Sample();
  d.entries[0].reg.value.name = "q\"n\n";
  std::vector<std::string> lines = FormatDumpJson(d);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "{\"node\":\"127.0.0.1:50051\",\"token\":\"1\",\"ts\":\"3\",\"kind\":\"defined\","
            "\"name\":\"q\\\"n\\n\",\"low\":\"5\",\"mid\":\"25\",\"high\":\"100\","
            "\"partial\":\"902613196918738813\",\"partial_x\":\"15\",\"crashed\":false,"
            "\"reserved_ts\":\"64\",\"role\":\"writer+reader\"}");
  EXPECT_EQ(lines[1],
            "{\"node\":\"127.0.0.1:50051\",\"token\":\"3\",\"ts\":\"0\",\"kind\":\"undefined\","
            "\"name\":null,\"low\":null,\"mid\":null,\"high\":null,\"partial\":null,"
            "\"partial_x\":null,\"crashed\":true,\"reserved_ts\":\"0\",\"role\":\"reader\"}");
  d.node.clear();
  d.data_dir = "dir";
  d.entries[1].role.clear();
  lines = FormatDumpJson(d);
  EXPECT_EQ(lines[1].rfind("{\"data_dir\":\"dir\",", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("\"role\":null}"), std::string::npos) << lines[1];
}

// What a DumpPrinter writes for `dump`, its entries handed over one by one.
std::string Printed(const NodeDump& dump, bool json) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = ::open_memstream(&buf, &len);
  {
    DumpPrinter printer(f, json);
    EXPECT_TRUE(printer.Begin(dump).ok());
    for (const DumpEntry& e : dump.entries) EXPECT_TRUE(printer.Add(e).ok());
    EXPECT_TRUE(printer.Finish().ok());
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(DumpOutput, PrinterMatchesTheWholeDumpFormats) {
  NodeDump d = Sample();
  d.state = "serving";
  d.identity = "cluster c1, incarnation 1, boot 2";
  d.entries[1].token = std::string("odd\ttoken\n", 11);  // any byte survives the spill
  d.entries[0].reg.value.name = "a much longer name than the header";
  EXPECT_EQ(Printed(d, false), FormatDumpTable(d));
  std::string json;
  for (const std::string& line : FormatDumpJson(d)) json += line + "\n";
  EXPECT_EQ(Printed(d, true), json);
  d.entries.clear();
  EXPECT_EQ(Printed(d, false), FormatDumpTable(d));
  EXPECT_EQ(Printed(d, true), "");
}

}  // namespace
}  // namespace tokenstore
