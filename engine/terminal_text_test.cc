#include "engine/terminal_text.h"

#include <doctest/doctest.h>

#include <string>

namespace replplan {

TEST_CASE("control characters are shown as escapes; printable text, UTF-8 and backslashes stay as they are") {
  CHECK(TerminalSafe("secondhand_production") == "secondhand_production");
  CHECK(TerminalSafe("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 C:\\path") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 C:\\path");
  CHECK(TerminalSafe("a\x1b[2K\rb") == "a\\x1b[2K\\rb");
  CHECK(TerminalSafe("a\nb\tc") == "a\\nb\\tc");
  CHECK(TerminalSafe(std::string("nul\0bell\x07" "del\x7f", 13)) == "nul\\x00bell\\x07del\\x7f");
  // C1 controls in UTF-8 (U+009B is a one-character CSI), bidi overrides, line separators.
  CHECK(TerminalSafe("a\xC2\x9B" "2Kb") == "a\\u009b2Kb");
  CHECK(TerminalSafe("\xC2\x85|\xE2\x80\xAE|\xE2\x81\xA6|\xE2\x80\xA8|\xD8\x9C") == "\\u0085|\\u202e|\\u2066|\\u2028|\\u061c");
  // Bytes that are not UTF-8 (a raw 0x9B is CSI to an 8-bit terminal), and a truncated sequence.
  CHECK(TerminalSafe("a\x9B" "2K\xFF\xE2\x82") == "a\\x9b2K\\xff\\xe2\\x82");
  CHECK(TerminalSafe("\xC0\xAF") == "\\xc0\\xaf");  // overlong
}

TEST_CASE("TerminalSafeLines keeps line feeds and escapes the rest; escaping twice changes nothing") {
  CHECK(TerminalSafeLines("error\n  hint: x\x1b[1A\r\n") == "error\n  hint: x\\x1b[1A\\r\n");
  const std::string once = TerminalSafe("a\x1b[2K\r\xC2\x9B\n");
  CHECK(TerminalSafe(once) == once);
  CHECK(TerminalSafeLines(once) == once);
}

}  // namespace replplan
