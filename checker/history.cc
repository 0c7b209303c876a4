// History events to and from JSON Lines (SPEC section 9). The writer reuses the project's
// JsonObject; the reader is strict (checker/json_parser.h) because a history is evidence.
#include "checker/history.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "checker/json_parser.h"
#include "common/json.h"

namespace tokenstore::checker {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kInvoke: return "invoke";
    case EventType::kOk: return "ok";
    case EventType::kFail: return "fail";
    case EventType::kInfo: return "info";
  }
  return "?";
}

const char* OpFunctionName(OpFunction f) { return f == OpFunction::kWrite ? "write" : "read"; }

std::string ToJsonLine(const Event& e) {
  JsonObject o;
  o.Add("process", e.process).Add("type", EventTypeName(e.type)).Add("f", OpFunctionName(e.f));
  o.Add("token", e.token);
  if (e.f == OpFunction::kWrite && e.name) {
    JsonObject v;
    v.Add("name", *e.name).Add("low", e.low).Add("mid", e.mid).Add("high", e.high);
    if (e.type == EventType::kOk && e.full_value) v.Add("partial", e.partial_value);
    o.Add("value", v);
  } else if (e.f == OpFunction::kRead && e.type == EventType::kOk) {
    JsonObject v;
    if (e.name) {
      v.Add("name", *e.name);
    } else {
      v.AddNull("name");
    }
    v.Add("final", e.final_value);
    if (e.name && e.full_value) {
      v.Add("low", e.low).Add("mid", e.mid).Add("high", e.high).Add("partial", e.partial_value);
    }
    o.Add("value", v);
  } else {
    o.AddNull("value");
  }
  o.Add("time", e.time);
  return o.str();
}

namespace {

Status FieldError(std::string_view field, const std::string& what) {
  return Status::InvalidArgument("field \"" + std::string(field) + "\": " + what);
}

std::string Found(const JsonValue& v) {
  if (v.kind == JsonValue::Kind::kString) return "\"" + v.string + "\"";
  return JsonKindName(v.kind);
}

StatusOr<const JsonValue*> Required(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) return FieldError(key, "missing");
  return v;
}

StatusOr<int64_t> AsInt64(const JsonValue& v, std::string_view key) {
  if (v.kind != JsonValue::Kind::kInteger) {
    return FieldError(key, std::string("expected an integer, found ") + Found(v));
  }
  if (v.negative) return -static_cast<int64_t>(v.magnitude - 1) - 1;  // magnitude <= 2^63
  if (v.magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return FieldError(key, "integer does not fit in a signed 64-bit value");
  }
  return static_cast<int64_t>(v.magnitude);
}

// A JSON integer, or a decimal string as protobuf's JSON mapping (and token-client --json)
// writes 64-bit integers: histories written by other tools, or passed through jq, may hold
// either.
StatusOr<uint64_t> AsUint64(const JsonValue& v, std::string_view key) {
  if (v.kind == JsonValue::Kind::kString) {
    std::optional<uint64_t> n = ParseDecimalString(v.string);
    if (!n) {
      return FieldError(key, "expected a non-negative integer (a number or a decimal string), "
                             "found \"" + v.string + "\"");
    }
    return *n;
  }
  if (v.kind != JsonValue::Kind::kInteger || v.negative) {
    return FieldError(key, std::string("expected a non-negative integer, found ") +
                               (v.kind == JsonValue::Kind::kInteger ? "a negative one" : Found(v)));
  }
  return v.magnitude;
}

StatusOr<std::string> AsString(const JsonValue& v, std::string_view key) {
  if (v.kind != JsonValue::Kind::kString) {
    return FieldError(key, std::string("expected a string, found ") + Found(v));
  }
  return v.string;
}

// low, mid and high of a value, all required.
Status ParseRange(const JsonValue& value, Event* e) {
  for (auto [key, field] :
       {std::pair{"low", &e->low}, std::pair{"mid", &e->mid}, std::pair{"high", &e->high}}) {
    auto v = Required(value, key);
    if (!v.ok()) return v.status().WithContext("in \"value\"");
    auto n = AsUint64(**v, std::string("value.") + key);
    if (!n.ok()) return n.status();
    *field = *n;
  }
  return Status::Ok();
}

// A value's "partial" (null or integer), required; sets full_value.
Status ParsePartial(const JsonValue& value, Event* e) {
  auto partial = Required(value, "partial");
  if (!partial.ok()) return partial.status().WithContext("in \"value\"");
  e->full_value = true;
  if ((*partial)->kind == JsonValue::Kind::kNull) return Status::Ok();
  auto n = AsUint64(**partial, "value.partial");
  if (!n.ok()) return n.status();
  e->partial_value = *n;
  return Status::Ok();
}

// The value of a write: name, low, mid, high, all required; on ok optionally partial.
Status ParseWriteValue(const JsonValue& value, Event* e) {
  if (value.kind != JsonValue::Kind::kObject) {
    return FieldError("value", std::string("a write needs an object, found ") + Found(value));
  }
  auto name = Required(value, "name");
  if (!name.ok()) return name.status().WithContext("in \"value\"");
  auto name_str = AsString(**name, "value.name");
  if (!name_str.ok()) return name_str.status();
  e->name = *name_str;
  TOKENSTORE_RETURN_IF_ERROR(ParseRange(value, e));
  if (e->type == EventType::kOk && value.Find("partial") != nullptr) {
    return ParsePartial(value, e);
  }
  return Status::Ok();
}

