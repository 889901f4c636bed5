#include "engine/grant_spec.h"
#include "engine/text.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "engine/did_you_mean.h"

namespace replplan {
namespace {

// The narrowest object a privilege can be granted on. A privilege valid on tables is also valid on
// a database and globally; a database one is also valid globally.
enum class Level { kGlobal, kDatabase, kTable };

struct Privilege {
  const char* name;
  Level level;
};

// MariaDB 10.11's privileges (plus the MySQL 8 role ones), in the order the manual lists them.
constexpr Privilege kPrivileges[] = {
    {"ALL PRIVILEGES", Level::kTable},
    {"USAGE", Level::kTable},
    {"ALTER", Level::kTable},
    {"CREATE", Level::kTable},
    {"CREATE VIEW", Level::kTable},
    {"DELETE", Level::kTable},
    {"DELETE HISTORY", Level::kTable},
    {"DROP", Level::kTable},
    {"INDEX", Level::kTable},
    {"INSERT", Level::kTable},
    {"REFERENCES", Level::kTable},
    {"SELECT", Level::kTable},
    {"SHOW VIEW", Level::kTable},
    {"TRIGGER", Level::kTable},
    {"UPDATE", Level::kTable},
    {"ALTER ROUTINE", Level::kDatabase},
    {"CREATE ROUTINE", Level::kDatabase},
    {"CREATE TEMPORARY TABLES", Level::kDatabase},
    {"EVENT", Level::kDatabase},
    {"EXECUTE", Level::kDatabase},
    {"LOCK TABLES", Level::kDatabase},
    {"BINLOG ADMIN", Level::kGlobal},
    {"BINLOG MONITOR", Level::kGlobal},
    {"BINLOG REPLAY", Level::kGlobal},
    {"CONNECTION ADMIN", Level::kGlobal},
    {"CREATE ROLE", Level::kGlobal},
    {"CREATE TABLESPACE", Level::kGlobal},
    {"CREATE USER", Level::kGlobal},
    {"DROP ROLE", Level::kGlobal},
    {"FEDERATED ADMIN", Level::kGlobal},
    {"FILE", Level::kGlobal},
    {"PROCESS", Level::kGlobal},
    {"READ_ONLY ADMIN", Level::kGlobal},
    {"RELOAD", Level::kGlobal},
    {"REPLICA MONITOR", Level::kGlobal},
    {"REPLICATION CLIENT", Level::kGlobal},
    {"REPLICATION MASTER ADMIN", Level::kGlobal},
    {"REPLICATION REPLICA", Level::kGlobal},
    {"REPLICATION SLAVE", Level::kGlobal},
    {"REPLICATION SLAVE ADMIN", Level::kGlobal},
    {"SET USER", Level::kGlobal},
    {"SHOW DATABASES", Level::kGlobal},
    {"SHUTDOWN", Level::kGlobal},
    {"SLAVE MONITOR", Level::kGlobal},
    {"SUPER", Level::kGlobal},
};

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Trims and collapses runs of whitespace to one space, so "ALL   PRIVILEGES" == "ALL PRIVILEGES".
std::string Squeeze(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

const Privilege* FindPrivilege(const std::string& name) {
  for (const Privilege& p : kPrivileges) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

std::vector<std::string> PrivilegeNames() {
  std::vector<std::string> names;
  for (const Privilege& p : kPrivileges) names.emplace_back(p.name);
  return names;
}

Result<std::vector<std::string>> ParsePrivileges(std::string_view list) {
  std::vector<std::string> privileges;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string_view item = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    std::string name = Upper(Squeeze(item));
    if (name.empty()) return Status::InvalidArgument("empty privilege in the list");
    // Fold MariaDB's synonyms to the names SHOW GRANTS prints, so the planner compares like with like.
    if (name == "ALL") name = "ALL PRIVILEGES";
    if (name == "REPLICATION REPLICA") name = "REPLICATION SLAVE";
    if (name == "REPLICA MONITOR") name = "SLAVE MONITOR";
    if (name == "GRANT OPTION") {
      return Status::InvalidArgument("GRANT OPTION cannot be given from the topology file");
    }
    if (name.find('(') != std::string::npos) {
      return Status::InvalidArgument("column privileges are not supported ('" + name + "')");
    }
    if (FindPrivilege(name) == nullptr) {
      return Status::InvalidArgument("unknown privilege '" + name + "'" + DidYouMeanSuffix(name, PrivilegeNames()));
    }
    if (std::find(privileges.begin(), privileges.end(), name) != privileges.end()) {
      return Status::InvalidArgument("privilege '" + name + "' is listed twice");
    }
    privileges.push_back(name);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (const char* alone : {"ALL PRIVILEGES", "USAGE"}) {
    if (privileges.size() > 1 && std::find(privileges.begin(), privileges.end(), alone) != privileges.end()) {
      return Status::InvalidArgument(std::string(alone) + " cannot be combined with other privileges");
    }
  }
  return privileges;
}

// One part of `db.table`: "*", a backquoted name (`` doubles a backquote) or a plain name of
// letters, digits, '_' and '$'. Advances `pos` past it.
Result<std::string> ParseName(std::string_view s, size_t& pos, const char* what) {
  if (pos < s.size() && s[pos] == '*') {
    ++pos;
    return std::string("*");
  }
  std::string name;
  if (pos < s.size() && s[pos] == '`') {
    for (++pos; pos < s.size(); ++pos) {
      if (s[pos] != '`') {
        name += s[pos];
      } else if (pos + 1 < s.size() && s[pos + 1] == '`') {
        name += '`';
        ++pos;
      } else {
        break;
      }
    }
    if (pos >= s.size()) return Status::InvalidArgument(std::string("unterminated ` in the ") + what + " name");
    ++pos;  // closing backquote
    // `*` would be written back as *, every database or table: a different, wider grant.
    if (name == "*") return Status::InvalidArgument(std::string("`*` is not a ") + what + " name; write * for all");
  } else {
    while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_' || s[pos] == '$')) {
      name += s[pos++];
    }
  }
  if (name.empty()) {
    return Status::InvalidArgument(std::string("expected a ") + what + " name or '*' after ' ON '");
  }
  return name;
}

Status CheckLevels(const GrantSpec& grant) {
  const Level object = grant.database == "*" ? Level::kGlobal : grant.table == "*" ? Level::kDatabase : Level::kTable;
  for (const std::string& name : grant.privileges) {
    const Level narrowest = FindPrivilege(name)->level;
    if (static_cast<int>(narrowest) >= static_cast<int>(object)) continue;
    if (narrowest == Level::kGlobal) {
      return Status::InvalidArgument("privilege '" + name + "' is global: grant it ON *.*");
    }
    return Status::InvalidArgument("privilege '" + name + "' cannot be granted on a single table");
  }
  return Status::OK();
}

// Finds " ON " as a word, case-insensitively.
size_t FindOn(const std::string& upper) {
  for (size_t pos = upper.find("ON"); pos != std::string::npos; pos = upper.find("ON", pos + 1)) {
    const bool space_before = pos > 0 && IsSpace(upper[pos - 1]);
    const bool space_after = pos + 2 < upper.size() && IsSpace(upper[pos + 2]);
    if (space_before && space_after) return pos;
  }
  return std::string::npos;
}

}  // namespace

std::string QuoteGrantName(std::string_view name) {
  if (name == "*") return "*";
  std::string out = "`";
  for (char c : name) {
    out += c;
    if (c == '`') out += '`';
  }
  return out + "`";
}

Result<GrantSpec> ParseGrant(std::string_view text) {
  const std::string squeezed = Squeeze(text);
  const std::string upper = Upper(squeezed);
  if (upper.starts_with("GRANT ")) {
    return Status::InvalidArgument("write only the privileges and the object, without the word GRANT");
  }
  const size_t on = FindOn(upper);
  if (on == std::string::npos) {
    return Status::InvalidArgument("missing ' ON ' (expected e.g. 'SELECT, INSERT ON db.*')");
  }
  GrantSpec grant;
  Result<std::vector<std::string>> privileges = ParsePrivileges(std::string_view(squeezed).substr(0, on));
  if (!privileges.ok()) return privileges.status();
  grant.privileges = std::move(privileges).value();

  const std::string_view object = std::string_view(squeezed).substr(on + 3);
  size_t pos = 0;
  Result<std::string> database = ParseName(object, pos, "database");
  if (!database.ok()) return database.status();
  if (pos >= object.size() || object[pos] != '.') {
    return Status::InvalidArgument("expected 'db.table', 'db.*' or '*.*' after ' ON '");
  }
  ++pos;
  Result<std::string> table = ParseName(object, pos, "table");
  if (!table.ok()) return table.status();
  const std::string rest = Upper(object.substr(pos));
  if (rest == " WITH GRANT OPTION") {
    return Status::InvalidArgument("WITH GRANT OPTION cannot be given from the topology file");
  }
  if (!rest.empty()) {
    return Status::InvalidArgument("unexpected '" + std::string(object.substr(pos)) + "' after the object");
  }
  grant.database = *database;
  grant.table = *table;
  if (grant.database == "*" && grant.table != "*") {
    return Status::InvalidArgument("'*." + grant.table + "' is not an object: use '*.*' or 'db." + grant.table + "'");
  }
  if (Status s = CheckLevels(grant); !s.ok()) return s;

  std::string normalized;
  for (const std::string& p : grant.privileges) normalized += (normalized.empty() ? "" : ", ") + p;
  grant.text = normalized + " ON " + QuoteGrantName(grant.database) + "." + QuoteGrantName(grant.table);
  return grant;
}

}  // namespace replplan
