#include "config/cluster_config.h"

#include <arpa/inet.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <initializer_list>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include "common/token_value.h"

namespace tokenstore {

// The ids prefix + n for n in [from, to], n in plain decimal (not zero-padded).
struct IdRange {
  std::string prefix;
  uint64_t from = 0;
  uint64_t to = 0;
  int line = 0;  // of the range's map
};

// A valid entry, made a ClusterConfig entry once the whole file is valid.
struct PendingEntry {
  ReplicaSet shape;               // writer, readers, line and fingerprint
  std::vector<std::string> ids;   // a "token" entry's id, or a "tokens" list
  std::optional<size_t> range;    // a "tokens" range: its index in the parser's ranges
};


// Assembles a ClusterConfig from the parser's valid entries (a friend of ClusterConfig).
class ConfigBuilder {
 public:
  static void Build(std::vector<PendingEntry>& pending, const std::vector<IdRange>& ranges,
                    uint64_t ids_named, ClusterConfig* config);
};

namespace {

// Longer values are cut in messages so one absurd line cannot flood an operator's terminal.
constexpr size_t kMaxQuotedBytes = 80;
constexpr std::array<std::string_view, 5> kKnownKeys = {"token", "tokens", "writer", "readers",
                                                        "epoch"};
constexpr char kKnownKeyList[] = "token (or tokens), writer, readers, epoch";
constexpr std::array<std::string_view, 3> kRangeKeys = {"prefix", "from", "to"};
constexpr char kRangeKeyList[] = "prefix, from, to";
constexpr char kAccessPointExample[] = "127.0.0.1:50051";
constexpr char kTokensExpected[] =
    "a list of ids, e.g. tokens: [a, b, c], or a range, e.g. tokens: {prefix: t, from: 0, to: 99}";
// The numbers of a range have at most 18 digits, so sums and counts never overflow 64 bits.
constexpr uint64_t kMaxRangeNumber = 999'999'999'999'999'999ull;
constexpr size_t kMaxRangeDigits = 18;

// Printable ASCII without the space: what token ids and access points may contain.
bool IsGraphicAscii(char c) { return c > ' ' && c < 0x7f; }

// Appends `c` as is when it is printable ASCII or a space, otherwise as \xNN.
void AppendPrintable(std::string* out, char c) {
  if (c == ' ' || IsGraphicAscii(c)) {
    *out += c;
    return;
  }
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
  *out += buf;
}

// `text` in double quotes with escapes, so blanks and control bytes are visible in messages.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : text) {
    if (shown++ == kMaxQuotedBytes) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') out += '\\';
    AppendPrintable(&out, c);
  }
  out += '"';
  return out;
}

// yaml-cpp's message with control and non-ASCII bytes escaped: it may quote the input (e.g.
// "unknown escape character: " and the character), and a raw newline there would break the
// one-problem-per-line form of our messages.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) AppendPrintable(&out, c);
  return out;
}

// Parses a decimal port 1..65535. Returns the problem in plain words, or nullopt when valid.
std::optional<std::string> CheckPort(std::string_view text, uint16_t* port) {
  if (text.empty()) return "the port number after ':' is missing";
  for (char c : text) {
    if (c < '0' || c > '9') return "port " + Quote(text) + " is not a decimal number";
  }
  // Leading zeros would make two spellings of one access point; canonical form has none.
  if (text.size() > 1 && text[0] == '0') return "port " + Quote(text) + " has a leading zero";
  if (text.size() > 5) return "port " + Quote(text) + " is out of range 1..65535";
  unsigned value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value < 1 || value > 65535) {
    return "port " + std::to_string(value) + " is out of range 1..65535";
  }
  *port = static_cast<uint16_t>(value);
  return std::nullopt;
}

// Validates an access point and produces its canonical form. Returns the problem in plain
// words (without repeating the text), or nullopt when valid.
std::optional<std::string> CheckAccessPoint(std::string_view text, std::string* canonical) {
  if (text.empty()) return "it is empty";
  for (char c : text) {
    if (!IsGraphicAscii(c)) return "it contains whitespace or a non-printable character";
  }
  std::string_view host;
  std::string_view port_text;
  bool ipv6 = false;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return "the ']' closing the IPv6 address is missing";
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return "the \":<port>\" after the address is missing";
    if (rest.front() != ':') return "expected ':' and a port after ']'";
    port_text = rest.substr(1);
    ipv6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::string("the \":<port>\" is missing (expected <ip>:<port>, e.g. ") +
             kAccessPointExample + ")";
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be written in brackets, e.g. [::1]:50051";
    }
  }
  if (host.empty()) return "the IP address before ':' is missing";

  // inet_pton needs a NUL-terminated string; the character check above rules out embedded NULs.
  const std::string host_copy(host);
  uint16_t port = 0;
  char buf[INET6_ADDRSTRLEN];
  if (ipv6) {
    in6_addr addr{};
    if (inet_pton(AF_INET6, host_copy.c_str(), &addr) != 1) {
      return Quote(host) + " is not an IPv6 address";
    }
    if (auto problem = CheckPort(port_text, &port)) return problem;
    inet_ntop(AF_INET6, &addr, buf, sizeof(buf));
    *canonical = "[" + std::string(buf) + "]:" + std::to_string(port);
  } else {
    in_addr addr{};
    if (inet_pton(AF_INET, host_copy.c_str(), &addr) != 1) {
      return Quote(host) +
             " is not an IPv4 address (expected a dotted quad like 127.0.0.1; host names are "
             "not accepted)";
    }
    if (auto problem = CheckPort(port_text, &port)) return problem;
    inet_ntop(AF_INET, &addr, buf, sizeof(buf));
    *canonical = std::string(buf) + ":" + std::to_string(port);
  }
  return std::nullopt;
}

// The canonical form of `node` when it parses, otherwise `node` unchanged (it then matches
// nothing, since the configuration holds canonical access points only).
std::string CanonicalOrSame(std::string_view node) {
  std::string canonical;
  if (CheckAccessPoint(node, &canonical)) return std::string(node);
  return canonical;
}

// "<what> "text" contains whitespace ..." unless `text` is printable ASCII without spaces.
std::optional<std::string> CheckIdCharacters(std::string_view what, std::string_view text) {
  for (char c : text) {
    if (!IsGraphicAscii(c)) {
      return std::string(what) + " " + Quote(text) +
             " contains whitespace or a non-printable character (ids are printable ASCII "
             "without spaces)";
    }
  }
  return std::nullopt;
}

