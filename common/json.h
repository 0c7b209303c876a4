// A tiny JSON object writer for log lines and --json output: one flat or nested object per
// line, fields in insertion order. No parsing, no external library.
//
// Thread-safety: a JsonObject is a plain value; use one per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenstore {

// `s` as a JSON string literal, quotes included. Control characters and every byte >= 0x80
// are escaped as \u00XX, so any bytes give valid JSON; a reader sees each byte as the code
// point of the same number (names are ASCII in practice, and then nothing changes).
std::string JsonQuote(std::string_view s);

class JsonObject {
 public:
  JsonObject& Add(std::string_view key, std::string_view value);
  JsonObject& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonObject& Add(std::string_view key, uint64_t value);
  JsonObject& Add(std::string_view key, int64_t value);
  JsonObject& Add(std::string_view key, int value) { return Add(key, int64_t{value}); }
  JsonObject& Add(std::string_view key, bool value);
  JsonObject& Add(std::string_view key, double value);
  JsonObject& Add(std::string_view key, const std::optional<uint64_t>& value);  // null if empty
  // A 64-bit integer as a decimal string, "60570345165277511", as protobuf's JSON mapping
  // writes uint64: JSON readers that keep numbers as doubles (jq 1.6, JavaScript) round
  // integers above 2^53. For token data (ts, domain bounds, hashes and their x).
  JsonObject& AddUint64String(std::string_view key, uint64_t value);
  JsonObject& AddUint64String(std::string_view key,
                              const std::optional<uint64_t>& value);  // null if empty
  JsonObject& AddNull(std::string_view key);
  JsonObject& Add(std::string_view key, const JsonObject& nested);
  JsonObject& Add(std::string_view key, const std::vector<std::string>& strings);

  // The object as one line, e.g. {"id":"1","final":"60570345165277511","millis":0.9}.
  std::string str() const { return "{" + body_ + "}"; }

 private:
  JsonObject& Raw(std::string_view key, std::string_view json);
  std::string body_;
};

}  // namespace tokenstore
