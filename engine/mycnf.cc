#include "engine/mycnf.h"
#include "engine/text.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace replplan {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Blanks of one line: a newline is not one of them.
std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The groups a MariaDB server reads. "mysqld-10.11" style groups are read only by that major
// version; a pure parser does not know the version, so any numeric suffix counts. [client-server]
// is read by the server as by its clients (Debian's my.cnf opens with it), [galera] by every
// server built with wsrep (Debian's and MariaDB's packages).
bool IsServerGroup(std::string_view group) {
  if (group == "client-server" || group == "galera") return true;
  for (std::string_view base : {"mysqld", "mariadbd", "server", "mariadb"}) {
    if (group == base) return true;
    if (group.size() > base.size() + 1 && group.substr(0, base.size()) == base &&
        group[base.size()] == '-' && std::isdigit(static_cast<unsigned char>(group[base.size() + 1]))) {
      return true;
    }
  }
  return false;
}

// One physical line, classified. Offsets are into `raw` (the line without its '\n').
struct Line {
  enum class Kind { kBlank, kComment, kGroup, kDirective, kSetting };
  Kind kind = Kind::kBlank;
  std::string_view raw;
  std::string group;        // kGroup: lower-case name
  std::string key;          // kSetting: normalized
  std::string value;        // kSetting: unquoted
  size_t key_begin = 0;     // kSetting: the key as written is raw[key_begin, key_end)
  size_t key_end = 0;
  bool has_equals = false;  // kSetting: "key = value" rather than a bare "key"
  size_t value_begin = 0;   // kSetting: the value as written is raw[value_begin, value_end)
  size_t value_end = 0;
};

// Where the trailing comment starts, or raw.size(). '#' outside quotes always starts one (as in
// the server); ';' only after whitespace, so a value may still contain a semicolon.
size_t CommentStart(std::string_view raw, size_t from) {
  char quote = 0;
  bool escape = false;
  for (size_t i = from; i < raw.size(); ++i) {
    char c = raw[i];
    if (quote != 0) {
      if (c == quote && !escape) quote = 0;
      escape = (c == '\\' && !escape);
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    if (c == '#') return i;
    if (c == ';' && i > from && IsSpace(raw[i - 1])) return i;
  }
  return raw.size();
}

std::string Unquote(std::string_view v) {
  if (v.size() < 2 || (v.front() != '"' && v.front() != '\'') || v.back() != v.front()) {
    return std::string(v);
  }
  std::string out;
  std::string_view inner = v.substr(1, v.size() - 2);
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '\\' || i + 1 == inner.size()) {
      out += inner[i];
      continue;
    }
    char next = inner[++i];
    switch (next) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 's': out += ' '; break;
      default: out += next;  // \\ \" \' and anything else: the character itself
    }
  }
  return out;
}

Line Classify(std::string_view raw) {
  Line line;
  line.raw = raw;
  size_t indent = 0;
  while (indent < raw.size() && IsSpace(raw[indent])) ++indent;
  std::string_view body = raw.substr(indent);
  if (TrimBlanks(body).empty()) return line;
  if (body[0] == '#' || body[0] == ';') {
    line.kind = Line::Kind::kComment;
    return line;
  }
  if (body[0] == '[') {
    line.kind = Line::Kind::kGroup;
    size_t close = body.find(']');
    line.group = Lower(TrimBlanks(body.substr(1, close == std::string_view::npos ? body.size() : close - 1)));
    return line;
  }
  if (body[0] == '!') {
    line.kind = Line::Kind::kDirective;
    return line;
  }
  line.kind = Line::Kind::kSetting;
  size_t end = CommentStart(raw, indent);
  while (end > indent && IsSpace(raw[end - 1])) --end;
  std::string_view content = raw.substr(0, end);
  size_t eq = content.find('=', indent);
  line.key_begin = indent;
  line.key_end = eq == std::string_view::npos ? end : eq;
  while (line.key_end > indent && IsSpace(raw[line.key_end - 1])) --line.key_end;
  line.key = NormalizeMyCnfKey(raw.substr(line.key_begin, line.key_end - line.key_begin));
  if (eq != std::string_view::npos) {
    line.has_equals = true;
    line.value_begin = eq + 1;
    while (line.value_begin < end && IsSpace(raw[line.value_begin])) ++line.value_begin;
    line.value_end = std::max(end, line.value_begin);
    line.value = Unquote(raw.substr(line.value_begin, line.value_end - line.value_begin));
  }
  return line;
}

// Splits into lines without their '\n'; a final line without '\n' is kept as a line too.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return false;
  if (IsSpace(value.front()) || IsSpace(value.back())) return true;
  return value.find_first_of("#;'\"\\\n") != std::string_view::npos ||
         value.find(' ') != std::string_view::npos;
}

std::string RenderValue(std::string_view value) {
  if (!NeedsQuotes(value)) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// "key = value" or "key=value", following how the file already writes settings.
std::string Separator(const std::vector<Line>& lines) {
  for (const Line& line : lines) {
    if (line.kind == Line::Kind::kSetting && line.has_equals) {
      bool spaced = line.key_end < line.raw.size() && line.raw.substr(line.key_end, 1) != "=";
      return spaced ? " = " : "=";
    }
  }
  return " = ";
}

}  // namespace

std::string NormalizeMyCnfKey(std::string_view key) {
  std::string out = Lower(TrimBlanks(key));
  std::replace(out.begin(), out.end(), '-', '_');
  constexpr std::string_view kLoose = "loose_";
  if (out.size() > kLoose.size() && out.compare(0, kLoose.size(), kLoose) == 0) {
    out.erase(0, kLoose.size());
  }
  return out;
}