// Plain-words problem with a token id, or nullopt when valid.
std::optional<std::string> CheckTokenId(std::string_view id) {
  if (id.empty()) return "the token id is empty";
  if (id.size() > kMaxTokenIdBytes) {
    return "token id " + Quote(id) + " is " + std::to_string(id.size()) +
           " bytes long; the limit is " + std::to_string(kMaxTokenIdBytes);
  }
  return CheckIdCharacters("token id", id);
}

// Parses a number of a range: decimal digits, no sign, no leading zero (ids are not
// zero-padded), at most kMaxRangeNumber. Returns the problem in plain words, or nullopt.
std::optional<std::string> CheckRangeNumber(std::string_view text, uint64_t* value) {
  if (text.empty()) return "it is empty";
  for (char c : text) {
    if (c < '0' || c > '9') return Quote(text) + " is not a decimal number (digits only)";
  }
  if (text.size() > 1 && text[0] == '0') {
    return Quote(text) + " has a leading zero (ids in a range are not zero-padded: t7, not t007)";
  }
  if (text.size() > kMaxRangeDigits) {
    return Quote(text) + " is larger than " + std::to_string(kMaxRangeNumber);
  }
  uint64_t v = 0;
  for (char c : text) v = v * 10 + static_cast<uint64_t>(c - '0');
  *value = v;
  return std::nullopt;
}

// The value of `digits` when it is how a range writes a number (decimal, no leading zero,
// within kMaxRangeNumber); nullopt otherwise.
std::optional<uint64_t> RangeNumberOf(std::string_view digits) {
  uint64_t value = 0;
  if (CheckRangeNumber(digits, &value)) return std::nullopt;
  return value;
}

size_t DecimalDigits(uint64_t value) {
  size_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

// 1, 10, 100, ... 10^18.
uint64_t PowerOfTen(size_t exponent) {
  uint64_t value = 1;
  while (exponent-- > 0) value *= 10;
  return value;
}

std::string WithThousands(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known key a typo most likely meant ("reader" -> "readers"), or empty when none is close.
template <size_t N>
std::string_view ClosestKnownKey(std::string_view key,
                                 const std::array<std::string_view, N>& known_keys) {
  std::string_view best;
  size_t best_distance = 3;  // further than two edits is a different word, not a typo
  for (std::string_view known : known_keys) {
    const size_t distance = EditDistance(key, known);
    if (distance < best_distance) {
      best = known;
      best_distance = distance;
    }
  }
  return best;
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "empty";
    case YAML::NodeType::Undefined:
      break;
  }
  return "undefined";
}

// Sees only where each document starts.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark last = YAML::Mark::null_mark();
};

// yaml-cpp 0.7 (Debian 12) can stop consuming its input: at a stray ',' outside a flow
// collection (yaml-cpp issue #1040) every further HandleNextDocument reports one more empty
// document at the same place, so YAML::LoadAll loops forever and its vector of documents
// grows until memory runs out (fixed upstream by yaml-cpp PR #1319, after 0.8). Walks the
// documents without building nodes and returns the mark where one starts at the very place
// the previous one did, i.e. where the parser consumed nothing; nullopt when every document
// made progress, so that YAML::LoadAll on the same text returns. Throws what yaml-cpp throws.
std::optional<YAML::Mark> FindStuckParser(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  std::optional<YAML::Mark> previous;
  while (parser.HandleNextDocument(starts)) {
    if (previous && previous->pos == starts.last.pos) return starts.last;
    previous = starts.last;
  }
  return std::nullopt;
}

// One key/value pair of a token entry, kept with the key so messages about a missing value can
// point at the key's line.
// "a list", or "a scalar (\"x\")" so the operator sees which value is meant.
std::string Describe(const YAML::Node& node) {
  std::string text = KindName(node);
  if (node.IsScalar()) text += " (" + Quote(node.Scalar()) + ")";
  return text;
}

struct Field {
  YAML::Node key;
  YAML::Node value;
  bool present = false;
};

// Where an id named one by one (a "token" entry, or an item of a "tokens" list) first appears.
struct IdSite {
  int line = 0;
  bool single = false;  // a "token" entry
};


// The ranges sharing one prefix, sorted by `from`; max_to[i] is the largest `to` of the first
// i + 1 of them.
struct RangeGroup {
  std::vector<size_t> ranges;  // indexes into the parser's ranges
  std::vector<uint64_t> max_to;
};


