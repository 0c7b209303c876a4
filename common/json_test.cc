#include "common/json.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("abc"), "\"abc\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x7f", 2)), "\"\\u0001\x7f\"");
  EXPECT_EQ(JsonQuote("\xc3\xa9"), "\"\\u00c3\\u00a9\"");
}

TEST(JsonObject, BuildsOneLineInInsertionOrder) {
  JsonObject nested;
  nested.Add("ts", uint64_t{3}).AddNull("final");
  JsonObject o;
  o.Add("id", "1")
      .Add("max", UINT64_MAX)
      .Add("neg", -5)
      .Add("ok", true)
      .Add("partial", std::optional<uint64_t>())
      .Add("state", nested)
      .Add("tokens", std::vector<std::string>{"1", "2"});
  EXPECT_EQ(o.str(),
            "{\"id\":\"1\",\"max\":18446744073709551615,\"neg\":-5,\"ok\":true,"
            "\"partial\":null,\"state\":{\"ts\":3,\"final\":null},\"tokens\":[\"1\",\"2\"]}");
}

TEST(JsonObject, Uint64AsStringKeepsEveryDigit) {
  JsonObject o;
  o.AddUint64String("final", uint64_t{60570345165277511})
      .AddUint64String("max", UINT64_MAX)
      .AddUint64String("zero", uint64_t{0})
      .AddUint64String("some", std::optional<uint64_t>(7))
      .AddUint64String("none", std::optional<uint64_t>());
  EXPECT_EQ(o.str(),
            "{\"final\":\"60570345165277511\",\"max\":\"18446744073709551615\","
            "\"zero\":\"0\",\"some\":\"7\",\"none\":null}");
}

}  // namespace
}  // namespace tokenstore