MyCnf ParseMyCnf(std::string_view text) {
  MyCnf cnf;
  bool in_server_group = false;
  for (std::string_view raw : SplitLines(text)) {
    Line line = Classify(raw);
    switch (line.kind) {
      case Line::Kind::kGroup:
        in_server_group = IsServerGroup(line.group);
        break;
      case Line::Kind::kDirective: {
        std::string_view directive = TrimBlanks(raw);
        if (directive.substr(0, 8) == "!include") cnf.includes.emplace_back(directive);
        break;
      }
      case Line::Kind::kSetting:
        if (in_server_group && !line.key.empty()) cnf.settings[line.key] = line.value;
        break;
      case Line::Kind::kBlank:
      case Line::Kind::kComment:
        break;
    }
  }
  return cnf;
}

std::vector<MyCnfLine> MyCnfLines(std::string_view text) {
  std::vector<MyCnfLine> out;
  bool in_server_group = false;
  int number = 0;
  for (std::string_view raw : SplitLines(text)) {
    ++number;
    Line line = Classify(raw);
    if (line.kind == Line::Kind::kGroup) in_server_group = IsServerGroup(line.group);
    if (line.kind == Line::Kind::kSetting && in_server_group && !line.key.empty()) {
      out.push_back({MyCnfLine::Kind::kSetting, line.key, line.value, number});
    }
    if (line.kind != Line::Kind::kDirective) continue;
    // The server's own parse: "!includedir" first (it starts with "!include"), then blanks, then
    // the path to the end of the line.
    std::string_view directive = TrimBlanks(raw);
    for (auto [word, kind] : {std::pair{std::string_view("!includedir"), MyCnfLine::Kind::kIncludeDir},
                              std::pair{std::string_view("!include"), MyCnfLine::Kind::kInclude}}) {
      if (!directive.starts_with(word)) continue;
      std::string_view rest = directive.substr(word.size());
      if (rest.empty() || !IsSpace(rest.front())) break;  // "!includes x" is no directive
      std::string_view path = TrimBlanks(rest);
      if (!path.empty()) out.push_back({kind, "", std::string(path), number});
      break;
    }
  }
  return out;
}

std::string EditMyCnf(std::string_view text,
                      const std::vector<std::pair<std::string, std::string>>& set) {
  std::vector<std::string_view> raws = SplitLines(text);
  std::vector<Line> lines;
  lines.reserve(raws.size());
  for (std::string_view raw : raws) lines.push_back(Classify(raw));
  const bool crlf = !raws.empty() && !raws.front().empty() && raws.front().back() == '\r';
  // Existing lines keep their own '\r'; only lines we add need one in a CRLF file.
  const std::string cr = crlf ? "\r" : "";

  // Output lines (without '\n'); replaced lines get new text, untouched ones keep their bytes.
  std::vector<std::string> out(raws.begin(), raws.end());
  std::vector<std::string> appended;  // new settings for the first [mysqld] group
  const std::string sep = Separator(lines);

  for (const auto& [raw_key, value] : set) {
    const std::string key = NormalizeMyCnfKey(raw_key);
    bool found = false;
    bool in_server_group = false;
    for (size_t i = 0; i < lines.size(); ++i) {
      const Line& line = lines[i];
      if (line.kind == Line::Kind::kGroup) in_server_group = IsServerGroup(line.group);
      if (line.kind != Line::Kind::kSetting || !in_server_group || line.key != key) continue;
      found = true;
      // Keep indentation + key spelling, and the bytes after the value (trailing comment, '\r').
      std::string_view raw = line.raw;
      std::string_view written_key = raw.substr(0, line.key_end);
      std::string_view tail = raw.substr(line.has_equals ? line.value_end : line.key_end);
      if (value.empty()) {
        out[i] = std::string(written_key) + std::string(tail);
      } else if (line.has_equals) {
        out[i] = std::string(raw.substr(0, line.value_begin)) + RenderValue(value) + std::string(tail);
      } else {
        out[i] = std::string(written_key) + sep + RenderValue(value) + std::string(tail);
      }
    }
    if (!found) appended.push_back(key + (value.empty() ? "" : sep + RenderValue(value)) + cr);
  }

  // Where new keys go: after the last setting of the first [mysqld] group (or its header), so
  // comments and blank lines that lead into the next group stay in front of it.
  std::optional<size_t> insert_after;
  bool in_first_mysqld = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].kind == Line::Kind::kGroup) {
      if (in_first_mysqld) break;
      if (lines[i].group == "mysqld" && !insert_after) {
        in_first_mysqld = true;
        insert_after = i;
      }
      continue;
    }
    if (in_first_mysqld && lines[i].kind == Line::Kind::kSetting) insert_after = i;
  }

  std::string result;
  const bool ends_with_newline = !text.empty() && text.back() == '\n';
  for (size_t i = 0; i < out.size(); ++i) {
    result += out[i];
    const bool last = i + 1 == out.size();
    if (!last || ends_with_newline) result += '\n';
    if (insert_after && *insert_after == i && !appended.empty()) {
      if (last && !ends_with_newline) result += cr + "\n";
      for (size_t k = 0; k < appended.size(); ++k) {
        result += appended[k];
        // Keep the file's own "no newline at end of file" when appending at the very end.
        if (!last || ends_with_newline || k + 1 < appended.size()) result += '\n';
      }
    }
  }
  if (!insert_after && !appended.empty()) {
    if (!result.empty() && result.back() != '\n') result += cr + "\n";
    if (!result.empty()) result += cr + "\n";
    result += "[mysqld]" + cr + "\n";
    for (const std::string& setting : appended) result += setting + "\n";
  }
  return result;
}

}  // namespace replplan