// Turns one YAML text into a ClusterConfig, collecting every problem it finds. Single use.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source, uint64_t max_ids)
      : text_(text), source_(source), max_ids_(max_ids) {
    size_t start = 0;
    while (start <= text_.size()) {
      size_t end = text_.find('\n', start);
      if (end == std::string_view::npos) end = text_.size();
      lines_.push_back(text_.substr(start, end - start));
      start = end + 1;
    }
  }

  StatusOr<ClusterConfig> Run() {
    // yaml-cpp reports problems by throwing; this is the edge where exceptions become Status.
    try {
      const std::string text(text_);
      if (std::optional<YAML::Mark> stuck = FindStuckParser(text)) {
        return ParseError(*stuck, "cannot read past " + WhatIsAt(*stuck) +
                                      " (a ',' outside [...] or {...}?)");
      }
      const std::vector<YAML::Node> documents = YAML::LoadAll(text);
      if (documents.size() > 1) {
        AddError(LineOf(documents[1]), "the file holds " + std::to_string(documents.size()) +
                                           " YAML documents; expected one");
      }
      ParseDocument(documents.empty() ? YAML::Node() : documents.front());
    } catch (const YAML::DeepRecursion& e) {
      // yaml-cpp's own text for this is "bad file", which would send the reader looking for an
      // I/O problem.
      return ParseError(e.mark, "nesting is deeper than yaml-cpp's limit of " +
                                    std::to_string(e.depth()) + " levels");
    } catch (const YAML::ParserException& e) {
      return ParseError(e.mark, e.msg);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(source_ + ": cannot read the YAML: " + Printable(e.what()));
    } catch (...) {
      return Status::Internal(source_ + ": unexpected exception while reading the YAML");
    }
    // After the YAML tree is gone: the tokens need not share memory with it.
    if (errors_.empty()) Expand();
    if (!errors_.empty()) {
      std::stable_sort(errors_.begin(), errors_.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string message;
      for (const auto& [line, text] : errors_) {
        if (!message.empty()) message += '\n';
        message += text;
      }
      return Status::InvalidArgument(std::move(message));
    }
    config_.source = source_;
    return std::move(config_);
  }

 private:
  // The document has no usable structure past a parse error, so that error stands alone.
  Status ParseError(const YAML::Mark& mark, const std::string& problem) const {
    if (mark.is_null()) {
      return Status::InvalidArgument(source_ + ": not valid YAML: " + Printable(problem));
    }
    return Status::InvalidArgument(source_ + ":" + std::to_string(mark.line + 1) +
                                   ": not valid YAML: " + Printable(problem) + " (column " +
                                   std::to_string(mark.column + 1) + ")");
  }

  // "\",\"" when the byte at `mark` is printable ASCII, otherwise "this point".
  std::string WhatIsAt(const YAML::Mark& mark) const {
    if (mark.line >= 0 && static_cast<size_t>(mark.line) < lines_.size() && mark.column >= 0) {
      const std::string_view line = lines_[static_cast<size_t>(mark.line)];
      const size_t column = static_cast<size_t>(mark.column);
      if (column < line.size() && IsGraphicAscii(line[column])) {
        return Quote(line.substr(column, 1));
      }
    }
    return "this point";
  }

  void ParseDocument(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      AddError(1, "the file is empty; expected a list of token entries (- token: ...)");
      return;
    }
    // A top-level map (e.g. tokens plus TLS settings) may be added later; it would hand its
    // token list to ParseTokenList. Until then only the bare list is valid.
    if (!root.IsSequence()) {
      AddError(LineOf(root), "the top level is " + Describe(root) +
                                 "; expected a list of token entries (- token: ...)");
      return;
    }
    ParseTokenList(root);
  }

  void ParseTokenList(const YAML::Node& list) {
    if (list.size() == 0) {
      AddError(LineOf(list), "the token list is empty; expected at least one token entry");
      return;
    }
    size_t ordinal = 0;
    for (const YAML::Node& entry : list) ParseEntry(entry, ++ordinal);
    CheckRanges();
  }

  void ParseEntry(const YAML::Node& entry, size_t ordinal) {
    const int entry_line = LineOf(entry);
    std::string label = "entry " + std::to_string(ordinal);
    if (!entry.IsMap()) {
      AddError(entry_line,
               label + " is " + Describe(entry) + "; expected a map with keys " + kKnownKeyList);
      return;
    }

    Field token;
    Field tokens;
    Field writer;
    Field readers;
    Field epoch;
    std::vector<YAML::Node> unknown_keys;
    std::vector<std::pair<int, std::string>> key_errors;  // reported once the label is known
    CollectFields(entry, {{"token", &token}, {"tokens", &tokens}, {"writer", &writer},
                          {"readers", &readers}, {"epoch", &epoch}},
                  kKnownKeyList, &unknown_keys, &key_errors);

    // The token comes first so that every other message can name it.
    PendingEntry pending;
    pending.shape.line = entry_line;
    bool valid = key_errors.empty() && unknown_keys.empty();
    if (token.present && tokens.present) {
      AddError(std::max(LineOf(token.key), LineOf(tokens.key)),
               label + ": both \"token\" and \"tokens\" are given; use \"token\" for one id or "
                       "\"tokens\" for many");
      valid = false;
    } else if (token.present) {
      if (std::optional<std::string> id = ParseTokenId(token, label)) {
        label = "token " + Quote(*id);
        if (!NoteExplicitId(*id, LineOf(token.value), /*single=*/true)) valid = false;
        if (!ReserveIds(1, entry_line, label)) valid = false;
        pending.ids.push_back(std::move(*id));
      } else {
        valid = false;
      }
    } else if (tokens.present) {
      if (!ParseTokens(tokens, &label, &pending)) valid = false;
    } else {
      AddError(entry_line, label + ": the \"token\" key is missing (or \"tokens\" for many ids)");
      valid = false;
    }

    for (const auto& [line, problem] : key_errors) AddError(line, label + ": " + problem);
    for (const YAML::Node& key : unknown_keys) {
      std::string problem = label + ": unknown key " + Quote(key.Scalar());
      const std::string_view suggestion = ClosestKnownKey(key.Scalar(), kKnownKeys);
      if (!suggestion.empty()) problem += " (did you mean \"" + std::string(suggestion) + "\"?)";
      AddError(LineOf(key), problem + "; known keys are " + kKnownKeyList);
    }

    if (!writer.present) {
      AddError(entry_line, label + ": the \"writer\" key is missing");
      valid = false;
    } else if (!ParseWriter(writer, label, &pending.shape.writer)) {
      valid = false;
    }

    if (!readers.present) {
      AddError(entry_line, label + ": the \"readers\" key is missing");
      valid = false;
    } else if (!ParseReaders(readers, label, &pending.shape.readers)) {
      valid = false;
    }

    if (epoch.present && !ParseEpoch(epoch, label, &pending.shape.epoch)) valid = false;

    if (valid) {
      pending.shape.fingerprint = pending.shape.ComputeFingerprint();
      pending_.push_back(std::move(pending));
    }
  }

  // Sorts the keys of `map` into `fields` (name -> field); keys that are not plain names, or
  // repeated, go to `key_errors`, names not in `fields` to `unknown_keys`.
  void CollectFields(const YAML::Node& map,
                     std::initializer_list<std::pair<std::string_view, Field*>> fields,
                     const char* key_list, std::vector<YAML::Node>* unknown_keys,
                     std::vector<std::pair<int, std::string>>* key_errors) const {
    for (const auto& pair : map) {
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) {
        key_errors->emplace_back(LineOf(key), std::string("a key is ") + KindName(key) +
                                                  "; keys are plain names (" + key_list + ")");
        continue;
      }
      Field* field = nullptr;
      for (const auto& [name, candidate] : fields) {
        if (key.Scalar() == name) field = candidate;
      }
      if (field == nullptr) {
        unknown_keys->push_back(key);
        continue;
      }
      // yaml-cpp keeps both copies of a repeated key; silently using one would hide an edit.
      if (field->present) {
        key_errors->emplace_back(LineOf(key), "key " + Quote(key.Scalar()) +
                                                  " appears twice (first at line " +
                                                  std::to_string(LineOf(field->key)) + ")");
        continue;
      }
      *field = Field{key, pair.second, true};
    }
  }

  // The value of "tokens": a list of ids or a range. Sets `label` to name the ids once known.
  bool ParseTokens(const Field& field, std::string* label, PendingEntry* pending) {
    const YAML::Node& value = field.value;
    if (value.IsNull()) {
      AddError(LineOf(field.key), *label + ": \"tokens\" has no value; expected " + kTokensExpected);
      return false;
    }
    if (value.IsSequence()) return ParseTokenIdList(value, label, pending);
    if (value.IsMap()) return ParseTokenRange(value, label, pending);
    AddError(LineOf(value),
             *label + ": \"tokens\" is " + Describe(value) + "; expected " + kTokensExpected);
    return false;
  }

  bool ParseTokenIdList(const YAML::Node& list, std::string* label, PendingEntry* pending) {
    if (list.size() == 0) {
      AddError(LineOf(list), *label + ": \"tokens\" is an empty list; expected at least one id");
      return false;
    }
    const YAML::Node first = list[0];
    const YAML::Node last = list[list.size() - 1];
    if (first.IsScalar() && last.IsScalar()) {
      *label = list.size() == 1 ? "tokens " + Quote(first.Scalar())
                                : "tokens " + Quote(first.Scalar()) + " ... " +
                                      Quote(last.Scalar()) + " (" +
                                      std::to_string(list.size()) + " ids)";
    }
    bool valid = true;
    size_t ordinal = 0;
    for (const YAML::Node& item : list) {
      ++ordinal;
      const int line = LineOf(item);
      if (!item.IsScalar()) {
        AddError(line, *label + ": id " + std::to_string(ordinal) + " of \"tokens\" is " +
                           KindName(item) + "; expected a token id");
        valid = false;
        continue;
      }
      if (std::optional<std::string> problem = CheckTokenId(item.Scalar())) {
        AddError(line, *label + ": " + *problem);
        valid = false;
        continue;
      }
      if (!NoteExplicitId(item.Scalar(), line, /*single=*/false)) valid = false;
      pending->ids.push_back(item.Scalar());
    }
    if (!ReserveIds(list.size(), LineOf(list), *label)) valid = false;
    return valid;
  }

  bool ParseTokenRange(const YAML::Node& map, std::string* label, PendingEntry* pending) {
    const int line = LineOf(map);
    Field prefix;
    Field from;
    Field to;
    std::vector<YAML::Node> unknown_keys;
    std::vector<std::pair<int, std::string>> key_errors;  // reported once the label is known
    CollectFields(map, {{"prefix", &prefix}, {"from", &from}, {"to", &to}}, kRangeKeyList,
                  &unknown_keys, &key_errors);
    bool valid = key_errors.empty() && unknown_keys.empty();
    std::optional<IdRange> range;
    if (prefix.present && from.present && to.present) {
      range = ParseRangeValues(prefix, from, to, *label);
      if (range) {
        *label = "tokens " + Quote(range->prefix + std::to_string(range->from)) + " ... " +
                 Quote(range->prefix + std::to_string(range->to));
      }
    }
    for (const auto& [name, field] : {std::pair{"prefix", &prefix}, std::pair{"from", &from},
                                      std::pair{"to", &to}}) {
      if (!field->present) {
        AddError(line, *label + ": the range of \"tokens\" has no \"" + name + "\" key; expected " +
                           "{prefix: t, from: 0, to: 99} (prefix may be \"\")");
      }
    }
    for (const auto& [key_line, problem] : key_errors) {
      AddError(key_line, *label + ": in the range of \"tokens\": " + problem);
    }
    for (const YAML::Node& key : unknown_keys) {
      std::string problem = *label + ": unknown key " + Quote(key.Scalar()) + " in the range";
      const std::string_view suggestion = ClosestKnownKey(key.Scalar(), kRangeKeys);
      if (!suggestion.empty()) problem += " (did you mean \"" + std::string(suggestion) + "\"?)";
      AddError(LineOf(key), problem + "; a range has the keys " + kRangeKeyList);
    }
    if (!range) return false;
    range->line = line;
    if (!ReserveIds(range->to - range->from + 1, line, *label)) valid = false;
    pending->range = ranges_.size();
    ranges_.push_back(std::move(*range));
    return valid;
  }

  // The range when its three values are valid; reports each problem otherwise.
  std::optional<IdRange> ParseRangeValues(const Field& prefix, const Field& from, const Field& to,
                                          const std::string& label) {
    IdRange range;
    bool valid = CheckScalar(prefix, label, "the text before each number, e.g. prefix: t");
    if (valid) {
      range.prefix = prefix.value.Scalar();
      // The prefix may be empty: the ids are then the numbers alone.
      if (std::optional<std::string> problem = CheckIdCharacters("prefix", range.prefix)) {
        AddError(LineOf(prefix.value), label + ": " + *problem);
        valid = false;
      }
    }
    for (const auto& [field, value] :
         {std::pair{&from, &range.from}, std::pair{&to, &range.to}}) {
      const std::string key = field->key.Scalar();
      if (!CheckScalar(*field, label, "a number, e.g. " + key + ": 0")) {
        valid = false;
      } else if (std::optional<std::string> problem =
                     CheckRangeNumber(field->value.Scalar(), value)) {
        AddError(LineOf(field->value), label + ": \"" + key + "\" " + *problem);
        valid = false;
      }
    }
    if (!valid) return std::nullopt;
    if (range.from > range.to) {
      AddError(LineOf(to.value), label + ": the range is empty: from " +
                                     std::to_string(range.from) + " is greater than to " +
                                     std::to_string(range.to) + " (to is inclusive)");
      return std::nullopt;
    }
    const size_t longest = range.prefix.size() + DecimalDigits(range.to);
    if (longest > kMaxTokenIdBytes) {
      AddError(LineOf(to.value), label + ": its last id " + Quote(range.prefix + std::to_string(range.to)) +
                                     " is " + std::to_string(longest) + " bytes long; the limit is " +
                                     std::to_string(kMaxTokenIdBytes));
      return std::nullopt;
    }
    return range;
  }

  // Counts `count` more ids against the file's limit; reports and returns false past it.
  bool ReserveIds(uint64_t count, int line, const std::string& label) {
    if (count <= max_ids_ && ids_named_ <= max_ids_ - count) {
      ids_named_ += count;
      return true;
    }
    if (over_limit_) return false;  // reported once: every later entry is past it too
    over_limit_ = true;
    std::string problem = label + ": names " + WithThousands(count) + " ids";
    if (ids_named_ > 0) problem += ", " + WithThousands(ids_named_) + " named before it";
    AddError(line, problem + "; a file may name at most " + WithThousands(max_ids_) +
                       " token ids in all");
    return false;
  }

  // Remembers where an id named one by one (a "token" entry or an item of a "tokens" list)
  // first appears; reports a repeat naming both lines.
  bool NoteExplicitId(const std::string& id, int line, bool single) {
    const auto [it, inserted] = explicit_ids_.emplace(id, IdSite{line, single});
    if (inserted) return true;
    if (single && it->second.single) {
      AddError(line, "token " + Quote(id) + " is listed twice (first at line " +
                         std::to_string(it->second.line) + ")");
    } else {
      ReportRepeat(id, it->second.line, line);
    }
    return false;
  }

  // At the later of the two lines: "token "t5" at line 12 is also at line 3".
  void ReportRepeat(const std::string& id, int line_a, int line_b) {
    const int later = std::max(line_a, line_b);
    const int earlier = std::min(line_a, line_b);
    AddError(later, "token " + Quote(id) + " at line " + std::to_string(later) +
                        " is also at line " + std::to_string(earlier));
  }

  // Ids are unique across ranges and explicit ids too. Works on the ranges, not their ids: a
  // range `prefix` [from, to] names prefix + decimal n, so an explicit id can only be in
  // ranges whose prefix it starts with and followed by digits, and a range can only meet
  // another whose prefix is its own or its own plus digits.
  void CheckRanges() {
    if (ranges_.empty()) return;
    for (size_t i = 0; i < ranges_.size(); ++i) groups_[ranges_[i].prefix].ranges.push_back(i);
    for (auto& [prefix, group] : groups_) {
      std::sort(group.ranges.begin(), group.ranges.end(), [this](size_t a, size_t b) {
        return std::tie(ranges_[a].from, ranges_[a].to) < std::tie(ranges_[b].from, ranges_[b].to);
      });
      uint64_t max_to = 0;
      size_t widest = group.ranges.front();  // the range reaching furthest so far
      for (size_t i = 0; i < group.ranges.size(); ++i) {
        const IdRange& range = ranges_[group.ranges[i]];
        if (i > 0 && range.from <= ranges_[widest].to) {
          ReportRepeat(range.prefix + std::to_string(range.from), ranges_[widest].line, range.line);
        }
        if (i == 0 || range.to > ranges_[widest].to) widest = group.ranges[i];
        max_to = std::max(max_to, range.to);
        group.max_to.push_back(max_to);
      }
    }
    for (const auto& [prefix, group] : groups_) CheckRangesAgainstShorterPrefixes(prefix, group);
    for (const auto& [id, site] : explicit_ids_) {
      // Every split of the id into a prefix and a trailing number.
      for (size_t at = id.size(); at > 0 && IsDigit(id[at - 1]); --at) {
        const std::optional<uint64_t> number = RangeNumberOf(std::string_view(id).substr(at - 1));
        if (!number) continue;
        const auto group = groups_.find(std::string_view(id).substr(0, at - 1));
        if (group == groups_.end()) continue;
        if (const IdRange* range = FindRange(group->second, *number, *number)) {
          ReportRepeat(id, range->line, site.line);
        }
      }
    }
  }

  // Ranges with prefix P + S (S all digits, no leading zero) name P + S n; a range with prefix
  // P names the same ids when its numbers include S n, read as one number. For each length L
  // of n those form one interval [S * 10^L + lo, S * 10^L + hi].
  void CheckRangesAgainstShorterPrefixes(std::string_view prefix, const RangeGroup& group) {
    for (size_t at = prefix.size(); at > 0 && IsDigit(prefix[at - 1]); --at) {
      const std::string_view digits = prefix.substr(at - 1);
      if (digits.size() > kMaxRangeDigits) break;
      // S n with S = "0" or "07" starts with a zero: never how a range writes a number.
      if (digits[0] == '0') continue;
      const std::optional<uint64_t> head = RangeNumberOf(digits);
      if (!head) continue;
      const auto shorter = groups_.find(prefix.substr(0, at - 1));
      if (shorter == groups_.end()) continue;
      for (size_t index : group.ranges) {
        const IdRange& range = ranges_[index];
        for (size_t length = 1; length + digits.size() <= kMaxRangeDigits; ++length) {
          const uint64_t lo = std::max(range.from, length == 1 ? 0 : PowerOfTen(length - 1));
          const uint64_t hi = std::min(range.to, PowerOfTen(length) - 1);
          if (lo > hi) continue;
          const uint64_t base = *head * PowerOfTen(length);  // < 10^18: no overflow
          if (const IdRange* other = FindRange(shorter->second, base + lo, base + hi)) {
            const uint64_t common = std::max(base + lo, other->from);
            ReportRepeat(other->prefix + std::to_string(common), other->line, range.line);
            break;
          }
        }
      }
    }
  }

  // A range of `group` holding some number in [low, high], or nullptr.
  const IdRange* FindRange(const RangeGroup& group, uint64_t low, uint64_t high) const {
    // The ranges starting at or before `high`; the sweep's maxima say whether one reaches `low`.
    const size_t end = static_cast<size_t>(
        std::upper_bound(group.ranges.begin(), group.ranges.end(), high,
                         [this](uint64_t value, size_t index) { return value < ranges_[index].from; }) -
        group.ranges.begin());
    if (end == 0 || group.max_to[end - 1] < low) return nullptr;
    for (size_t i = end; i-- > 0;) {
      if (ranges_[group.ranges[i]].to >= low) return &ranges_[group.ranges[i]];
    }
    return nullptr;
  }

  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  // The valid file's entries become the config: one Entry each, ranges left as ranges.
  void Expand() {
    explicit_ids_.clear();  // only needed for the checks
    groups_.clear();
    ConfigBuilder::Build(pending_, ranges_, ids_named_, &config_);
  }

  std::optional<std::string> ParseTokenId(const Field& field, const std::string& label) {
    if (!CheckScalar(field, label, "a token id, e.g. token: 1")) return std::nullopt;
    // A YAML scalar is taken as written, so `1` and "1" name the same token.
    const std::string& id = field.value.Scalar();
    if (std::optional<std::string> problem = CheckTokenId(id)) {
      AddError(LineOf(field.value), label + ": " + *problem);
      return std::nullopt;
    }
    return id;
  }

  // `epoch: N`: the configuration's epoch (docs/reconfiguration.md), a plain decimal number.
  bool ParseEpoch(const Field& field, const std::string& label, uint64_t* epoch) {
    if (!CheckScalar(field, label, "a number, e.g. epoch: 1")) return false;
    uint64_t value = 0;
    if (std::optional<std::string> problem = CheckRangeNumber(field.value.Scalar(), &value)) {
      AddError(LineOf(field.value), label + ": epoch " + Quote(field.value.Scalar()) + " " +
                                        *problem);
      return false;
    }
    *epoch = value;
    return true;
  }

  bool ParseWriter(const Field& field, const std::string& label, std::string* writer) {
    if (!CheckScalar(field, label,
                     std::string("one access point, e.g. writer: ") + kAccessPointExample)) {
      return false;
    }
    std::string canonical;
    if (std::optional<std::string> problem = CheckAccessPoint(field.value.Scalar(), &canonical)) {
      AddError(LineOf(field.value), label + ": writer " + Quote(field.value.Scalar()) +
                                        " is not a valid access point: " + *problem);
      return false;
    }
    *writer = std::move(canonical);
    return true;
  }

  bool ParseReaders(const Field& field, const std::string& label,
                    std::vector<std::string>* readers) {
    const YAML::Node& list = field.value;
    if (list.IsNull()) {
      AddError(LineOf(field.key), label + ": \"readers\" has no value; expected a list of " +
                                      "access points, e.g. readers: [" + kAccessPointExample + "]");
      return false;
    }
    if (!list.IsSequence()) {
      AddError(LineOf(list), label + ": \"readers\" is " + Describe(list) +
                                 "; expected a list of access points, e.g. readers: [" +
                                 kAccessPointExample + "]");
      return false;
    }
    if (list.size() == 0) {
      AddError(LineOf(list), label + ": \"readers\" is empty; a token needs at least one reader");
      return false;
    }
    bool valid = true;
    std::map<std::string, int, std::less<>> first_line;  // canonical reader -> line
    size_t ordinal = 0;
    for (const YAML::Node& item : list) {
      ++ordinal;
      const int line = LineOf(item);
      if (!item.IsScalar()) {
        AddError(line, label + ": reader " + std::to_string(ordinal) + " is " + KindName(item) +
                           "; expected an access point, e.g. " + kAccessPointExample);
        valid = false;
        continue;
      }
      std::string canonical;
      if (std::optional<std::string> problem = CheckAccessPoint(item.Scalar(), &canonical)) {
        AddError(line, label + ": reader " + Quote(item.Scalar()) +
                           " is not a valid access point: " + *problem);
        valid = false;
        continue;
      }
      const auto [it, inserted] = first_line.emplace(canonical, line);
      if (!inserted) {
        AddError(line, label + ": reader " + Quote(item.Scalar()) +
                           " is listed twice (first at line " + std::to_string(it->second) + ")");
        valid = false;
        continue;
      }
      readers->push_back(std::move(canonical));
    }
    return valid;
  }

  // Reports and returns false unless the field's value is a scalar; `expected` says what fits.
  bool CheckScalar(const Field& field, const std::string& label, const std::string& expected) {
    const std::string key = Quote(field.key.Scalar());
    if (field.value.IsNull()) {
      // A missing value's mark is where the next token starts, so point at the key instead.
      AddError(LineOf(field.key), label + ": " + key + " has no value; expected " + expected);
      return false;
    }
    if (!field.value.IsScalar()) {
      AddError(LineOf(field.value),
               label + ": " + key + " is " + Describe(field.value) + "; expected " + expected);
      return false;
    }
    return true;
  }

  // 1-based line of `node`, 0 when yaml-cpp does not know it.
  int LineOf(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0) return 0;
    if (!node.IsNull()) return mark.line + 1;
    // yaml-cpp marks an empty value (a bare "-" or "key:") at the token after it, often on a
    // later line. The value really sits after the last non-blank text before that mark.
    size_t line = static_cast<size_t>(mark.line);
    if (line < lines_.size() && HasTextBefore(lines_[line], mark.column)) return mark.line + 1;
    while (line > 0) {
      --line;
      if (line < lines_.size() && HasContent(lines_[line])) return static_cast<int>(line) + 1;
    }
    return mark.line + 1;
  }

  static bool HasTextBefore(std::string_view line, int column) {
    line = line.substr(0, std::min(line.size(), static_cast<size_t>(std::max(column, 0))));
    return line.find_first_not_of(" \t\r") != std::string_view::npos;
  }

  // False for blank and comment-only lines.
  static bool HasContent(std::string_view line) {
    const size_t first = line.find_first_not_of(" \t\r");
    return first != std::string_view::npos && line[first] != '#';
  }

  void AddError(int line, const std::string& problem) {
    std::string where = source_;
    if (line > 0) where += ":" + std::to_string(line);
    errors_.emplace_back(line, where + ": " + problem);
  }

  const std::string_view text_;
  const std::string& source_;
  const uint64_t max_ids_;  // a file names at most this many ids
  std::vector<std::string_view> lines_;
  std::vector<std::pair<int, std::string>> errors_;      // (line, full message)
  std::map<std::string, IdSite, std::less<>> explicit_ids_;  // includes entries with errors
  std::vector<IdRange> ranges_;                              // includes entries with errors
  std::map<std::string_view, RangeGroup> groups_;            // ranges_ by prefix
  std::vector<PendingEntry> pending_;                        // the valid entries
  uint64_t ids_named_ = 0;   // within max_ids_
  bool over_limit_ = false;  // an entry went past max_ids_ (and was reported)
  ClusterConfig config_;
};

}  // namespace

