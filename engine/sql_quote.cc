#include "engine/sql_quote.h"

#include <algorithm>

namespace replplan {

std::string QuoteIdentifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '`';
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
  return out;
}

std::string QuoteString(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '\'';
  for (char c : value) {
    // The same set mysql_real_escape_string escapes, so a value quoted here and one escaped by a
    // live connection are byte-for-byte identical.
    switch (c) {
      case '\0': out += "\\0"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      case '\x1a': out += "\\Z"; break;
      default: out += c;
    }
  }
  out += '\'';
  return out;
}

std::string QuoteAccount(std::string_view user, std::string_view host) {
  return QuoteString(user) + "@" + QuoteString(host);
}

std::string SortedIdentifierList(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ",") + QuoteIdentifier(name);
  return out;
}

}  // namespace replplan
