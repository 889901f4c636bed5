// Small ASCII text helpers shared by the parsers and providers (SQL keywords, my.cnf keys and
// MariaDB variable values are ASCII; none of this is locale-dependent).
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace replplan {

inline std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Without trailing line ends and spaces (not tabs): a command's output or a secret file's line as
// read, before it is compared or shown.
inline std::string_view TrimEnd(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

// "a, b, c": the items with `sep` between them ("" for none).
inline std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// Non-empty and only the ASCII digits 0-9 (no sign, no blanks).
inline bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Index just past the quoted string starting at `pos` (a ', " or `), honouring doubled quotes and,
// in strings only, backslash escapes: in a backticked identifier (how SHOW GRANTS prints accounts)
// a backslash is an ordinary character, so `a\` ends at its second backtick. s.size() when it
// never closes.
inline size_t SkipQuoted(std::string_view s, size_t pos) {
  char quote = s[pos];
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\' && quote != '`') {
      ++i;
    } else if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        ++i;
      } else {
        return i + 1;
      }
    }
  }
  return s.size();
}

}  // namespace replplan