StatusOr<std::string> ParseAccessPoint(std::string_view text) {
  std::string canonical;
  if (std::optional<std::string> problem = CheckAccessPoint(text, &canonical)) {
    return Status::InvalidArgument(Quote(text) + " is not a valid access point: " + *problem);
  }
  return canonical;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kWriter:
      return "writer";
    case Role::kReader:
      return "reader";
    case Role::kWriterAndReader:
      return "writer+reader";
  }
  return "unknown";
}

std::vector<std::string> ReplicaSet::Replicas() const {
  std::vector<std::string> replicas;
  replicas.reserve(readers.size() + 1);
  replicas.push_back(writer);
  for (const std::string& reader : readers) {
    if (reader != writer) replicas.push_back(reader);
  }
  return replicas;
}

size_t ReplicaSet::Quorum() const { return Replicas().size() / 2 + 1; }

namespace {

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

uint64_t ReplicaSet::ComputeFingerprint() const {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64-bit
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // a separator no access point contains
    h *= 1099511628211ull;
  };
  mix(writer);
  for (const std::string& r : Sorted(readers)) mix(r);
  // Epoch 0 (never reconfigured) leaves the fingerprint as it was before epochs existed.
  if (epoch != 0) mix("epoch " + std::to_string(epoch));
  return h == 0 ? 1 : h;
}