// The value of a successful read: name (null or string) and final (null or integer); with a
// name, optionally low, mid, high and partial, all four or none.
Status ParseReadValue(const JsonValue& value, Event* e) {
  if (value.kind != JsonValue::Kind::kObject) {
    return FieldError("value", std::string("a successful read needs an object, found ") +
                                   Found(value));
  }
  auto name = Required(value, "name");
  if (!name.ok()) return name.status().WithContext("in \"value\"");
  if ((*name)->kind != JsonValue::Kind::kNull) {
    auto s = AsString(**name, "value.name");
    if (!s.ok()) return s.status();
    e->name = *s;
  }
  auto final_value = Required(value, "final");
  if (!final_value.ok()) return final_value.status().WithContext("in \"value\"");
  if ((*final_value)->kind != JsonValue::Kind::kNull) {
    auto n = AsUint64(**final_value, "value.final");
    if (!n.ok()) return n.status();
    e->final_value = *n;
  }
  if (e->name && value.Find("low") != nullptr) {
    TOKENSTORE_RETURN_IF_ERROR(ParseRange(value, e));
    return ParsePartial(value, e);
  }
  return Status::Ok();
}

StatusOr<Event> ParseEvent(std::string_view line) {
  // Depth 2: the event object and its `value`; anything deeper is not an event.
  auto doc = ParseJsonObject(line, 2);
  if (!doc.ok()) return doc.status();
  const JsonValue& obj = *doc;
  Event e;

  auto process = Required(obj, "process");
  if (!process.ok()) return process.status();
  auto pid = AsInt64(**process, "process");
  if (!pid.ok()) return pid.status();
  e.process = *pid;

  auto type = Required(obj, "type");
  if (!type.ok()) return type.status();
  auto type_str = AsString(**type, "type");
  if (!type_str.ok()) return type_str.status();
  if (*type_str == "invoke") {
    e.type = EventType::kInvoke;
  } else if (*type_str == "ok") {
    e.type = EventType::kOk;
  } else if (*type_str == "fail") {
    e.type = EventType::kFail;
  } else if (*type_str == "info") {
    e.type = EventType::kInfo;
  } else {
    return FieldError("type", "expected invoke, ok, fail or info, found \"" + *type_str + "\"");
  }

  auto f = Required(obj, "f");
  if (!f.ok()) return f.status();
  auto f_str = AsString(**f, "f");
  if (!f_str.ok()) return f_str.status();
  if (*f_str == "write") {
    e.f = OpFunction::kWrite;
  } else if (*f_str == "read") {
    e.f = OpFunction::kRead;
  } else {
    return FieldError("f", "expected write or read, found \"" + *f_str + "\"");
  }

  auto token = Required(obj, "token");
  if (!token.ok()) return token.status();
  auto token_str = AsString(**token, "token");
  if (!token_str.ok()) return token_str.status();
  if (token_str->empty()) return FieldError("token", "must not be empty");
  e.token = *token_str;

  auto time = Required(obj, "time");
  if (!time.ok()) return time.status();
  auto t = AsInt64(**time, "time");
  if (!t.ok()) return t.status();
  e.time = *t;

  const JsonValue* value = obj.Find("value");
  const bool has_value = value != nullptr && value->kind != JsonValue::Kind::kNull;
  if (e.f == OpFunction::kWrite) {
    // Required on invoke; on completions optional, and if present it must be well formed
    // (the checker then verifies it repeats the invoked name).
    if (e.type == EventType::kInvoke && !has_value) {
      return FieldError("value", "a write invoke needs {\"name\", \"low\", \"mid\", \"high\"}");
    }
    if (has_value) TOKENSTORE_RETURN_IF_ERROR(ParseWriteValue(*value, &e));
  } else if (e.type == EventType::kOk) {
    if (!has_value) {
      return FieldError("value", "a successful read needs {\"name\", \"final\"}");
    }
    TOKENSTORE_RETURN_IF_ERROR(ParseReadValue(*value, &e));
  }
  // Other read events carry no information in `value`; whatever is there is ignored.
  return e;
}

}  // namespace

StatusOr<Event> ParseJsonLine(std::string_view line, int line_number) {
  auto e = ParseEvent(line);
  if (!e.ok()) return e.status().WithContext("line " + std::to_string(line_number));
  e->line = line_number;
  return e;
}

StatusOr<std::vector<Event>> ReadHistory(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  }
  std::vector<Event> events;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto e = ParseEvent(line);
    if (!e.ok()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_number) + ": " +
                                     e.status().message());
    }
    e->line = line_number;
    events.push_back(std::move(*e));
  }
  if (in.bad()) return Status::DataLoss(path + ": read error");
  return events;
}

StatusOr<std::unique_ptr<HistoryWriter>> HistoryWriter::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return Status::FailedPrecondition(path + ": cannot create: " + std::strerror(errno));
  }
  return std::unique_ptr<HistoryWriter>(new HistoryWriter(f));
}

HistoryWriter::~HistoryWriter() { std::fclose(file_); }

void HistoryWriter::Append(const Event& e) {
  const std::string line = ToJsonLine(e) + "\n";
  MutexLock lock(&mu_);
  // Flushed per line so a crashed test still leaves every completed event on disk.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fflush(file_) != 0) {
    if (error_.ok()) error_ = Status::DataLoss(std::string("history write failed: ") +
                                               std::strerror(errno));
  }
}

Status HistoryWriter::status() {
  MutexLock lock(&mu_);
  return error_;
}

}  // namespace tokenstore::checker
