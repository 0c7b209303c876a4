#include "config/cluster_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tokenstore {
namespace {

std::string TestFile(const std::string& name) {
  return std::string(TOKENSTORE_CONFIG_TESTDATA) + "/" + name;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return lines;
    start = end + 1;
  }
}

// One expected line of an error message: "<source>:<line>: ..." containing every word.
struct ExpectedError {
  int line;
  std::vector<std::string> words;
};

// Checks that `status` is INVALID_ARGUMENT with exactly one message line per expectation, in
// order, each naming the source and line and containing the problem's key words.
void ExpectErrors(const Status& status, const std::string& source,
                  const std::vector<ExpectedError>& expected) {
  ASSERT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  const std::vector<std::string> lines = SplitLines(status.message());
  ASSERT_EQ(lines.size(), expected.size()) << status.message();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string prefix = source + ":" + std::to_string(expected[i].line) + ": ";
    EXPECT_EQ(lines[i].rfind(prefix, 0), 0u) << "line " << i << ": " << lines[i];
    for (const std::string& word : expected[i].words) {
      EXPECT_NE(lines[i].find(word), std::string::npos)
          << "line " << i << " lacks \"" << word << "\": " << lines[i];
    }
  }
}

std::vector<std::string> Ids(const std::vector<TokenReplication>& tokens) {
  std::vector<std::string> ids;
  for (const TokenReplication& t : tokens) ids.push_back(t.id);
  return ids;
}

// Every token in file order, as ForEach names them.
std::vector<TokenReplication> All(const ClusterConfig& config) {
  std::vector<TokenReplication> all;
  config.ForEach([&all](const TokenReplication& t) {
    all.push_back(t);
    return true;
  });
  return all;
}

std::vector<TokenReplication> TokensOf(const ClusterConfig& config, std::string_view node) {
  std::vector<TokenReplication> kept;
  config.ForEachOf(node, [&kept](const TokenReplication& t) {
    kept.push_back(t);
    return true;
  });
  EXPECT_EQ(kept.size(), config.CountOf(node)) << node;
  return kept;
}

constexpr char kN1[] = "127.0.0.1:50051";
constexpr char kN2[] = "127.0.0.1:50052";
constexpr char kN3[] = "127.0.0.1:50053";
constexpr char kN4[] = "127.0.0.1:50054";
constexpr char kN5[] = "127.0.0.1:50055";

// --- Good files -------------------------------------------------------------------------------

TEST(ClusterConfigTest, LoadsGoodFileWithRolesAndQuorums) {
  const std::string path = TestFile("good-3-tokens.yaml");
  StatusOr<ClusterConfig> config = LoadClusterConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, path);
  ASSERT_EQ(config->size(), 3u);

  const TokenReplication t1 = All(*config)[0];
  EXPECT_EQ(t1.id, "1");
  EXPECT_EQ(t1.line(), 2);
  EXPECT_EQ(t1.writer(), kN1);
  EXPECT_EQ(t1.readers(), (std::vector<std::string>{kN1, kN2, kN3}));
  EXPECT_EQ(t1.Replicas(), (std::vector<std::string>{kN1, kN2, kN3}));
  EXPECT_EQ(t1.Quorum(), 2u);  // 3 replicas
  EXPECT_EQ(t1.RoleOf(kN1), Role::kWriterAndReader);
  EXPECT_EQ(t1.RoleOf(kN2), Role::kReader);
  EXPECT_EQ(t1.RoleOf(kN4), Role::kNone);
  EXPECT_TRUE(t1.IsReader(kN1));
  EXPECT_FALSE(t1.IsReader(kN4));

  const TokenReplication t2 = All(*config)[1];
  EXPECT_EQ(t2.id, "2");  // written as "2" in quotes
  EXPECT_EQ(t2.line(), 5);
  EXPECT_EQ(t2.Replicas(), (std::vector<std::string>{kN2, kN1, kN3, kN4}));
  EXPECT_EQ(t2.Quorum(), 3u);  // 4 replicas
  EXPECT_EQ(t2.RoleOf(kN2), Role::kWriter);
  EXPECT_FALSE(t2.IsReader(kN2));
  EXPECT_EQ(t2.RoleOf(kN5), Role::kNone);

  const TokenReplication t3 = All(*config)[2];
  EXPECT_EQ(t3.id, "alpha");
  EXPECT_EQ(t3.line(), 8);
  EXPECT_EQ(t3.Replicas(), (std::vector<std::string>{kN3, kN1, kN2, kN4, kN5}));
  EXPECT_EQ(t3.Quorum(), 3u);  // 5 replicas
  EXPECT_EQ(t3.RoleOf(kN3), Role::kWriter);
  EXPECT_EQ(t3.RoleOf(kN5), Role::kReader);

  ASSERT_TRUE(config->Find("2"));
  EXPECT_EQ(config->Find("2")->writer(), kN2);
  EXPECT_EQ(config->Find("alpha")->set, All(*config)[2].set);
  EXPECT_EQ(All(*config)[2].id, "alpha");
  EXPECT_FALSE(config->Find("3"));
  EXPECT_FALSE(config->Find(""));
}

