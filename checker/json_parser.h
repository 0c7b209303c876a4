// A small, strict JSON parser for the flat event objects of history files (SPEC section 9).
//
// Accepts exactly: objects, strings (all JSON escapes, \u with surrogate pairs, decoded to
// UTF-8), integers (-2^63 .. 2^64-1), null, true and false, nested objects up to a depth
// limit. Rejects arrays, fractions and exponents, leading zeros, duplicate keys, raw control
// characters in strings and trailing content, with a message naming the column. A history is
// evidence; guessing at a malformed line would weaken it.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tokenstore::checker {

struct JsonValue {
  enum class Kind { kNull, kBool, kInteger, kString, kObject };
  // Defined in the .cc, where JsonValue is complete: clang 14 would otherwise instantiate
  // the destructor of `members` (constexpr in C++20) while JsonValue is still incomplete.
  JsonValue();
  JsonValue(const JsonValue&);
  JsonValue(JsonValue&&) noexcept;
  JsonValue& operator=(const JsonValue&);
  JsonValue& operator=(JsonValue&&) noexcept;
  ~JsonValue();

  Kind kind = Kind::kNull;
  bool boolean = false;
  // Integers: magnitude and sign, so both uint64 and negative int64 values fit.
  bool negative = false;
  uint64_t magnitude = 0;
  std::string string;
  std::vector<std::pair<std::string, JsonValue>> members;  // objects, in file order

  // nullptr if this is not an object or has no such member.
  const JsonValue* Find(std::string_view key) const;
};

// "null", "an integer", ...: for messages that say what was found instead.
const char* JsonKindName(JsonValue::Kind kind);

// A 64-bit unsigned integer written as a JSON string, as protobuf's JSON mapping writes them:
// "0" or decimal digits without a leading zero, at most 2^64-1. nullopt for anything else
// ("", "-1", "007", "1.5", " 1", "18446744073709551616").
std::optional<uint64_t> ParseDecimalString(std::string_view s);

// Parses `text` as exactly one JSON object (surrounding whitespace allowed). `max_depth` is
// the deepest object nesting accepted (1: no nested objects). INVALID_ARGUMENT with
// "column N: ..." (1-based) on anything else.
StatusOr<JsonValue> ParseJsonObject(std::string_view text, int max_depth);

}  // namespace tokenstore::checker