std::string ReplicaSet::ViewString() const {
  std::string out = "writer " + writer + ", readers [";
  bool first = true;
  for (const std::string& r : Sorted(readers)) {
    out += (first ? "" : ", ") + r;
    first = false;
  }
  out += "]";
  if (epoch != 0) out += " at epoch " + std::to_string(epoch);
  return out;
}

bool ReplicaSet::IsReader(std::string_view node) const {
  const std::string canonical = CanonicalOrSame(node);
  return std::find(readers.begin(), readers.end(), canonical) != readers.end();
}

Role ReplicaSet::RoleOf(std::string_view node) const {
  const std::string canonical = CanonicalOrSame(node);
  const bool is_writer = canonical == writer;
  const bool is_reader = std::find(readers.begin(), readers.end(), canonical) != readers.end();
  if (is_writer && is_reader) return Role::kWriterAndReader;
  if (is_writer) return Role::kWriter;
  if (is_reader) return Role::kReader;
  return Role::kNone;
}

void ConfigBuilder::Build(std::vector<PendingEntry>& pending, const std::vector<IdRange>& ranges,
                          uint64_t ids_named, ClusterConfig* config) {
  config->entries_.reserve(pending.size());
  uint64_t explicit_count = 0;
  for (const PendingEntry& p : pending) explicit_count += p.ids.size();
  config->ids_.reserve(explicit_count);
  config->id_entry_.reserve(explicit_count);
  for (PendingEntry& p : pending) {
    ClusterConfig::Entry& entry = config->entries_.emplace_back();
    entry.set = std::move(p.shape);
    if (p.range) {
      const IdRange& range = ranges[*p.range];
      entry.is_range = true;
      entry.prefix = range.prefix;
      entry.from = range.from;
      entry.to = range.to;
    } else {
      entry.first_id = config->ids_.size();
      for (std::string& id : p.ids) config->ids_.push_back(std::move(id));
      entry.end_id = config->ids_.size();
    }
  }
  config->BuildIndex();
  assert(config->size_ == ids_named);
}