TEST(ClusterConfigTest, NodesAndTokensOf) {
  StatusOr<ClusterConfig> config = LoadClusterConfig(TestFile("good-3-tokens.yaml"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->Nodes(), (std::vector<std::string>{kN1, kN2, kN3, kN4, kN5}));
  EXPECT_EQ(Ids(TokensOf(*config, kN1)), (std::vector<std::string>{"1", "2", "alpha"}));
  EXPECT_EQ(Ids(TokensOf(*config, kN2)), (std::vector<std::string>{"1", "2", "alpha"}));
  EXPECT_EQ(Ids(TokensOf(*config, kN4)), (std::vector<std::string>{"2", "alpha"}));
  EXPECT_EQ(Ids(TokensOf(*config, kN5)), (std::vector<std::string>{"alpha"}));
  EXPECT_TRUE(TokensOf(*config, "127.0.0.1:50056").empty());
  EXPECT_TRUE(TokensOf(*config, "not an access point").empty());
}

TEST(ClusterConfigTest, FiveNodesSixTokens) {
  StatusOr<ClusterConfig> config = LoadClusterConfig(TestFile("cluster-5.yaml"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->Nodes(), (std::vector<std::string>{kN1, kN2, kN3, kN4, kN5}));
  ASSERT_EQ(config->size(), 6u);
  const std::vector<size_t> kReaders = {3, 3, 5, 3, 3, 5};
  const std::vector<size_t> kReplicas = {3, 4, 5, 3, 4, 5};
  const std::vector<size_t> kQuorums = {2, 3, 3, 2, 3, 3};
  for (size_t i = 0; i < config->size(); ++i) {
    const TokenReplication token = All(*config)[i];
    SCOPED_TRACE("token " + token.id);
    EXPECT_EQ(token.id, std::to_string(i + 1));
    EXPECT_EQ(config->Find(token.id)->set, token.set);
    EXPECT_EQ(token.readers().size(), kReaders[i]);
    EXPECT_EQ(token.Replicas().size(), kReplicas[i]);
    EXPECT_EQ(token.Quorum(), kQuorums[i]);
  }
  EXPECT_EQ(All(*config)[0].RoleOf(kN1), Role::kWriterAndReader);
  EXPECT_EQ(All(*config)[1].RoleOf(kN2), Role::kWriter);
  for (const std::string& node : config->Nodes()) {
    EXPECT_FALSE(TokensOf(*config, node).empty()) << node;
  }
}

// The file the demo (scripts/demo.sh) and the README run: it loads, and it has what the demo's
// steps rely on. A change to the file that breaks a step fails here, not in front of a newcomer.
TEST(ClusterConfigTest, ExampleFileHasWhatTheDemoUses) {
  StatusOr<ClusterConfig> config = LoadClusterConfig(TOKENSTORE_EXAMPLE_CONFIG);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->Nodes(), (std::vector<std::string>{kN1, kN2, kN3, kN4, kN5}));
  std::vector<std::string> ids;
  for (const TokenReplication& token : All(*config)) ids.push_back(token.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "alpha", "r0", "r1", "r2", "r3", "r4",
                                            "r5", "r6", "r7", "r8", "r9"}));
  // Every node keeps some token, so every replica process has work in the demo.
  for (const std::string& node : config->Nodes()) {
    EXPECT_FALSE(TokensOf(*config, node).empty()) << node;
  }
  // Token 1 is read at 50052, 50053 and 50055, crash-stopped on 50053 and on its writer 50051,
  // and still served by the other three: five replicas (a quorum of 3 survives two silent).
  const std::optional<TokenReplication> one = config->Find("1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->writer(), kN1);
  EXPECT_EQ(one->Replicas().size(), 5u);
  EXPECT_EQ(one->Quorum(), 3u);
  // Token 3 is read at 50053 while token 1 is crash-stopped there (the other token carries on);
  // token 2 is read at 50053 while 50054 is down.
  EXPECT_NE(config->Find("3")->RoleOf(kN3), Role::kNone);
  EXPECT_NE(config->Find("2")->RoleOf(kN3), Role::kNone);
  // Token alpha cannot be written while its writer 50054 is down, and 50054 reads it after its
  // restart.
  EXPECT_EQ(config->Find("alpha")->writer(), kN4);
  EXPECT_EQ(config->Find("alpha")->RoleOf(kN4), Role::kWriterAndReader);
  // Token r7 (from the range entry) is written at 50055 and read at 50051.
  EXPECT_EQ(config->Find("r7")->writer(), kN5);
  EXPECT_EQ(config->Find("r7")->RoleOf(kN1), Role::kReader);
  // The op log line in the README is 50052's: it keeps 1, 2 and r0 ... r9.
  EXPECT_EQ(TokensOf(*config, kN2).size(), 12u);
}

// Entries as the file names their ids, for tools that write a file back.
TEST(ClusterConfigTest, ForEachEntryGivesRangesAndLists) {
  StatusOr<ClusterConfig> config = ParseClusterConfig(
      "- tokens: {prefix: t, from: 3, to: 7}\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:1]\n"
      "  epoch: 2\n"
      "- tokens: [a, b]\n  writer: 127.0.0.1:2\n  readers: [127.0.0.1:2]\n"
      "- token: c\n  writer: 127.0.0.1:2\n  readers: [127.0.0.1:2]\n",
      "<inline>");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::vector<std::string> seen;
  config->ForEachEntry([&seen](const ClusterConfig::EntryIds& e) {
    std::string s = e.set->writer + " epoch " + std::to_string(e.set->epoch) + ": ";
    if (e.is_range) {
      s += std::string(e.prefix) + std::to_string(e.from) + ".." + std::to_string(e.to);
    } else {
      for (std::string_view id : e.ids) s += std::string(id) + " ";
    }
    seen.push_back(s);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"127.0.0.1:1 epoch 2: t3..7", "127.0.0.1:2 epoch 0: a b ",
                                            "127.0.0.1:2 epoch 0: c "}));
}

TEST(ClusterConfigTest, AcceptsIpv6AndComparesCanonically) {
  StatusOr<ClusterConfig> config = ParseClusterConfig(
      "- token: v6\n"
      "  writer: \"[0:0:0:0:0:0:0:1]:7000\"\n"
      "  readers: [\"[::1]:7000\", \"[FE80::1]:7001\", 10.0.0.1:7002]\n",
      "<inline>");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const TokenReplication token = All(*config)[0];
  EXPECT_EQ(token.writer(), "[::1]:7000");
  EXPECT_EQ(token.readers(),
            (std::vector<std::string>{"[::1]:7000", "[fe80::1]:7001", "10.0.0.1:7002"}));
  EXPECT_EQ(token.Replicas().size(), 3u);
  EXPECT_EQ(token.RoleOf("[::1]:7000"), Role::kWriterAndReader);
  // Another spelling of the same address finds the same node.
  EXPECT_EQ(token.RoleOf("[0::1]:7000"), Role::kWriterAndReader);
  EXPECT_EQ(token.RoleOf("[fe80:0::1]:7001"), Role::kReader);
  EXPECT_EQ(Ids(TokensOf(*config, "[FE80::1]:7001")), (std::vector<std::string>{"v6"}));
}

