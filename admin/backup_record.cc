#include "admin/backup_record.h"

#include <algorithm>
#include <array>

#include "checker/json_parser.h"
#include "common/json.h"

namespace tokenstore {
namespace {

using checker::JsonValue;

constexpr std::array<const char*, 11> kKeys = {
    "id", "state", "ts", "name", "low", "mid", "high", "partial", "partial_x", "final", "final_x"};
constexpr std::array<const char*, 8> kValueKeys = {"name",    "low",       "mid",   "high",
                                                   "partial", "partial_x", "final", "final_x"};

std::string Found(const JsonValue& v) {
  if (v.kind == JsonValue::Kind::kString) return "\"" + v.string + "\"";
  return checker::JsonKindName(v.kind);
}

Status FieldError(std::string_view key, const std::string& what) {
  return Status::InvalidArgument("\"" + std::string(key) + "\" " + what);
}

// A 64-bit integer written as a decimal string: "0" or digits without a leading zero.
StatusOr<uint64_t> Decimal(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || v->kind != JsonValue::Kind::kString) {
    return FieldError(key, "must be a decimal string (64-bit integers are JSON strings), found " +
                               (v == nullptr ? std::string("nothing") : Found(*v)));
  }
  std::optional<uint64_t> n = checker::ParseDecimalString(v->string);
  if (!n) {
    return FieldError(key,
                      "must be a decimal integer from 0 to 2^64-1, found \"" + v->string + "\"");
  }
  return *n;
}

StatusOr<std::optional<uint64_t>> OptionalDecimal(const JsonValue& obj, std::string_view key) {
  if (obj.Find(key)->kind == JsonValue::Kind::kNull) return std::optional<uint64_t>();
  StatusOr<uint64_t> n = Decimal(obj, key);
  if (!n.ok()) return n.status();
  return std::optional<uint64_t>(*n);
}

// The parser decodes \u00XX to UTF-8; JsonQuote wrote each such escape for one byte.
StatusOr<std::string> BytesOf(const std::string& utf8, std::string_view key) {
  std::string bytes;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      bytes += static_cast<char>(c);
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      bytes +=
          static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      return FieldError(key, "holds a character above U+00FF; names are bytes, written as \\u00XX");
    }
  }
  return bytes;
}

StatusOr<ValueKind> StateOf(const JsonValue& obj) {
  const JsonValue& v = *obj.Find("state");
  for (ValueKind k : {ValueKind::kDefined, ValueKind::kUndefined, ValueKind::kDropped}) {
    if (v.kind == JsonValue::Kind::kString && v.string == ValueKindName(k)) return k;
  }
  return FieldError("state",
                    "must be \"defined\", \"undefined\" or \"dropped\", found " + Found(v));
}

Status ParseDefined(const JsonValue& obj, BackupRecord* r) {
  const JsonValue& name = *obj.Find("name");
  if (name.kind != JsonValue::Kind::kString || name.string.empty()) {
    return FieldError("name",
                      "must be a non-empty string for a defined token, found " + Found(name));
  }
  StatusOr<std::string> bytes = BytesOf(name.string, "name");
  if (!bytes.ok()) return bytes.status();
  r->name = *bytes;
  for (auto [key, field] : {std::pair{"low", &r->low}, std::pair{"mid", &r->mid},
                            std::pair{"high", &r->high}, std::pair{"final_x", &r->final_x}}) {
    StatusOr<uint64_t> n = Decimal(obj, key);
    if (!n.ok()) return n.status();
    *field = *n;
  }
  if (r->low > r->mid || r->mid >= r->high) {
    return Status::InvalidArgument("the domain must have low <= mid < high, found low " +
                                   std::to_string(r->low) + ", mid " + std::to_string(r->mid) +
                                   ", high " + std::to_string(r->high));
  }
  StatusOr<uint64_t> final_value = Decimal(obj, "final");
  if (!final_value.ok()) return final_value.status();
  r->final = *final_value;
  if (r->low == r->mid) {
    for (const char* key : {"partial", "partial_x"}) {
      if (obj.Find(key)->kind != JsonValue::Kind::kNull) {
        return FieldError(key, "must be null when low == mid (empty partial range)");
      }
    }
    return Status::Ok();
  }
  StatusOr<uint64_t> partial = Decimal(obj, "partial");
  if (!partial.ok()) return partial.status();
  StatusOr<uint64_t> partial_x = Decimal(obj, "partial_x");
  if (!partial_x.ok()) return partial_x.status();
  r->partial = *partial;
  r->partial_x = *partial_x;
  return Status::Ok();
}