void ClusterConfig::BuildIndex() {
  ranges_by_prefix_.clear();
  id_entry_.assign(ids_.size(), 0);
  size_ = 0;
  for (size_t index = 0; index < entries_.size(); ++index) {
    const Entry& e = entries_[index];
    if (e.is_range) ranges_by_prefix_[e.prefix].push_back(static_cast<uint32_t>(index));
    for (size_t i = e.first_id; i < e.end_id; ++i) id_entry_[i] = static_cast<uint32_t>(index);
    size_ += e.count();
  }
  for (auto& [prefix, list] : ranges_by_prefix_) {
    std::sort(list.begin(), list.end(),
              [this](uint32_t a, uint32_t b) { return entries_[a].from < entries_[b].from; });
  }
  id_order_.resize(ids_.size());
  for (size_t i = 0; i < id_order_.size(); ++i) id_order_[i] = static_cast<uint32_t>(i);
  std::sort(id_order_.begin(), id_order_.end(),
            [this](uint32_t a, uint32_t b) { return ids_[a] < ids_[b]; });
}

std::optional<TokenReplication> ClusterConfig::Find(std::string_view id) const {
  const auto it = std::lower_bound(id_order_.begin(), id_order_.end(), id,
                                   [this](uint32_t pos, std::string_view key) { return ids_[pos] < key; });
  if (it != id_order_.end() && ids_[*it] == id) {
    return TokenReplication{std::string(id), &entries_[id_entry_[*it]].set};
  }
  // A range's id is its prefix and a number written without leading zeros: try every split
  // of the trailing digits.
  for (size_t at = id.size(); at > 0 && id[at - 1] >= '0' && id[at - 1] <= '9'; --at) {
    const auto group = ranges_by_prefix_.find(id.substr(0, at - 1));
    if (group == ranges_by_prefix_.end()) continue;
    const std::optional<uint64_t> number = RangeNumberOf(id.substr(at - 1));
    if (!number) continue;
    const std::vector<uint32_t>& list = group->second;
    // The last range starting at or before the number; ranges of one prefix do not overlap.
    auto r = std::upper_bound(list.begin(), list.end(), *number,
                              [this](uint64_t n, uint32_t e) { return n < entries_[e].from; });
    if (r == list.begin()) continue;
    const Entry& entry = entries_[*std::prev(r)];
    if (*number <= entry.to) return TokenReplication{std::string(id), &entry.set};
  }
  return std::nullopt;
}