TEST(ClusterConfigTest, RoleNames) {
  EXPECT_STREQ(RoleName(Role::kNone), "none");
  EXPECT_STREQ(RoleName(Role::kWriter), "writer");
  EXPECT_STREQ(RoleName(Role::kReader), "reader");
  EXPECT_STREQ(RoleName(Role::kWriterAndReader), "writer+reader");
}

// --- Bad files --------------------------------------------------------------------------------

TEST(ClusterConfigTest, DuplicateTokenIds) {
  const std::string path = TestFile("duplicate-ids.yaml");
  const Status status = LoadClusterConfig(path).status();
  // `1` and "1" are the same id; the exact wording is the one documented in the header.
  ASSERT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), path + ":7: token \"1\" is listed twice (first at line 1)");
}

TEST(ClusterConfigTest, BadPorts) {
  const std::string path = TestFile("bad-ports.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{2, {"token \"1\"", "writer \"127.0.0.1:0\"", "port 0", "out of range 1..65535"}},
                {3, {"reader \"127.0.0.1:65536\"", "port 65536", "out of range"}},
                {3, {"reader \"127.0.0.1:abc\"", "port \"abc\"", "not a decimal number"}},
                {3, {"reader \"127.0.0.1\"", "\":<port>\" is missing"}},
                {5, {"token \"2\"", "writer \"127.0.0.1:050051\"", "leading zero"}},
                {6, {"reader \"127.0.0.1:+80\"", "not a decimal number"}},
                {6, {"reader \"127.0.0.1:\"", "port number", "missing"}}});
}

TEST(ClusterConfigTest, BadIpAddresses) {
  const std::string path = TestFile("bad-ip.yaml");
  ExpectErrors(
      LoadClusterConfig(path).status(), path,
      {{2, {"writer \"256.0.0.1:50051\"", "\"256.0.0.1\" is not an IPv4 address"}},
       {4, {"reader \"localhost:50052\"", "not an IPv4 address", "host names are not accepted"}},
       {5, {"reader \"127.0.0:50053\"", "not an IPv4 address"}},
       {6, {"reader \"::1:50054\"", "IPv6", "brackets"}}});
}

TEST(ClusterConfigTest, MissingKeys) {
  const std::string path = TestFile("missing-keys.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{1, {"token \"1\"", "\"writer\" key is missing"}},
                {3, {"entry 2", "\"token\" key is missing"}},
                {5, {"token \"3\"", "\"readers\" key is missing"}}});
}

TEST(ClusterConfigTest, UnknownKeysAreNamedWithSuggestion) {
  const std::string path = TestFile("unknown-keys.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{1, {"token \"1\"", "\"readers\" key is missing"}},
                {3, {"unknown key \"reader\"", "did you mean \"readers\"?"}},
                {4, {"unknown key \"quorum\"", "known keys are token (or tokens), writer, readers"}}});
  const Status status = LoadClusterConfig(path).status();
  // Nothing is close to "quorum", so no guess is offered for it.
  EXPECT_EQ(SplitLines(status.message())[2].find("did you mean"), std::string::npos);
}

TEST(ClusterConfigTest, ReadersNotAList) {
  const std::string path = TestFile("readers-not-list.yaml");
  ExpectErrors(
      LoadClusterConfig(path).status(), path,
      {{3, {"token \"1\"", "\"readers\" is a scalar (\"127.0.0.1:50052\")", "expected a list"}},
       {6, {"token \"2\"", "\"readers\" is a map", "expected a list"}}});
}

TEST(ClusterConfigTest, EmptyReaders) {
  const std::string path = TestFile("empty-readers.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{3, {"token \"1\"", "\"readers\" is empty", "at least one reader"}},
                // A missing value is reported at its key, not at the next entry.
                {6, {"token \"2\"", "\"readers\" has no value", "expected a list"}}});
}

TEST(ClusterConfigTest, EmptyFile) {
  for (const char* name : {"empty.yaml", "comments-only.yaml"}) {
    const std::string path = TestFile(name);
    ExpectErrors(LoadClusterConfig(path).status(), path,
                 {{1, {"file is empty", "expected a list of token entries"}}});
  }
  ExpectErrors(ParseClusterConfig("---\n", "<inline>").status(), "<inline>",
               {{1, {"file is empty"}}});
  ExpectErrors(ParseClusterConfig("[]\n", "<inline>").status(), "<inline>",
               {{1, {"token list is empty"}}});
}

