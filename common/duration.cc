#include "common/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace tokenstore {
namespace {

constexpr char kForm[] =
    "use a number with a unit (ms, s, m, h), e.g. 500ms, 5s, 1.5s, 1m, 1m30s; a bare number is "
    "seconds";

Status NotADuration(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("\"" + std::string(text) + "\" is not a duration: " + why + " (" +
                                 kForm + ")");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

StatusOr<double> ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return NotADuration(text, "it is empty");
  if (text.front() == '-') return NotADuration(text, "it is negative");
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // NUMBER: digits, optionally '.', optionally more digits; at least one digit.
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    size_t digits = i - start;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const size_t frac = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      digits += i - frac;
    }
    if (digits == 0) {
      return NotADuration(text, start < text.size() ? "expected a number at \"" +
                                                          std::string(text.substr(start)) + "\""
                                                    : "a unit must follow a number");
    }
    // from_chars takes "5." and ".5" as well as "5.25"; the grammar above checked the form.
    double number = 0;
    const std::string num(text.substr(start, i - start));
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), number);
    if (ec != std::errc() || ptr != num.data() + num.size()) {
      return NotADuration(text, "\"" + num + "\" is too large");
    }
    // UNIT: letters up to the next digit or '.'.
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i < text.size()) {
        return NotADuration(text, "unexpected \"" + std::string(text.substr(i)) + "\"");
      }
      if (start != 0) return NotADuration(text, "the last number has no unit");
      total = number;
      break;
    }
    double scale = 0;
    if (unit == "ms") {
      scale = 1e-3;
    } else if (unit == "s") {
      scale = 1;
    } else if (unit == "m") {
      scale = 60;
    } else if (unit == "h") {
      scale = 3600;
    } else {
      return NotADuration(text, "unknown unit \"" + std::string(unit) + "\"");
    }
    total += number * scale;
  }
  if (!std::isfinite(total) || total > kMaxDurationSeconds) {
    return NotADuration(text, "it is longer than " + FormatDurationSeconds(kMaxDurationSeconds));
  }
  return total;
}

std::string SecondsText(double seconds) {
  char buf[400];  // fixed notation of any double fits
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("nan");
}

std::string FormatDurationSeconds(double seconds) { return SecondsText(seconds) + "s"; }

}  // namespace tokenstore
