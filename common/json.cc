#include "common/json.h"

#include <cstdio>

namespace tokenstore {

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x80) {
          // Non-ASCII bytes are escaped too: names are ASCII in practice, and this keeps the
          // output valid JSON whatever bytes a name holds.
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

JsonObject& JsonObject::Raw(std::string_view key, std::string_view json) {
  if (!body_.empty()) body_ += ',';
  body_ += JsonQuote(key);
  body_ += ':';
  body_ += json;
  return *this;
}

JsonObject& JsonObject::Add(std::string_view key, std::string_view value) {
  return Raw(key, JsonQuote(value));
}
JsonObject& JsonObject::Add(std::string_view key, uint64_t value) {
  return Raw(key, std::to_string(value));
}
JsonObject& JsonObject::Add(std::string_view key, int64_t value) {
  return Raw(key, std::to_string(value));
}
JsonObject& JsonObject::Add(std::string_view key, bool value) {
  return Raw(key, value ? "true" : "false");
}
JsonObject& JsonObject::Add(std::string_view key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return Raw(key, buf);
}
JsonObject& JsonObject::Add(std::string_view key, const std::optional<uint64_t>& value) {
  return value ? Add(key, *value) : AddNull(key);
}
JsonObject& JsonObject::AddUint64String(std::string_view key, uint64_t value) {
  return Raw(key, "\"" + std::to_string(value) + "\"");
}
JsonObject& JsonObject::AddUint64String(std::string_view key,
                                        const std::optional<uint64_t>& value) {
  return value ? AddUint64String(key, *value) : AddNull(key);
}
JsonObject& JsonObject::AddNull(std::string_view key) { return Raw(key, "null"); }
JsonObject& JsonObject::Add(std::string_view key, const JsonObject& nested) {
  return Raw(key, nested.str());
}
JsonObject& JsonObject::Add(std::string_view key, const std::vector<std::string>& strings) {
  std::string arr = "[";
  for (size_t i = 0; i < strings.size(); ++i) {
    if (i) arr += ',';
    arr += JsonQuote(strings[i]);
  }
  arr += ']';
  return Raw(key, arr);
}

}  // namespace tokenstore