TEST(ClusterConfigTest, NotYamlReportsParserLine) {
  const std::string path = TestFile("not-yaml.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{4, {"not valid YAML", "end of sequence flow not found"}}});
  ExpectErrors(ParseClusterConfig("- token: 1\n  writer: a: b\n", "<inline>").status(), "<inline>",
               {{2, {"not valid YAML", "column"}}});
  ExpectErrors(ParseClusterConfig("- token: 1\n\t- writer\n", "<inline>").status(), "<inline>",
               {{2, {"not valid YAML"}}});
  ExpectErrors(ParseClusterConfig("- token: *nowhere\n", "<inline>").status(), "<inline>",
               {{1, {"not valid YAML", "anchor"}}});
}

TEST(ClusterConfigTest, EntryNotAMap) {
  const std::string path = TestFile("entry-not-map.yaml");
  ExpectErrors(
      LoadClusterConfig(path).status(), path,
      {{4,
        {"entry 2 is a scalar (\"127.0.0.1:50051\")", "expected a map", "token (or tokens), writer, readers"}},
       {5, {"entry 3 is a list", "expected a map"}}});
}

TEST(ClusterConfigTest, TopLevelNotAList) {
  const std::string path = TestFile("top-level-map.yaml");
  ExpectErrors(LoadClusterConfig(path).status(), path,
               {{1, {"top level is a map", "expected a list of token entries"}}});
  ExpectErrors(ParseClusterConfig("just some words\n", "<inline>").status(), "<inline>",
               {{1, {"top level is a scalar (\"just some words\")", "expected a list"}}});
}

TEST(ClusterConfigTest, ReportsAllErrorsTogether) {
  const std::string path = TestFile("multiple-errors.yaml");
  ExpectErrors(
      LoadClusterConfig(path).status(), path,
      {{3, {"token \"1\"", "writer \"127.0.0.1:99999\"", "out of range"}},
       {4, {"token \"1\"", "reader \"127.0.0.1:50052\" is listed twice", "first at line 4"}},
       {5, {"token \"2\"", "\"writer\" key is missing"}},
       {6, {"token \"2\"", "unknown key \"writr\"", "did you mean \"writer\"?"}},
       {8, {"token \"1\" is listed twice (first at line 2)"}},
       {9, {"token \"1\"", "\"writer\" is a list", "expected one access point"}},
       {10, {"token \"1\"", "\"readers\" is empty"}}});
}

TEST(ClusterConfigTest, MissingFileNamesPathAndErrno) {
  const std::string path = TestFile("no-such-file.yaml");
  const Status status = LoadClusterConfig(path).status();
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "cannot open cluster config \"" + path + "\": No such file or directory");

  // A directory opens but cannot be read; that must not pass for an empty file.
  const Status dir = LoadClusterConfig(TOKENSTORE_CONFIG_TESTDATA).status();
  EXPECT_FALSE(dir.ok());
  EXPECT_NE(dir.message().find(TOKENSTORE_CONFIG_TESTDATA), std::string::npos) << dir.message();
  EXPECT_NE(dir.message().find("Is a directory"), std::string::npos) << dir.message();
}

// --- Inline edge cases ------------------------------------------------------------------------

TEST(ClusterConfigTest, WrongValueTypes) {
  ExpectErrors(ParseClusterConfig("- token: [1, 2]\n"                       // 1
                                  "  writer: {host: 127.0.0.1, port: 1}\n"  // 2
                                  "  readers: [127.0.0.1:50052]\n"          // 3
                                  "- token: 2\n"                            // 4
                                  "  writer: 127.0.0.1:50051\n"             // 5
                                  "  readers:\n"                            // 6
                                  "    - {node: 127.0.0.1:50052}\n"         // 7
                                  "    - [127.0.0.1:50053]\n"               // 8
                                  "    -\n"                                 // 9
                                  "    - 127.0.0.1:50054\n",                // 10
                                  "<inline>")
                   .status(),
               "<inline>",
               {{1, {"entry 1", "\"token\" is a list", "expected a token id"}},
                {2, {"entry 1", "\"writer\" is a map", "expected one access point"}},
                {7, {"token \"2\"", "reader 1 is a map", "expected an access point"}},
                {8, {"token \"2\"", "reader 2 is a list"}},
                {9, {"token \"2\"", "reader 3 is empty"}}});
}

TEST(ClusterConfigTest, MissingValuesPointAtTheirKey) {
  ExpectErrors(ParseClusterConfig("- token:\n"                  // 1
                                  "  writer:   # TODO\n"        // 2
                                  "\n"                          // 3
                                  "  # readers come later\n"    // 4
                                  "  readers: [127.0.0.1:1]\n"  // 5
                                  "-\n"                         // 6
                                  "# trailing comment\n"        // 7
                                  "- token: ~\n",               // 8
                                  "<inline>")
                   .status(),
               "<inline>",
               {{1, {"entry 1", "\"token\" has no value"}},
                {2, {"entry 1", "\"writer\" has no value"}},
                {6, {"entry 2 is empty", "expected a map"}},
                {8, {"entry 3", "\"token\" has no value"}},
                {8, {"entry 3", "\"writer\" key is missing"}},
                {8, {"entry 3", "\"readers\" key is missing"}}});
}

TEST(ClusterConfigTest, WindowsLineEndings) {
  const std::string good =
      "# comment\r\n- token: 1\r\n  writer: 127.0.0.1:1\r\n  readers: [127.0.0.1:2]\r\n";
  StatusOr<ClusterConfig> config = ParseClusterConfig(good, "<crlf>");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(All(*config)[0].line(), 2);
  ExpectErrors(
      ParseClusterConfig("- token: 1\r\n  writer:\r\n  readers: [127.0.0.1:2]\r\n", "<crlf>")
          .status(),
      "<crlf>", {{2, {"\"writer\" has no value"}}});
}

TEST(ClusterConfigTest, DuplicateReadersAndKeys) {
  ExpectErrors(ParseClusterConfig("- token: 1\n"
                                  "  writer: 127.0.0.1:50051\n"
                                  "  readers: [\"[::1]:80\", 127.0.0.1:50051]\n"
                                  "  writer: 127.0.0.1:50052\n"
                                  "- token: 2\n"
                                  "  writer: 127.0.0.1:50051\n"
                                  "  readers:\n"
                                  "    - \"[::1]:80\"\n"
                                  "    - \"[0::1]:80\"\n",
                                  "<inline>")
                   .status(),
               "<inline>",
               {{4, {"token \"1\"", "key \"writer\" appears twice", "first at line 2"}},
                {9, {"token \"2\"", "reader \"[0::1]:80\" is listed twice", "first at line 8"}}});
}