StatusOr<BackupRecord> ParseObject(const JsonValue& obj) {
  for (const auto& [key, value] : obj.members) {
    if (std::find_if(kKeys.begin(), kKeys.end(),
                     [&key = key](const char* k) { return key == k; }) == kKeys.end()) {
      return FieldError(key, "is not a backup field");
    }
  }
  for (const char* key : kKeys) {
    if (obj.Find(key) == nullptr) return FieldError(key, "is missing");
  }
  BackupRecord r;
  const JsonValue& id = *obj.Find("id");
  if (id.kind != JsonValue::Kind::kString || id.string.empty() ||
      id.string.size() > kMaxTokenIdBytes) {
    return FieldError("id", "must be a string of 1 to " + std::to_string(kMaxTokenIdBytes) +
                                " bytes, found " + Found(id));
  }
  r.id = id.string;
  StatusOr<ValueKind> state = StateOf(obj);
  if (!state.ok()) return state.status();
  r.state = *state;
  StatusOr<std::optional<uint64_t>> ts = OptionalDecimal(obj, "ts");
  if (!ts.ok()) return ts.status();
  r.ts = *ts;
  if (r.state != ValueKind::kDropped && !r.ts) {
    return FieldError("ts", "must be a decimal string when state is \"" +
                                std::string(ValueKindName(r.state)) +
                                "\" (null only for dropped tokens)");
  }
  if (r.state == ValueKind::kDefined) {
    if (Status st = ParseDefined(obj, &r); !st.ok()) return st;
    return r;
  }
  for (const char* key : kValueKeys) {
    if (obj.Find(key)->kind != JsonValue::Kind::kNull) {
      return FieldError(
          key, "must be null when state is \"" + std::string(ValueKindName(r.state)) + "\"");
    }
  }
  return r;
}

}  // namespace

std::string FormatBackupLine(const BackupRecord& r) {
  const bool defined = r.state == ValueKind::kDefined;
  auto value = [defined](uint64_t v) { return defined ? std::optional(v) : std::nullopt; };
  JsonObject o;
  o.Add("id", r.id).Add("state", ValueKindName(r.state));
  o.AddUint64String("ts", r.ts);
  if (defined) {
    o.Add("name", r.name);
  } else {
    o.AddNull("name");
  }
  o.AddUint64String("low", value(r.low));
  o.AddUint64String("mid", value(r.mid));
  o.AddUint64String("high", value(r.high));
  o.AddUint64String("partial", defined ? r.partial : std::nullopt);
  o.AddUint64String("partial_x", defined && r.partial ? std::optional(r.partial_x) : std::nullopt);
  o.AddUint64String("final", defined ? r.final : std::nullopt);
  o.AddUint64String("final_x", defined && r.final ? std::optional(r.final_x) : std::nullopt);
  return o.str();
}

StatusOr<BackupRecord> ParseBackupLine(std::string_view text, const std::string& source,
                                       int line_number) {
  const std::string where = source + ":" + std::to_string(line_number);
  StatusOr<JsonValue> doc = checker::ParseJsonObject(text, 1);
  if (!doc.ok()) return doc.status().WithContext(where + ": not a backup line");
  StatusOr<BackupRecord> record = ParseObject(*doc);
  if (!record.ok()) return record.status().WithContext(where);
  record->line = line_number;
  return record;
}

bool IsDroppedRead(const Status& status) {
  // The replica's message ends the client's; the token id, user data, comes before it.
  return status.code() == StatusCode::kNotFound &&
         std::string_view(status.message()).ends_with("\" was dropped; create it to use it again");
}

StatusOr<BackupRecord> RecordFromRead(std::string_view id, const StatusOr<ReadResult>& read) {
  BackupRecord r;
  r.id = std::string(id);
  if (!read.ok()) {
    if (!IsDroppedRead(read.status())) return read.status();
    r.state = ValueKind::kDropped;
    return r;
  }
  r.ts = read->ts;
  if (!read->defined) return r;
  r.state = ValueKind::kDefined;
  r.name = read->name;
  r.low = read->low;
  r.mid = read->mid;
  r.high = read->high;
  r.partial = read->partial;
  r.partial_x = read->partial ? read->partial_x : 0;
  r.final = read->final;
  r.final_x = read->final_x;
  return r;
}

}  // namespace tokenstore
