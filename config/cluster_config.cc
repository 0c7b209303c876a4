#include "config/cluster_config.h"

#include <arpa/inet.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/token_value.h"

namespace tokenstore {
namespace {

// Longer values are cut in messages so one absurd line cannot flood an operator's terminal.
constexpr size_t kMaxQuotedBytes = 80;
constexpr std::array<std::string_view, 3> kKnownKeys = {"token", "writer", "readers"};
constexpr char kKnownKeyList[] = "token, writer, readers";
constexpr char kAccessPointExample[] = "127.0.0.1:50051";

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

// Plain-words problem with a token id, or nullopt when valid.
std::optional<std::string> CheckTokenId(std::string_view id) {
  if (id.empty()) return "the token id is empty";
  if (id.size() > kMaxTokenIdBytes) {
    return "token id " + Quote(id) + " is " + std::to_string(id.size()) +
           " bytes long; the limit is " + std::to_string(kMaxTokenIdBytes);
  }
  for (char c : id) {
    if (!IsGraphicAscii(c)) {
      return "token id " + Quote(id) +
             " contains whitespace or a non-printable character (ids are printable ASCII "
             "without spaces)";
    }
  }
  return std::nullopt;
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
std::string_view ClosestKnownKey(std::string_view key) {
  std::string_view best;
  size_t best_distance = 3;  // further than two edits is a different word, not a typo
  for (std::string_view known : kKnownKeys) {
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

// Turns one YAML text into a ClusterConfig, collecting every problem it finds. Single use.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {
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
    Field writer;
    Field readers;
    std::vector<YAML::Node> unknown_keys;
    std::vector<std::pair<int, std::string>> key_errors;  // reported once the label is known
    for (const auto& pair : entry) {
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) {
        key_errors.emplace_back(LineOf(key), std::string("a key is ") + KindName(key) +
                                                 "; keys are plain names (" + kKnownKeyList + ")");
        continue;
      }
      Field* field = nullptr;
      if (key.Scalar() == "token") field = &token;
      if (key.Scalar() == "writer") field = &writer;
      if (key.Scalar() == "readers") field = &readers;
      if (field == nullptr) {
        unknown_keys.push_back(key);
        continue;
      }
      // yaml-cpp keeps both copies of a repeated key; silently using one would hide an edit.
      if (field->present) {
        key_errors.emplace_back(LineOf(key), "key " + Quote(key.Scalar()) +
                                                 " appears twice (first at line " +
                                                 std::to_string(LineOf(field->key)) + ")");
        continue;
      }
      *field = Field{key, pair.second, true};
    }

    // The token comes first so that every other message can name it.
    TokenReplication result;
    result.line = entry_line;
    bool valid = key_errors.empty() && unknown_keys.empty();
    if (!token.present) {
      AddError(entry_line, label + ": the \"token\" key is missing");
      valid = false;
    } else if (std::optional<std::string> id = ParseTokenId(token, label)) {
      result.id = *id;
      label = "token " + Quote(*id);
      const int line = LineOf(token.value);
      const auto [it, inserted] = first_line_of_id_.emplace(*id, line);
      if (!inserted) {
        AddError(line, "token " + Quote(*id) + " is listed twice (first at line " +
                           std::to_string(it->second) + ")");
        valid = false;
      }
    } else {
      valid = false;
    }

    for (const auto& [line, problem] : key_errors) AddError(line, label + ": " + problem);
    for (const YAML::Node& key : unknown_keys) {
      std::string problem = label + ": unknown key " + Quote(key.Scalar());
      const std::string_view suggestion = ClosestKnownKey(key.Scalar());
      if (!suggestion.empty()) problem += " (did you mean \"" + std::string(suggestion) + "\"?)";
      AddError(LineOf(key), problem + "; known keys are " + kKnownKeyList);
    }

    if (!writer.present) {
      AddError(entry_line, label + ": the \"writer\" key is missing");
      valid = false;
    } else if (!ParseWriter(writer, label, &result.writer)) {
      valid = false;
    }

    if (!readers.present) {
      AddError(entry_line, label + ": the \"readers\" key is missing");
      valid = false;
    } else if (!ParseReaders(readers, label, &result.readers)) {
      valid = false;
    }

    if (valid) {
      config_.index.emplace(result.id, config_.tokens.size());
      config_.tokens.push_back(std::move(result));
    }
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
  std::vector<std::string_view> lines_;
  std::vector<std::pair<int, std::string>> errors_;           // (line, full message)
  std::map<std::string, int, std::less<>> first_line_of_id_;  // includes entries with errors
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

std::vector<std::string> TokenReplication::Replicas() const {
  std::vector<std::string> replicas;
  replicas.reserve(readers.size() + 1);
  replicas.push_back(writer);
  for (const std::string& reader : readers) {
    if (reader != writer) replicas.push_back(reader);
  }
  return replicas;
}

size_t TokenReplication::Quorum() const { return Replicas().size() / 2 + 1; }

namespace {

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

uint64_t TokenReplication::ComputeFingerprint() const {
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
  return h == 0 ? 1 : h;
}

std::string TokenReplication::ViewString() const {
  std::string out = "writer " + writer + ", readers [";
  bool first = true;
  for (const std::string& r : Sorted(readers)) {
    out += (first ? "" : ", ") + r;
    first = false;
  }
  return out + "]";
}

bool TokenReplication::IsReader(std::string_view node) const {
  const std::string canonical = CanonicalOrSame(node);
  return std::find(readers.begin(), readers.end(), canonical) != readers.end();
}

Role TokenReplication::RoleOf(std::string_view node) const {
  const std::string canonical = CanonicalOrSame(node);
  const bool is_writer = canonical == writer;
  const bool is_reader = std::find(readers.begin(), readers.end(), canonical) != readers.end();
  if (is_writer && is_reader) return Role::kWriterAndReader;
  if (is_writer) return Role::kWriter;
  if (is_reader) return Role::kReader;
  return Role::kNone;
}

const TokenReplication* ClusterConfig::Find(std::string_view id) const {
  const auto it = index.find(id);
  return it == index.end() ? nullptr : &tokens[it->second];
}

std::vector<std::string> ClusterConfig::Nodes() const {
  std::vector<std::string> nodes;
  for (const TokenReplication& token : tokens) {
    nodes.push_back(token.writer);
    nodes.insert(nodes.end(), token.readers.begin(), token.readers.end());
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

std::vector<const TokenReplication*> ClusterConfig::TokensOf(std::string_view node) const {
  std::vector<const TokenReplication*> result;
  for (const TokenReplication& token : tokens) {
    if (token.RoleOf(node) != Role::kNone) result.push_back(&token);
  }
  return result;
}

StatusOr<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& source) {
  StatusOr<ClusterConfig> config = Parser(yaml, source).Run();
  if (config.ok()) {
    for (TokenReplication& t : config->tokens) t.fingerprint = t.ComputeFingerprint();
  }
  return config;
}

StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path) {
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
  return ParseClusterConfig(text, path);
}

}  // namespace tokenstore