TEST(ClusterConfigTest, TokenIdRules) {
  const auto parse = [](const std::string& token_value) {
    return ParseClusterConfig(
        "- token: " + token_value + "\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n",
        "ids.yaml");
  };
  EXPECT_TRUE(parse(std::string(128, 'x')).ok());
  EXPECT_TRUE(parse("tok-1/a.b_c").ok());
  EXPECT_EQ(All(*parse("007"))[0].id, "007");  // a string, not a number

  ExpectErrors(parse("\"\"").status(), "ids.yaml", {{1, {"entry 1", "token id is empty"}}});
  ExpectErrors(parse(std::string(129, 'x')).status(), "ids.yaml",
               {{1, {"129 bytes long", "limit is 128"}}});
  ExpectErrors(parse("\"a b\"").status(), "ids.yaml",
               {{1, {"token id \"a b\"", "whitespace or a non-printable character"}}});
  ExpectErrors(parse("\"a\\tb\"").status(), "ids.yaml",
               {{1, {"token id \"a\\x09b\"", "whitespace"}}});
  ExpectErrors(parse("\"caf\xc3\xa9\"").status(), "ids.yaml",
               {{1, {"token id \"caf\\xc3\\xa9\"", "printable ASCII"}}});
}

TEST(ClusterConfigTest, MultipleDocumentsAreRejected) {
  ExpectErrors(ParseClusterConfig("- token: 1\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n"
                                  "---\n"
                                  "- token: 2\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n",
                                  "<inline>")
                   .status(),
               "<inline>", {{5, {"2 YAML documents", "expected one"}}});
}

TEST(ClusterConfigTest, DeepNestingIsReportedPlainly) {
  ExpectErrors(ParseClusterConfig(std::string(5000, '['), "<inline>").status(), "<inline>",
               {{1, {"not valid YAML", "nesting is deeper than"}}});
}

TEST(ClusterConfigTest, HostileInputNeverThrows) {
  // yaml-cpp throws for all of these; the loader must turn each into a Status.
  const std::vector<std::string> inputs = {
      std::string(100000, '['),
      std::string("\x00\x01\x02\xff\xfe", 5),
      "- &a [*a]\n",
      "- token: 1\n  <<: *x\n",
      "? [a, b]\n: c\n",
      "- {token: 1, writer: 127.0.0.1:1, readers: [127.0.0.1:2], ? [k] : v}\n",
  };
  for (const std::string& input : inputs) {
    StatusOr<ClusterConfig> config = ParseClusterConfig(input, "<hostile>");
    EXPECT_FALSE(config.ok());
    EXPECT_EQ(config.status().message().rfind("<hostile>", 0), 0u) << config.status().message();
  }
}

// Found by fuzz_cluster_config (inputs kept in fuzz/corpus/fuzz_cluster_config/).
TEST(ClusterConfigTest, StrayCommaIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll loops forever on these, adding an empty document each turn.
  ExpectErrors(ParseClusterConfig(",", "<inline>").status(), "<inline>",
               {{1, {"not valid YAML", "cannot read past \",\"", "(column 1)"}}});
  ExpectErrors(ParseClusterConfig("#]\n, ", "<inline>").status(), "<inline>",
               {{2, {"not valid YAML", "cannot read past \",\""}}});
  ExpectErrors(ParseClusterConfig("- token: 1\n  writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n"
                                  "- [1, 127.0.0.1:3]\n, 127.0.0.1:4]\n",
                                  "<inline>")
                   .status(),
               "<inline>", {{5, {"not valid YAML", "cannot read past \",\"", "(column 1)"}}});
}

TEST(ClusterConfigTest, YamlCppMessagesStayOnOneLine) {
  // yaml-cpp quotes the offending character in some messages; here it is a newline.
  const Status status = ParseClusterConfig(std::string("\xff\x00\n", 3), "<inline>").status();
  ExpectErrors(status, "<inline>", {{2, {"not valid YAML", "unknown escape character: \\x0a"}}});
}

// --- Many tokens in one entry ("tokens": a list or a range) -----------------------------------

std::vector<std::string> AllIds(const ClusterConfig& config) {
  std::vector<std::string> ids;
  for (const TokenReplication& token : All(config)) ids.push_back(token.id);
  return ids;
}

// A one-entry file whose first key is `ids` ("token: 1", "tokens: [a]", ...).
std::string Entry(const std::string& ids, const std::string& writer = "127.0.0.1:1",
                  const std::string& readers = "[127.0.0.1:2]") {
  return "- " + ids + "\n  writer: " + writer + "\n  readers: " + readers + "\n";
}

TEST(ClusterConfigTest, ListsAndRangesExpandInFileOrder) {
  const std::string path = TestFile("many-tokens.yaml");
  StatusOr<ClusterConfig> config = LoadClusterConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(AllIds(*config),
            (std::vector<std::string>{"1",      "a",      "b",      "7",        "t0",  "t1",
                                      "t2",     "t3",     "t4",     "t5",       "t6",  "t7",
                                      "t8",     "t9",     "t10",    "t11",      "user-98",
                                      "user-99", "user-100", "user-101", "x",   "y",   "t12",
                                      "t13",    "t14",    "t15",    "t01",      "100", "101",
                                      "102"}));
    for (const TokenReplication& token : All(*config)) {
    EXPECT_EQ(config->Find(token.id)->set, token.set) << token.id;
  }
  // Each id carries its entry's writer, readers and line.
  const std::optional<TokenReplication> b = config->Find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->line(), 5);
  EXPECT_EQ(b->writer(), kN2);
  EXPECT_EQ(b->Replicas(), (std::vector<std::string>{kN2, kN3, kN4}));
  const std::optional<TokenReplication> t11 = config->Find("t11");
  ASSERT_TRUE(t11);
  EXPECT_EQ(t11->line(), 8);
  EXPECT_EQ(t11->readers(), (std::vector<std::string>{kN3, kN2, kN1}));
  EXPECT_EQ(t11->RoleOf(kN1), Role::kWriterAndReader);
  EXPECT_EQ(t11->Quorum(), 2u);
  EXPECT_EQ(config->Find("user-100")->line(), 11);  // the entry's line, not its map's
  EXPECT_EQ(config->Find("y")->writer(), kN4);
  // Not padded, "to" inclusive.
  EXPECT_FALSE(config->Find("t00"));
  EXPECT_FALSE(config->Find("user-097"));
  EXPECT_FALSE(config->Find("user-102"));
  EXPECT_EQ(Ids(TokensOf(*config, kN5)), (std::vector<std::string>{"user-98", "user-99",
                                                                  "user-100", "user-101", "x",
                                                                  "y"}));
}

