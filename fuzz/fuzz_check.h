// What the harnesses share: FUZZ_CHECK, a property that must hold for every input. A failure
// prints the property, what was compared and where, then aborts, which libFuzzer reports as a crash
// and saves the input (crash-<sha1>) for reproduction: `build-fuzz/fuzz/<name>_fuzz crash-<sha1>`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace replplan::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* property, const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: property failed: %s\n", file, line, property);
  if (!detail.empty()) std::fprintf(stderr, "%s\n", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Printable form of arbitrary bytes for a failure message: C escapes for anything not ASCII text.
inline std::string Escaped(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

// Lines split on '\n', each without it; a final line without '\n' is a line too.
inline std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace replplan::fuzz

#define FUZZ_CHECK(cond, detail)                                                              \
  do {                                                                                        \
    if (!(cond)) ::replplan::fuzz::Fail(__FILE__, __LINE__, #cond, (detail));                \
  } while (0)
