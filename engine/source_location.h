// Where something came from in an input file, for errors that point at the input:
// "topology.toml:14:16: unknown key 'sever_id' (did you mean 'server_id'?)".
#pragma once

#include <string>

#include "engine/terminal_text.h"

namespace replplan {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown

  std::string ToString() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    if (line > 0 && column > 0) s += ":" + std::to_string(column);
    return s;
  }
};

// One problem found in an input file. ToString(): "FILE:LINE:COL: message" then, if any,
// "  hint: ..." on its own line; the file name, message and hint each terminal-safe (a message
// quotes values from the file, and a TOML string may hold any control character).
struct Diagnostic {
  SourceLocation where;
  std::string message;
  std::string hint;

  std::string ToString() const {
    std::string s = TerminalSafe(where.ToString() + ": " + message);
    if (!hint.empty()) s += "\n  hint: " + TerminalSafe(hint);
    return s;
  }
};

}  // namespace replplan