TEST(ClusterConfigTest, FingerprintIsTheSameWhicheverFormNamesTheToken) {
  const std::string readers = "[127.0.0.1:3, 127.0.0.1:1, 127.0.0.1:2]";
  const std::string reordered = "[127.0.0.1:2, 127.0.0.1:3, 127.0.0.1:1]";
  const std::string w = "127.0.0.1:1";
  ReplicaSet by_hand;
  by_hand.writer = w;
  by_hand.readers = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
  for (const std::string& yaml :
       {Entry("token: t5", w, readers), Entry("tokens: [t5]", w, readers),
        Entry("tokens: [t4, t5, t6]", w, readers),
        Entry("tokens: {prefix: t, from: 0, to: 9}", w, reordered),
        Entry("tokens: {prefix: \"\", from: 1, to: 2}", w, readers) +
            Entry("tokens: {prefix: t, from: 5, to: 5}", w, readers)}) {
    SCOPED_TRACE(yaml);
    StatusOr<ClusterConfig> config = ParseClusterConfig(yaml, "<inline>");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    const std::optional<TokenReplication> t5 = config->Find("t5");
    ASSERT_TRUE(t5);
    EXPECT_EQ(t5->set->fingerprint, by_hand.ComputeFingerprint());
    EXPECT_EQ(t5->Fingerprint(), by_hand.Fingerprint());
    for (const TokenReplication& token : All(*config)) {
      EXPECT_EQ(token.set->fingerprint, token.set->ComputeFingerprint()) << token.id;
    }
  }
}

TEST(ClusterConfigTest, RepeatedIdsAcrossFormsNameBothLines) {
  const std::string path = TestFile("many-tokens-repeats.yaml");
  const Status status = LoadClusterConfig(path).status();
  ExpectErrors(status, path,
               {{4, {"token \"a\" at line 4 is also at line 1"}},
                {9, {"token \"c\" at line 9 is also at line 4"}},
                {12, {"token \"d\" at line 12 is also at line 8"}},
                {18, {"token \"t5\" at line 18 is also at line 15"}},   // two ranges
                {21, {"token \"t12\" at line 21 is also at line 18"}},  // a token in a range
                {24, {"token \"t13\" at line 24 is also at line 18"}},  // t1 3..30 vs t 5..14
                {27, {"token \"x\" at line 27 is also at line 27"}},    // within one list
                {27, {"token \"t110\" at line 27 is also at line 24"}}});
  // The exact form of one of them.
  EXPECT_EQ(SplitLines(status.message())[3], path + ":18: token \"t5\" at line 18 is also at line 15");
}

TEST(ClusterConfigTest, OverlapsBetweenRangesOfRelatedPrefixes) {
  const auto check = [](const std::string& first, const std::string& second,
                        const std::string& shared) {
    SCOPED_TRACE(first + " / " + second);
    const std::string yaml = Entry("tokens: " + first) + Entry("tokens: " + second);
    if (shared.empty()) {
      EXPECT_TRUE(ParseClusterConfig(yaml, "<inline>").ok())
          << ParseClusterConfig(yaml, "<inline>").status().ToString();
    } else {
      ExpectErrors(ParseClusterConfig(yaml, "<inline>").status(), "<inline>",
                   {{4, {"token \"" + shared + "\" at line 4 is also at line 1"}}});
    }
  };
  check("{prefix: t, from: 0, to: 9}", "{prefix: t, from: 10, to: 19}", "");
  check("{prefix: t, from: 0, to: 9}", "{prefix: t, from: 9, to: 19}", "t9");
  check("{prefix: t, from: 5, to: 5}", "{prefix: t, from: 0, to: 100}", "t5");
  check("{prefix: t, from: 0, to: 9}", "{prefix: t1, from: 0, to: 9}", "");  // t10..t19
  check("{prefix: t, from: 0, to: 10}", "{prefix: t1, from: 0, to: 9}", "t10");
  check("{prefix: t1, from: 0, to: 9}", "{prefix: t, from: 15, to: 15}", "t15");
  check("{prefix: t, from: 0, to: 999999}", "{prefix: t99, from: 0, to: 99}", "t990");
  check("{prefix: t, from: 1000, to: 1999}", "{prefix: t12, from: 0, to: 9}", "");  // t120..t129
  check("{prefix: t, from: 1000, to: 1999}", "{prefix: t12, from: 10, to: 99}", "t1210");
  check("{prefix: t, from: 0, to: 999}", "{prefix: t0, from: 0, to: 999}", "");  // leading 0
  check("{prefix: \"\", from: 0, to: 99}", "{prefix: \"4\", from: 2, to: 2}", "42");
  check("{prefix: a, from: 0, to: 9}", "{prefix: b, from: 0, to: 9}", "");
  check("[t3, t40]", "{prefix: t, from: 4, to: 40}", "t40");
  check("{prefix: t, from: 4, to: 40}", "[t3, t04, t4]", "t4");
}

TEST(ClusterConfigTest, TokensFormErrors) {
  ExpectErrors(
      ParseClusterConfig(Entry("tokens: []") +                                          // 1
                             Entry("tokens:") +                                         // 4
                             Entry("tokens: t1") +                                      // 7
                             Entry("tokens: [a, [b], {c: 1}, \"\", \"d e\"]") +         // 10
                             Entry("token: 1\n  tokens: [2]") +                         // 13
                             "- writer: 127.0.0.1:1\n  readers: [127.0.0.1:2]\n" +      // 17
                             Entry("tokens:\n    - p\n    -\n    - q"),                 // 19
                         "<inline>")
          .status(),
      "<inline>",
      {{1, {"entry 1", "\"tokens\" is an empty list", "at least one id"}},
       {4, {"entry 2", "\"tokens\" has no value", "tokens: [a, b, c]", "prefix: t, from: 0"}},
       {7, {"entry 3", "\"tokens\" is a scalar (\"t1\")", "expected a list of ids"}},
       {10, {"tokens \"a\" ... \"d e\" (5 ids)", "id 2 of \"tokens\" is a list", "a token id"}},
       {10, {"id 3 of \"tokens\" is a map"}},
       {10, {"token id is empty"}},
       {10, {"token id \"d e\"", "whitespace"}},
       {14, {"entry 5", "both \"token\" and \"tokens\""}},
       {17, {"entry 6", "\"token\" key is missing", "or \"tokens\""}},
       {21, {"tokens \"p\" ... \"q\" (3 ids)", "id 2 of \"tokens\" is empty"}}});
}

