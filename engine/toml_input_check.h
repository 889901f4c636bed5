// A scan of TOML text before toml++ reads it, for bytes toml++ 3.3.0 (Debian 12's) must never see.
//
// toml++ 3.3.0 asks "is this horizontal whitespace?" of characters it does not expect, and for many
// non-ASCII code points (U+00A1..U+0499 among them: 'é', '§', '°') that lookup reaches
// __builtin_unreachable: undefined behaviour, not an error (upstream issues #190 and #295, fixed
// after 3.3.0). It happens for a non-ASCII character outside a string or comment, and in a
// multi-line basic string for one right after a backslash or right after a line-ending backslash.
// Debian's build happens to return an error today; another compiler or flag may not. So such input
// is refused here, with FILE:LINE:COL, before toml++ sees it.
//
// Also refused, anywhere: invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF, truncated
// sequences); and outside strings: control characters other than tab and line breaks, and a
// carriage return not followed by a line feed (TOML forbids them there). Inside strings, control
// characters are left to toml++, which reports them well. Two ASCII shapes on which toml++ 3.3.0
// breaks its own assumptions (TOML_ASSERT_ASSUME: an abort in a debug build, undefined behaviour
// under clang) are refused as well: a table header with no name after "[" or "[[", and a '}'
// inside an array. Columns count code points, as toml++'s do, and a byte order mark at the start
// is not counted (toml++ skips it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/source_location.h"

namespace replplan {

// The first problem in `text`, or nothing when toml++ may read it.
std::optional<Diagnostic> CheckTomlInput(std::string_view text, const std::string& file_name);

}  // namespace replplan
