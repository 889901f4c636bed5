#include "ops/move.h"

#include <doctest/doctest.h>

#include <string>

namespace replplan::ops {

TEST_CASE("the move report shows escape sequences from a server's error as text, on the lines it writes") {
  MoveOutcome o;
  o.kind = "switchover";
  o.from = "mercury";
  o.to = "uranus";
  o.steps.push_back({"read the live state (mercury 12 ms, uranus \x1b[2K\r9 ms)", std::chrono::milliseconds(12)});
  o.total = std::chrono::milliseconds(12);
  o.status = Status::Unavailable("uranus: ERROR 2013: lost connection\x1b[1A\x1b[2K\r\n  result: done");
  CHECK(RenderMoveReport(o) ==
        "\n"
        "switchover report: mercury -> uranus\n"
        "  steps:\n"
        "         12 ms  read the live state (mercury 12 ms, uranus \\x1b[2K\\r9 ms)\n"
        "    12 ms in total\n"
        "  result: uranus: ERROR 2013: lost connection\\x1b[1A\\x1b[2K\\r\\n  result: done\n");
}

}  // namespace replplan::ops