TEST(ClusterConfigTest, RangeErrors) {
  ExpectErrors(
      ParseClusterConfig(
          Entry("tokens: {prefix: t, from: 5, to: 4}") +                          // 1
          Entry("tokens: {prefix: t, from: 007, to: 9}") +                        // 4
          Entry("tokens: {prefix: t, from: -1, to: 1e3}") +                       // 7
          Entry("tokens: {prefix: t, from: 0}") +                                 // 10
          Entry("tokens: {prefix: t, from: 0, to: 1, step: 2, form: 0}") +        // 13
          Entry("tokens: {prefix: [t], from: 0, to:}") +                          // 16
          Entry("tokens: {prefix: \"a b\", from: 0, to: 1}") +                    // 19
          Entry("tokens: {prefix: t, from: 0, to: 1000000000000000000}") +        // 22
          Entry("tokens: {prefix: " + std::string(126, 'p') + ", from: 0, to: 100}") +  // 25
          Entry("tokens: {prefix: v, from: 0, to: 9, to: 8}") +                   // 28
          Entry("tokens: {prefix: u, from: 0, to: 9}", "127.0.0.1:0", "[]"),      // 31
          "<inline>")
          .status(),
      "<inline>",
      {{1, {"entry 1", "the range is empty", "from 5 is greater than to 4", "inclusive"}},
       {4, {"entry 2", "\"from\" \"007\" has a leading zero", "not zero-padded"}},
       {7, {"entry 3", "\"from\" \"-1\" is not a decimal number"}},
       {7, {"entry 3", "\"to\" \"1e3\" is not a decimal number"}},
       {10, {"entry 4", "the range of \"tokens\" has no \"to\" key"}},
       {13, {"tokens \"t0\" ... \"t1\"", "unknown key \"step\" in the range", "prefix, from, to"}},
       {13, {"unknown key \"form\"", "did you mean \"from\"?"}},
       {16, {"entry 6", "\"prefix\" is a list", "expected the text before each number"}},
       {16, {"entry 6", "\"to\" has no value"}},
       {19, {"entry 7", "prefix \"a b\"", "whitespace"}},
       {22, {"entry 8", "\"to\" \"1000000000000000000\" is larger than 999999999999999999"}},
       {25, {"entry 9", "its last id", "129 bytes long", "limit is 128"}},
       {28, {"tokens \"v0\" ... \"v9\"", "in the range of \"tokens\"", "key \"to\" appears twice"}},
       {32, {"tokens \"u0\" ... \"u9\"", "writer \"127.0.0.1:0\"", "out of range"}},
       {33, {"tokens \"u0\" ... \"u9\"", "\"readers\" is empty"}}});
}

TEST(ClusterConfigTest, BlockStyleRangeErrorsPointAtTheirLines) {
  ExpectErrors(ParseClusterConfig("- tokens:\n"           // 1
                                  "    prefix: t\n"       // 2
                                  "    from: x\n"         // 3
                                  "    to: 5\n"           // 4
                                  "    prefx: t\n"        // 5
                                  "  writer: 127.0.0.1:1\n"
                                  "  readers: [127.0.0.1:2]\n",
                                  "<inline>")
                   .status(),
               "<inline>",
               {{3, {"entry 1", "\"from\" \"x\" is not a decimal number"}},
                {5, {"unknown key \"prefx\" in the range", "did you mean \"prefix\"?"}}});
}

TEST(ClusterConfigTest, TooManyIdsInAFile) {
  // The default limit, 10,000,000 ids per file, is checked before anything is expanded.
  ExpectErrors(ParseClusterConfig(Entry("tokens: {prefix: t, from: 1, to: 10000001}"),
                                  "<inline>")
                   .status(),
               "<inline>",
               {{1, {"tokens \"t1\" ... \"t10000001\"", "names 10,000,001 ids",
                     "at most 10,000,000 token ids in all"}}});
  ExpectErrors(ParseClusterConfig(Entry("tokens: {prefix: t, from: 0, to: 999999999999999999}"),
                                  "<inline>")
                   .status(),
               "<inline>", {{1, {"names 1,000,000,000,000,000,000 ids"}}});
  // Counted over the whole file: ids, lists and ranges together; reported once.
  const std::string yaml = Entry("token: a") + Entry("tokens: [b, c]") +
                           Entry("tokens: {prefix: t, from: 0, to: 5}") +
                           Entry("tokens: {prefix: u, from: 0, to: 5}");
  EXPECT_TRUE(ParseClusterConfig(yaml, "<inline>", 15).ok());
  ExpectErrors(ParseClusterConfig(yaml, "<inline>", 14).status(), "<inline>",
               {{10, {"tokens \"u0\" ... \"u5\"", "names 6 ids, 9 named before it",
                      "at most 14 token ids"}}});
  ExpectErrors(ParseClusterConfig(yaml, "<inline>", 2).status(), "<inline>",
               {{4, {"names 2 ids, 1 named before it", "at most 2 token ids"}}});
}

