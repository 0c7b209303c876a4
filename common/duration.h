// Durations on the command line: "500ms", "5s", "1.5s", "1m", "2h", "1m30s"; a bare number
// ("5", "0.5") is seconds, as before units existed. One parser for every program's duration
// flags (--timeout, --duration, ...); common/cli.h wraps it as a CLI11 transform.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tokenstore {

// The longest duration ParseDurationSeconds accepts (about 31 years): flags bound their own
// ranges further; this only keeps arithmetic on the result finite and sane.
inline constexpr double kMaxDurationSeconds = 1e9;

// `text` in seconds. Accepted: a bare non-negative decimal number (seconds), or one or more
// NUMBER UNIT pairs with UNIT one of ms, s, m, h ("1m30s"); NUMBER is digits with an optional
// fraction (".5" and "5." too). No sign, exponent, space, "inf" or "nan". INVALID_ARGUMENT
// saying what is wrong with `text` (callers add the flag's name).
StatusOr<double> ParseDurationSeconds(std::string_view text);

// `seconds` as a plain decimal number that reads back as the same double: "0.5", "10".
std::string SecondsText(double seconds);

// `seconds` as text that ParseDurationSeconds reads back to the same double, for help and
// messages: "0.5s", "10s", "90s".
std::string FormatDurationSeconds(double seconds);

}  // namespace tokenstore