bool ClusterConfig::ForEachIn(const Entry& entry,
                              const std::function<bool(const TokenReplication&)>& fn) const {
  TokenReplication token{std::string(), &entry.set};
  if (entry.is_range) {
    char number[24];
    for (uint64_t n = entry.from;; ++n) {
      const auto [end, ec] = std::to_chars(number, number + sizeof(number), n);
      token.id.assign(entry.prefix);
      token.id.append(number, end);
      if (!fn(token)) return false;
      if (n == entry.to) break;
    }
    return true;
  }
  for (size_t i = entry.first_id; i < entry.end_id; ++i) {
    token.id = ids_[i];
    if (!fn(token)) return false;
  }
  return true;
}

void ClusterConfig::ForEach(const std::function<bool(const TokenReplication&)>& fn) const {
  for (const Entry& entry : entries_) {
    if (!ForEachIn(entry, fn)) return;
  }
}

void ClusterConfig::ForEachOf(std::string_view node,
                              const std::function<bool(const TokenReplication&)>& fn) const {
  for (const Entry& entry : entries_) {
    if (entry.set.RoleOf(node) == Role::kNone) continue;
    if (!ForEachIn(entry, fn)) return;
  }
}

uint64_t ClusterConfig::CountOf(std::string_view node) const {
  uint64_t count = 0;
  for (const Entry& entry : entries_) {
    if (entry.set.RoleOf(node) != Role::kNone) count += entry.count();
  }
  return count;
}

std::vector<std::string> ClusterConfig::FirstIds(size_t limit) const {
  std::vector<std::string> ids;
  if (limit == 0) return ids;
  ForEach([&](const TokenReplication& t) {
    ids.push_back(t.id);
    return ids.size() < limit;
  });
  return ids;
}

