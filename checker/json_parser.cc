// Recursive descent over one line; positions are kept so every error names its column.
#include "checker/json_parser.h"

#include <charconv>
#include <cstdio>
#include <tuple>

namespace tokenstore::checker {

JsonValue::JsonValue() = default;
JsonValue::JsonValue(const JsonValue&) = default;
JsonValue::JsonValue(JsonValue&&) noexcept = default;
JsonValue& JsonValue::operator=(const JsonValue&) = default;
JsonValue& JsonValue::operator=(JsonValue&&) noexcept = default;
JsonValue::~JsonValue() = default;

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<uint64_t> ParseDecimalString(std::string_view s) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() ||
      (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  return n;
}

const char* JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kBool: return "a boolean";
    case JsonValue::Kind::kInteger: return "an integer";
    case JsonValue::Kind::kString: return "a string";
    case JsonValue::Kind::kObject: return "an object";
  }
  return "?";
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  StatusOr<JsonValue> ParseDocument() {
    SkipSpace();
    if (AtEnd()) return Error("empty line, expected a JSON object");
    if (Peek() != '{') return Error("expected '{' at the start of an event object");
    JsonValue v;
    TOKENSTORE_RETURN_IF_ERROR(ParseObject(1, &v));
    SkipSpace();
    if (!AtEnd()) return Error("unexpected content after the closing '}'");
    return v;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r' || Peek() == '\n')) {
      ++pos_;
    }
  }
  Status Error(const std::string& what) const { return ErrorAt(pos_, what); }
  static Status ErrorAt(size_t pos, const std::string& what) {
    return Status::InvalidArgument("column " + std::to_string(pos + 1) + ": " + what);
  }

  Status ParseValue(int depth, JsonValue* out) {
    SkipSpace();
    if (AtEnd()) return Error("unexpected end of line, expected a value");
    const char c = Peek();
    if (c == '{') return ParseObject(depth + 1, out);
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return ParseString(&out->string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseInteger(out);
    if (c == '[') return Error("arrays are not allowed in history events");
    for (const auto& [word, kind, boolean] :
         {std::tuple{"null", JsonValue::Kind::kNull, false},
          std::tuple{"true", JsonValue::Kind::kBool, true},
          std::tuple{"false", JsonValue::Kind::kBool, false}}) {
      const std::string_view w(word);
      if (text_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        out->kind = kind;
        out->boolean = boolean;
        return Status::Ok();
      }
    }
    return Error(std::string("unexpected character '") + c + "', expected a value");
  }

  Status ParseObject(int depth, JsonValue* out) {
    if (depth > max_depth_) return Error("objects nested too deeply");
    out->kind = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Error("expected a quoted key");
      const size_t key_pos = pos_;
      std::string key;
      TOKENSTORE_RETURN_IF_ERROR(ParseString(&key));
      if (out->Find(key) != nullptr) return ErrorAt(key_pos, "duplicate key \"" + key + "\"");
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Error("expected ':' after key \"" + key + "\"");
      ++pos_;
      JsonValue value;
      TOKENSTORE_RETURN_IF_ERROR(ParseValue(depth, &value));
      out->members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (AtEnd()) return Error("unexpected end of line inside an object");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or '}' in an object");
    }
  }

  Status ParseInteger(JsonValue* out) {
    const size_t start = pos_;
    out->kind = JsonValue::Kind::kInteger;
    out->negative = false;
    if (Peek() == '-') {
      out->negative = true;
      ++pos_;
    }
    if (AtEnd() || Peek() < '0' || Peek() > '9') return Error("expected a digit");
    if (Peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      return Error("leading zeros are not allowed");
    }
    uint64_t v = 0;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      const uint64_t d = static_cast<uint64_t>(Peek() - '0');
      if (v > (UINT64_MAX - d) / 10) return ErrorAt(start, "integer does not fit in 64 bits");
      v = v * 10 + d;
      ++pos_;
    }
    if (!AtEnd() && (Peek() == '.' || Peek() == 'e' || Peek() == 'E')) {
      return ErrorAt(start, "only integers are allowed (no fraction or exponent)");
    }
    if (out->negative && v > uint64_t{1} << 63) {
      return ErrorAt(start, "integer does not fit in 64 bits");
    }
    if (out->negative && v == 0) out->negative = false;  // "-0" is zero
    out->magnitude = v;
    return Status::Ok();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Status ParseHex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) return Error("\\u needs four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return ErrorAt(pos_ + i, "\\u needs four hex digits");
      }
    }
    pos_ += 4;
    *out = v;
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    const size_t start = pos_;
    ++pos_;  // opening quote
    out->clear();
    while (true) {
      if (AtEnd()) return ErrorAt(start, "unterminated string");
      const unsigned char c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("control character inside a string (must be escaped)");
      if (c != '\\') {
        *out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (AtEnd()) return ErrorAt(start, "unterminated string");
      const char e = Peek();
      ++pos_;
      switch (e) {
        case '"': *out += '"'; break;
        case '\\': *out += '\\'; break;
        case '/': *out += '/'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'n': *out += '\n'; break;
        case 'r': *out += '\r'; break;
        case 't': *out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          TOKENSTORE_RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") return Error("unpaired high surrogate in \\u escape");
            pos_ += 2;
            uint32_t low = 0;
            TOKENSTORE_RETURN_IF_ERROR(ParseHex4(&low));
            if (low < 0xDC00 || low > 0xDFFF) return Error("unpaired high surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return ErrorAt(pos_ - 2, std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  std::string_view text_;
  int max_depth_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<JsonValue> ParseJsonObject(std::string_view text, int max_depth) {
  return Parser(text, max_depth).ParseDocument();
}

}  // namespace tokenstore::checker
