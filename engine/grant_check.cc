#include "engine/grant_check.h"
#include "engine/text.h"

#include <algorithm>
#include <cctype>

namespace replplan {
namespace {

// MariaDB 10.5+ accepts the new names and may print either, so both fold to one spelling.
std::string CanonicalPrivilege(std::string_view raw) {
  std::string p = Upper(Trim(raw));
  std::string collapsed;
  for (char c : p) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += c;
  }
  if (collapsed == "ALL") return "ALL PRIVILEGES";
  if (collapsed == "REPLICATION REPLICA") return "REPLICATION SLAVE";
  if (collapsed == "REPLICA MONITOR") return "SLAVE MONITOR";
  return collapsed;
}

// Finds `word` (upper case, surrounded by spaces) outside backticks, quotes and parentheses.
size_t FindKeyword(std::string_view line, std::string_view word, size_t from = 0) {
  int depth = 0;
  char quote = 0;
  for (size_t i = from; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '`' || c == '\'' || c == '"') quote = c;
    else if (c == '(') ++depth;
    else if (c == ')') --depth;
    else if (depth == 0 && i + word.size() <= line.size() &&
             Upper(line.substr(i, word.size())) == word) {
      return i;
    }
  }
  return std::string_view::npos;
}

// "`shop`" -> shop, "*" -> *; a doubled backtick inside is one backtick.
std::string Unquote(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == '`' && s[i + 1] == '`') ++i;
    }
    return out;
  }
  return std::string(s);
}

// Splits "`db`.`t`" at the dot outside backticks.
bool SplitObject(std::string_view object, std::string* db, std::string* table) {
  bool quoted = false;
  for (size_t i = 0; i < object.size(); ++i) {
    if (object[i] == '`') quoted = !quoted;
    if (object[i] == '.' && !quoted) {
      *db = Unquote(object.substr(0, i));
      *table = Unquote(object.substr(i + 1));
      return !db->empty() && !table->empty();
    }
  }
  return false;
}

// SQL LIKE with MariaDB's database-grant rules: % any run, _ any one char, backslash escapes.
bool LikeMatch(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '%') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (LikeMatch(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] == '\\' && pattern.size() > 1) {
    return pattern[1] == text[0] && LikeMatch(pattern.substr(2), text.substr(1));
  }
  if (pattern[0] == '_' || pattern[0] == text[0]) return LikeMatch(pattern.substr(1), text.substr(1));
  return false;
}

bool LevelCovers(const GrantLine& line, const GrantSpec& wanted) {
  if (line.database == "*") return true;
  if (wanted.database == "*") return false;
  if (line.table == "*") return LikeMatch(line.database, wanted.database);
  return wanted.table != "*" && line.database == wanted.database && line.table == wanted.table;
}

bool Grants(const GrantLine& line, const std::string& privilege) {
  if (privilege == "USAGE") return true;
  if (privilege == "GRANT OPTION") return line.grant_option;
  for (const std::string& p : line.privileges) {
    if (p == privilege || p == "ALL PRIVILEGES") return true;
  }
  return false;
}

}  // namespace

std::optional<GrantLine> ParseGrantLine(std::string_view line) {
  line = Trim(line);
  if (line.size() < 6 || Upper(line.substr(0, 6)) != "GRANT ") return std::nullopt;
  size_t on = FindKeyword(line, " ON ");
  if (on == std::string_view::npos) return std::nullopt;  // a role grant: GRANT `r` TO ...
  size_t to = FindKeyword(line, " TO ", on);
  if (to == std::string_view::npos) return std::nullopt;

  GrantLine out;
  std::string_view privileges = line.substr(6, on - 6);
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= privileges.size(); ++i) {
    if (i < privileges.size() && privileges[i] == '(') ++depth;
    if (i < privileges.size() && privileges[i] == ')') --depth;
    if (i == privileges.size() || (privileges[i] == ',' && depth == 0)) {
      std::string_view one = Trim(privileges.substr(start, i - start));
      // A column list makes it a column privilege: it covers no table or database wish.
      if (!one.empty() && one.find('(') == std::string_view::npos) {
        out.privileges.push_back(CanonicalPrivilege(one));
      }
      start = i + 1;
    }
  }
  std::string_view object = Trim(line.substr(on + 4, to - on - 4));
  std::string upper_object = Upper(object);
  if (upper_object.rfind("FUNCTION ", 0) == 0 || upper_object.rfind("PROCEDURE ", 0) == 0 ||
      upper_object.rfind("PACKAGE ", 0) == 0) {
    return std::nullopt;
  }
  if (upper_object.rfind("TABLE ", 0) == 0) object = Trim(object.substr(6));
  if (!SplitObject(object, &out.database, &out.table)) return std::nullopt;
  out.grant_option = FindKeyword(line, " WITH GRANT OPTION", to) != std::string_view::npos;
  return out;
}

std::vector<std::string> MissingPrivileges(const std::vector<std::string>& show_grants,
                                           const GrantSpec& wanted) {
  std::vector<GrantLine> lines;
  for (const std::string& text : show_grants) {
    if (auto parsed = ParseGrantLine(text)) {
      if (LevelCovers(*parsed, wanted)) lines.push_back(std::move(*parsed));
    }
  }
  std::vector<std::string> missing;
  for (const std::string& raw : wanted.privileges) {
    std::string privilege = CanonicalPrivilege(raw);
    bool covered = std::any_of(lines.begin(), lines.end(),
                               [&](const GrantLine& l) { return Grants(l, privilege); });
    if (!covered) missing.push_back(privilege);
  }
  return missing;
}

GrantSpec ReplicationSlaveGrant() {
  GrantSpec spec;
  spec.privileges = {"REPLICATION SLAVE"};
  spec.database = "*";
  spec.table = "*";
  spec.text = "REPLICATION SLAVE ON *.*";
  return spec;
}

}  // namespace replplan