std::vector<std::string> ClusterConfig::Nodes() const {
  std::vector<std::string> nodes;
  for (const Entry& entry : entries_) {
    nodes.push_back(entry.set.writer);
    nodes.insert(nodes.end(), entry.set.readers.begin(), entry.set.readers.end());
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

std::vector<const ReplicaSet*> ClusterConfig::ReplicaSets() const {
  std::vector<const ReplicaSet*> sets;
  sets.reserve(entries_.size());
  for (const Entry& entry : entries_) sets.push_back(&entry.set);
  return sets;
}

void ClusterConfig::ForEachEntry(const std::function<void(const EntryIds&)>& fn) const {
  for (const Entry& entry : entries_) {
    EntryIds e;
    e.set = &entry.set;
    e.is_range = entry.is_range;
    if (entry.is_range) {
      e.prefix = entry.prefix;
      e.from = entry.from;
      e.to = entry.to;
    } else {
      e.ids.reserve(entry.end_id - entry.first_id);
      for (size_t i = entry.first_id; i < entry.end_id; ++i) e.ids.push_back(ids_[i]);
    }
    fn(e);
  }
}

namespace {

constexpr std::string_view kEncodingMagic = "tokenstore-config/2\n";

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Reads what Put* wrote; every read checks the bounds and clears ok() past them.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  std::string_view rest() const { return in_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      const auto byte = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      if (shift == 63 && byte > 1) return Fail();  // bits past the 64th: not what Put wrote
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    return Fail();
  }
  std::string String(size_t limit) {
    const uint64_t n = Varint();
    if (!ok_ || n > limit || n > in_.size()) {
      Fail();
      return "";
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  std::string_view in_;
  bool ok_ = true;
};

constexpr size_t kMaxEncodedAccessPoint = 64;

}  // namespace

std::string EncodeClusterConfig(const ClusterConfig& config) {
  std::string body;
  PutVarint(&body, config.size_);
  PutVarint(&body, config.entries_.size());
  for (const ClusterConfig::Entry& e : config.entries_) {
    PutString(&body, e.set.writer);
    PutVarint(&body, e.set.readers.size());
    for (const std::string& r : e.set.readers) PutString(&body, r);
    PutVarint(&body, static_cast<uint64_t>(e.set.line));
    PutVarint(&body, e.set.epoch);
    PutVarint(&body, e.set.fingerprint);
    PutVarint(&body, e.is_range ? 1 : 0);
    if (e.is_range) {
      PutString(&body, e.prefix);
      PutVarint(&body, e.from);
      PutVarint(&body, e.to);
    } else {
      PutVarint(&body, e.end_id - e.first_id);
      for (size_t i = e.first_id; i < e.end_id; ++i) PutString(&body, config.ids_[i]);
    }
  }
  std::string out(kEncodingMagic);
  PutVarint(&out, body.size());
  PutVarint(&out, Fnv1a64(body));
  return out + body;
}

StatusOr<ClusterConfig> DecodeClusterConfig(std::string_view bytes, const std::string& source) {
  const auto damaged = [&source](const std::string& what) {
    return Status::InvalidArgument("cached form of " + source + " is damaged: " + what);
  };
  if (!bytes.starts_with(kEncodingMagic)) return damaged("unknown format");
  Reader header(bytes.substr(kEncodingMagic.size()));
  const uint64_t body_size = header.Varint();
  const uint64_t checksum = header.Varint();
  if (!header.ok()) return damaged("truncated header");
  const std::string_view rest = header.rest();
  if (rest.size() != body_size) return damaged("truncated");
  if (Fnv1a64(rest) != checksum) return damaged("checksum mismatch");

  Reader in(rest);
  ClusterConfig config;
  config.source = source;
  const uint64_t size = in.Varint();
  const uint64_t entries = in.Varint();
  if (!in.ok() || entries == 0 || entries > kMaxTokenIdsPerFile || size > kMaxTokenIdsPerFile) {
    return damaged("bad counts");
  }
  config.entries_.reserve(entries);
  for (uint64_t k = 0; k < entries && in.ok(); ++k) {
    ClusterConfig::Entry& e = config.entries_.emplace_back();
    e.set.writer = in.String(kMaxEncodedAccessPoint);
    const uint64_t readers = in.Varint();
    if (readers == 0 || readers > 1024) return damaged("bad reader count");
    for (uint64_t r = 0; r < readers && in.ok(); ++r) {
      e.set.readers.push_back(in.String(kMaxEncodedAccessPoint));
    }
    e.set.line = static_cast<int>(in.Varint());
    e.set.epoch = in.Varint();
    e.set.fingerprint = in.Varint();
    if (in.ok() && e.set.fingerprint != e.set.ComputeFingerprint()) {
      return damaged("fingerprint of entry " + std::to_string(k + 1));
    }
    e.is_range = in.Varint() == 1;
    if (e.is_range) {
      e.prefix = in.String(kMaxTokenIdBytes);
      e.from = in.Varint();
      e.to = in.Varint();
      if (e.from > e.to || e.to - e.from >= kMaxTokenIdsPerFile) return damaged("bad range");
    } else {
      const uint64_t ids = in.Varint();
      if (ids > kMaxTokenIdsPerFile) return damaged("bad id count");
      e.first_id = config.ids_.size();
      for (uint64_t i = 0; i < ids && in.ok(); ++i) config.ids_.push_back(in.String(kMaxTokenIdBytes));
      e.end_id = config.ids_.size();
    }
  }
  if (!in.ok() || !in.done()) return damaged("entries do not match");
  config.BuildIndex();
  if (config.size() != size) return damaged("the entries name another number of ids");
  return config;
}

StatusOr<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& source,
                                           uint64_t max_token_ids) {
  return Parser(yaml, source, max_token_ids).Run();
}

StatusOr<std::string> ReadClusterConfigFile(const std::string& path) {
  const auto failure = [&path](int error, const char* action) {
    const std::string message = "cannot " + std::string(action) + " cluster config " + Quote(path) +
                                ": " + std::error_code(error, std::generic_category()).message();
    switch (error) {
      case ENOENT:
      case ENOTDIR:
        return Status::NotFound(message);
      case EACCES:
      case EPERM:
        return Status::PermissionDenied(message);
      default:
        return Status::InvalidArgument(message);
    }
  };

  errno = 0;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return failure(errno, "open");
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  // A directory opens fine and fails only on read (EISDIR), so check here too.
  const int read_error = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (read_error != 0) return failure(read_error, "read");
  return text;
}

StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path) {
  StatusOr<std::string> text = ReadClusterConfigFile(path);
  if (!text.ok()) return text.status();
  return ParseClusterConfig(*text, path);
}

}  // namespace tokenstore
