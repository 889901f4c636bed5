// Text from servers and files made safe to print on a terminal. A database name, a server's error
// message, a value read from database.yml or the topology file may hold control characters: an
// escape sequence ("\x1b[1A\x1b[2K" moves up and erases a line) or a carriage return can hide a
// DESTRUCTIVE line of a plan from the person approving it. Everything replplan prints as text
// passes through here; JSON output is escaped by nlohmann-json instead (with ensure_ascii).
//
// Escaped, so they show as visible text and never act: C0 controls (\t, \n, \r by name, others as
// \x1b), DEL (\x7f), C1 controls U+0080..U+009F (\u009b, the one-character CSI), bidirectional
// formatting and line/paragraph separators (U+061C, U+200E, U+200F, U+2028..U+202E,
// U+2066..U+2069: they reorder or break what the reader sees), and bytes that are not UTF-8
// (\xff). A backslash is not escaped: the result is for reading, and escaping it twice changes
// nothing.
#pragma once

#include <string>
#include <string_view>

namespace replplan {

// For text on one line: a line feed is escaped too.
std::string TerminalSafe(std::string_view text);

// For text of several lines (a rendered report, an error with a hint): line feeds are kept,
// everything else as TerminalSafe.
std::string TerminalSafeLines(std::string_view text);

}  // namespace replplan