// Find() recognizes a range's ids by their form (the ranges are never expanded): gaps between
// ranges of one prefix, numbers written with leading zeros, a bare prefix and numbers past the
// 18-digit limit are not ids; prefixes that are prefixes of each other are told apart.
TEST(ClusterConfigTest, FindRecognizesRangeIdsByTheirForm) {
  StatusOr<ClusterConfig> config = ParseClusterConfig(
      Entry("tokens: {prefix: t, from: 0, to: 9}", "127.0.0.1:1") +
          Entry("tokens: {prefix: t, from: 20, to: 29}", "127.0.0.1:2") +
          Entry("tokens: {prefix: t1x, from: 5, to: 7}", "127.0.0.1:3") +
          Entry("tokens: {prefix: \"\", from: 1000, to: 1002}", "127.0.0.1:4") +
          Entry("tokens: [t15, t30]", "127.0.0.1:5"),
      "<inline>");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->size(), 10u + 10u + 3u + 3u + 2u);
  const auto writer_of = [&](std::string_view id) -> std::string {
    const std::optional<TokenReplication> t = config->Find(id);
    return t ? t->writer() : "none";
  };
  EXPECT_EQ(writer_of("t0"), "127.0.0.1:1");
  EXPECT_EQ(writer_of("t9"), "127.0.0.1:1");
  EXPECT_EQ(writer_of("t10"), "none");  // the gap between the two ranges
  EXPECT_EQ(writer_of("t15"), "127.0.0.1:5");  // named one by one, inside the gap
  EXPECT_EQ(writer_of("t20"), "127.0.0.1:2");
  EXPECT_EQ(writer_of("t29"), "127.0.0.1:2");
  EXPECT_EQ(writer_of("t30"), "127.0.0.1:5");
  EXPECT_EQ(writer_of("t31"), "none");
  EXPECT_EQ(writer_of("t05"), "none");  // leading zero
  EXPECT_EQ(writer_of("t"), "none");
  EXPECT_EQ(writer_of("t1x6"), "127.0.0.1:3");
  EXPECT_EQ(writer_of("t1x8"), "none");
  EXPECT_EQ(writer_of("1001"), "127.0.0.1:4");
  EXPECT_EQ(writer_of("01001"), "none");
  EXPECT_EQ(writer_of("t1234567890123456789"), "none");  // 19 digits
  EXPECT_EQ(writer_of("x20"), "none");
  // Every id ForEach names is found, with its own entry's set.
  for (const TokenReplication& t : All(*config)) {
    const std::optional<TokenReplication> found = config->Find(t.id);
    ASSERT_TRUE(found) << t.id;
    EXPECT_EQ(found->set, t.set) << t.id;
  }
  EXPECT_EQ(config->CountOf("127.0.0.1:2"), 10u + 10u + 3u + 3u + 2u);  // the common reader
  EXPECT_EQ(config->CountOf("127.0.0.1:3"), 3u);
  EXPECT_EQ(config->FirstIds(3), (std::vector<std::string>{"t0", "t1", "t2"}));
}

TEST(ClusterConfigTest, LargeRangeLoads) {
  StatusOr<ClusterConfig> config = ParseClusterConfig(
      Entry("tokens: {prefix: t, from: 0, to: 99999}") + Entry("token: t100000"), "<inline>");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->size(), 100001u);
  const std::vector<TokenReplication> all = All(*config);
  ASSERT_EQ(all.size(), 100001u);
  EXPECT_EQ(all[12345].id, "t12345");
  EXPECT_EQ(config->Find("t99999")->set, all[99999].set);
  EXPECT_EQ(config->Find("t100000")->set, all[100000].set);
  EXPECT_NE(all[99999].set, all[100000].set);
  EXPECT_FALSE(config->Find("t100001"));
}

// --- ParseAccessPoint -------------------------------------------------------------------------

TEST(ParseAccessPointTest, AcceptsAndCanonicalizes) {
  EXPECT_EQ(ParseAccessPoint("127.0.0.1:50051").value(), "127.0.0.1:50051");
  EXPECT_EQ(ParseAccessPoint("0.0.0.0:1").value(), "0.0.0.0:1");
  EXPECT_EQ(ParseAccessPoint("255.255.255.255:65535").value(), "255.255.255.255:65535");
  EXPECT_EQ(ParseAccessPoint("[::1]:80").value(), "[::1]:80");
  EXPECT_EQ(ParseAccessPoint("[0:0:0:0:0:0:0:1]:80").value(), "[::1]:80");
  EXPECT_EQ(ParseAccessPoint("[2001:DB8::A]:443").value(), "[2001:db8::a]:443");
}

TEST(ParseAccessPointTest, RejectsWithReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "it is empty"},
      {"127.0.0.1", "\":<port>\" is missing"},
      {"127.0.0.1:", "port number after ':' is missing"},
      {"127.0.0.1:0", "port 0 is out of range 1..65535"},
      {"127.0.0.1:65536", "port 65536 is out of range 1..65535"},
      {"127.0.0.1:99999999999999999999", "out of range 1..65535"},
      {"127.0.0.1:abc", "port \"abc\" is not a decimal number"},
      {"127.0.0.1:-1", "not a decimal number"},
      {"127.0.0.1:+1", "not a decimal number"},
      {"127.0.0.1:080", "leading zero"},
      {":50051", "IP address before ':' is missing"},
      {"localhost:50051", "\"localhost\" is not an IPv4 address"},
      {"127.1:50051", "not an IPv4 address"},
      {"127.000.0.1:50051", "not an IPv4 address"},
      {"1.2.3.4.5:50051", "not an IPv4 address"},
      {"::1:50051", "must be written in brackets"},
      {"[::1:50051", "']' closing the IPv6 address is missing"},
      {"[::1]", "\":<port>\" after the address is missing"},
      {"[::1]50051", "expected ':'"},
      {"[127.0.0.1]:50051", "not an IPv6 address"},
      {"[::1%eth0]:50051", "not an IPv6 address"},
      {" 127.0.0.1:50051", "whitespace"},
      {"127.0.0.1:50051\n", "whitespace"},
      {std::string("127.0.0.1\0:1", 12), "non-printable"},
  };
  for (const auto& [text, reason] : cases) {
    const StatusOr<std::string> result = ParseAccessPoint(text);
    ASSERT_FALSE(result.ok()) << "accepted: " << text;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = result.status().message();
    EXPECT_NE(message.find(" is not a valid access point: "), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace tokenstore
