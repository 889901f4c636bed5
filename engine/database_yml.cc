#include "engine/database_yml.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <regex>
#include <set>
#include <vector>

#include "engine/did_you_mean.h"
#include "engine/text.h"

namespace replplan {
namespace {

// The keys replplan repoints, in the order it adds them to a section.
constexpr std::array<std::string_view, 4> kKeys = {"host", "port", "database", "username"};

struct Line {
  std::string_view text;  // without the line ending
  std::string_view eol;   // "\n", "\r\n" or "" (last line without a newline)
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(Line{text.substr(start), ""});
      break;
    }
    const bool crlf = nl > start && text[nl - 1] == '\r';
    const size_t end = crlf ? nl - 1 : nl;
    lines.push_back(Line{text.substr(start, end - start), text.substr(end, nl + 1 - end)});
    start = nl + 1;
  }
  return lines;
}

size_t Indent(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

bool IsBlankOrComment(std::string_view line) {
  const std::string_view t = Trim(line);
  return t.empty() || t.front() == '#';
}

// `<% if ... %>` / `<% end %>` lines: Ruby, not YAML. They neither end a section nor set a key.
bool IsErbLine(std::string_view line) { return Trim(line).starts_with("<%"); }

// "key: value # comment" split into its parts, as offsets into the line so an edit can keep the
// bytes around the value.
struct KeyLine {
  std::string key;
  size_t colon = 0;        // the ':' after the key
  size_t value_begin = 0;  // first byte of the value (== value_end when there is none)
  size_t value_end = 0;    // one past its last byte, before trailing spaces and comment
  std::string_view raw;    // line.substr(value_begin, value_end - value_begin)
  bool unclosed = false;   // a quoted value whose closing quote is not on this line
};

// One past the closing quote of the scalar starting at `begin`, or npos if it is not closed on
// this line (a multi-line quoted scalar, which none of the keys we touch should be).
size_t QuotedEnd(std::string_view line, size_t begin) {
  const char quote = line[begin];
  for (size_t i = begin + 1; i < line.size(); ++i) {
    if (quote == '"' && line[i] == '\\') {
      ++i;
    } else if (line[i] == quote) {
      if (quote == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
        ++i;  // '' is an escaped quote inside a single-quoted scalar
      } else {
        return i + 1;
      }
    }
  }
  return std::string_view::npos;
}

// End of a plain scalar: a comment starts at " #"; ERB tags are skipped whole because Ruby inside
// them may hold anything ("#{x}", quotes, colons).
size_t PlainEnd(std::string_view line, size_t begin) {
  size_t i = begin;
  while (i < line.size()) {
    if (line.compare(i, 2, "<%") == 0) {
      const size_t close = line.find("%>", i + 2);
      if (close == std::string_view::npos) return line.size();
      i = close + 2;
      continue;
    }
    if (line[i] == '#' && i > begin && (line[i - 1] == ' ' || line[i - 1] == '\t')) break;
    ++i;
  }
  while (i > begin && (line[i - 1] == ' ' || line[i - 1] == '\t')) --i;
  return i;
}

std::optional<KeyLine> ParseKeyLine(std::string_view line) {
  size_t i = Indent(line);
  if (i >= line.size() || line[i] == '#' || line[i] == '-' || line.compare(i, 2, "<%") == 0) return std::nullopt;
  KeyLine kl;
  if (line[i] == '"' || line[i] == '\'') {
    const size_t end = QuotedEnd(line, i);
    if (end == std::string_view::npos || end >= line.size() || line[end] != ':') return std::nullopt;
    kl.key = std::string(line.substr(i + 1, end - i - 2));
    kl.colon = end;
    i = end + 1;
  } else {
    size_t colon = i;
    while (true) {
      colon = line.find(':', colon);
      if (colon == std::string_view::npos) return std::nullopt;
      if (colon + 1 == line.size() || line[colon + 1] == ' ' || line[colon + 1] == '\t') break;
      ++colon;
    }
    kl.key = std::string(Trim(line.substr(i, colon - i)));
    kl.colon = colon;
    i = colon + 1;
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  kl.value_begin = i;
  if (i >= line.size() || line[i] == '#') {
    kl.value_end = i;
  } else if (line[i] == '"' || line[i] == '\'') {
    const size_t end = QuotedEnd(line, i);
    kl.unclosed = end == std::string_view::npos;
    kl.value_end = kl.unclosed ? PlainEnd(line, i) : end;
  } else {
    kl.value_end = PlainEnd(line, i);
  }
  kl.raw = line.substr(kl.value_begin, kl.value_end - kl.value_begin);
  return kl;
}

std::string Unquote(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
    std::string out;
    for (size_t i = 1; i + 1 < raw.size(); ++i) {
      out += raw[i];
      if (raw[i] == '\'' && raw[i + 1] == '\'') ++i;
    }
    return out;
  }
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 2 < raw.size()) {
        const char c = raw[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return std::string(raw);
}

struct DirectKey {
  KeyLine kl;
  size_t line = 0;         // index into the lines
  bool continued = false;  // more-indented lines follow: its value is a block, not this line's text
};

// An alias a section merges (`<<: *default`), and the line it is written on: YAML resolves an alias
// to the last anchor of that name defined before it.
struct Merge {
  std::string alias;
  size_t line = 0;
};

// One top-level section ("production:") and what lies below it.
struct Section {
  std::string name;
  std::string anchor;        // "default" for "default: &default"
  std::string inline_value;  // what follows "name:" besides the anchor ("*default", "{}"), usually ""
  size_t header = 0;         // line index of "name:"
  size_t last = 0;           // line index of its last indented, non-blank line (header if none)
  size_t child_indent = 0;   // indentation of its direct keys; 0 when it has none
  std::vector<DirectKey> keys;
  std::vector<Merge> merges;  // `<<: *a` / `<<: [*a, *b]`, in precedence order

  std::vector<const DirectKey*> Find(std::string_view key) const {
    std::vector<const DirectKey*> found;
    for (const DirectKey& k : keys) {
      if (k.kl.key == key) found.push_back(&k);
    }
    return found;
  }
};

// "*a" or "[*a, *b]" -> {"a", "b"}.
std::vector<std::string> Aliases(std::string_view raw) {
  std::vector<std::string> out;
  std::string_view rest = Trim(raw);
  if (rest.starts_with("[") && rest.ends_with("]")) rest = rest.substr(1, rest.size() - 2);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    if (item.starts_with("*")) out.emplace_back(Trim(item.substr(1)));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

struct Document {
  std::vector<Line> lines;
  std::vector<Section> sections;  // in file order
  std::string eol = "\n";         // how new lines end: as the file's first line does
  size_t default_indent = 2;      // for a section that has no keys yet

  // The last definition wins, as in Psych; callers that write refuse duplicates first.
  const Section* Find(std::string_view name) const {
    const Section* found = nullptr;
    for (const Section& s : sections) {
      if (s.name == name) found = &s;
    }
    return found;
  }
};

void AddHeader(Document* doc, const KeyLine& kl, size_t index) {
  Section s;
  s.name = Unquote(kl.key);
  s.header = s.last = index;
  std::string_view value = kl.raw;
  if (value.starts_with("&")) {
    const size_t space = value.find_first_of(" \t");
    s.anchor = std::string(value.substr(1, space == std::string_view::npos ? value.npos : space - 1));
    value = space == std::string_view::npos ? std::string_view() : Trim(value.substr(space));
  }
  s.inline_value = std::string(value);
  // `production: *default` is the whole default mapping: read it like a merge.
  if (value.starts_with("*")) {
    for (std::string& alias : Aliases(value)) s.merges.push_back(Merge{std::move(alias), index});
  }
  doc->sections.push_back(std::move(s));
}

void AddBodyLine(Document* doc, std::string_view text, size_t index) {
  Section& s = doc->sections.back();
  // Indented comments and ERB lines belong to the section: a key added after `<% if %> ... <% end %>`
  // must land after the `end`, not inside the branch.
  s.last = index;
  if (IsBlankOrComment(text) || IsErbLine(text)) return;
  const size_t indent = Indent(text);
  if (s.child_indent == 0) s.child_indent = indent;
  if (indent > s.child_indent) {
    // Nested: the previous direct key's value goes on here (a mapping, a list, a scalar's next line).
    if (!s.keys.empty()) s.keys.back().continued = true;
    return;
  }
  if (indent != s.child_indent) return;
  std::optional<KeyLine> kl = ParseKeyLine(text);
  if (!kl) return;
  if (kl->key == "<<") {
    for (std::string& alias : Aliases(kl->raw)) s.merges.push_back(Merge{std::move(alias), index});
    return;
  }
  kl->key = Unquote(kl->key);
  s.keys.push_back(DirectKey{std::move(*kl), index});
}

Document Parse(std::string_view text) {
  Document doc;
  doc.lines = SplitLines(text);
  if (!doc.lines.empty() && !doc.lines.front().eol.empty()) doc.eol = std::string(doc.lines.front().eol);
  bool in_section = false;
  for (size_t i = 0; i < doc.lines.size(); ++i) {
    const std::string_view t = doc.lines[i].text;
    if (Trim(t).empty()) continue;
    if (Indent(t) == 0) {
      // At column 0 a comment or an ERB line may as well introduce the next section as end this one.
      if (IsBlankOrComment(t) || IsErbLine(t)) continue;
      std::optional<KeyLine> kl = ParseKeyLine(t);
      in_section = kl.has_value();
      if (kl) AddHeader(&doc, *kl, i);
      continue;  // anything else at column 0 ("---") ends the section before it
    }
    if (in_section) AddBodyLine(&doc, t, i);
  }
  for (const Section& s : doc.sections) {
    if (s.child_indent > 0) {
      doc.default_indent = s.child_indent;
      break;
    }
  }
  return doc;
}

// What YAML reads as null (Rails then uses the driver's default): the value is "".
bool IsNull(std::string_view raw) { return raw.empty() || raw == "~" || raw == "null" || raw == "Null" || raw == "NULL"; }

DatabaseYmlValue ToValue(const Section& section, const DirectKey& key) {
  DatabaseYmlValue v;
  v.raw = std::string(key.kl.raw);
  v.value = IsNull(key.kl.raw) ? "" : Unquote(key.kl.raw);
  v.section = section.name;
  v.line = static_cast<int>(key.line) + 1;
  v.erb = key.kl.raw.find("<%") != std::string_view::npos;
  return v;
}

// Resolves keys through `<<` merges. Anchors resolve backwards only (FindAnchor), so merges form a
// DAG plus self-merges, which add nothing and are skipped. Each (section, key) is resolved once and
// remembered, so a file that merges one anchor many times over (`<<: [*d, *d, *d, ...]`, nested)
// costs the number of aliases it writes, not that number to the power of its depth. The work is
// bounded all the same, in aliases followed and in nesting: past either bound the reader stops
// with error() set rather than follow on (a database.yml anyone can write must not hang plan or a
// failover).
class MergeResolver {
 public:
  static constexpr size_t kMaxSteps = 100000;  // aliases followed, memoised or not, for one file
  static constexpr int kMaxDepth = 64;         // sections merged into one another

  explicit MergeResolver(const Document& doc) : doc_(doc) {
    for (const Section& s : doc.sections) {
      if (!s.anchor.empty()) anchors_[s.anchor].push_back(&s);
    }
  }

  // The value `section` has for `key`: its own (the last, if written twice, as Psych reads it), or
  // the first merged section's that has one.
  DatabaseYmlValue Resolve(const Section& section, std::string_view key) { return Resolve(section, key, 0); }

  // Why resolving stopped early; "" when it did not.
  const std::string& error() const { return error_; }

 private:
  DatabaseYmlValue Resolve(const Section& section, std::string_view key, int depth) {
    const size_t index = static_cast<size_t>(&section - doc_.sections.data());
    const auto memo_key = std::make_pair(index, std::string(key));
    if (const auto hit = memo_.find(memo_key); hit != memo_.end()) return hit->second;
    if (!error_.empty()) return {};
    if (std::vector<const DirectKey*> own = section.Find(key); !own.empty()) {
      return memo_.emplace(memo_key, ToValue(section, *own.back())).first->second;
    }
    if (depth >= kMaxDepth) {
      Stop(section, "nest more than " + std::to_string(kMaxDepth) + " sections deep");
      return {};
    }
    DatabaseYmlValue found;
    for (const Merge& merge : section.merges) {
      if (++steps_ > kMaxSteps) {
        Stop(section, "take more than " + std::to_string(kMaxSteps) + " steps to resolve");
        return {};
      }
      const Section* merged = FindAnchor(merge.alias, merge.line);
      if (merged == nullptr || merged == &section) continue;
      DatabaseYmlValue v = Resolve(*merged, key, depth + 1);
      if (!error_.empty()) return {};
      if (v.present()) {
        found = std::move(v);
        break;
      }
    }
    memo_.emplace(memo_key, found);
    return found;
  }

  // The section an alias written on line `line` names: the last one anchored so at or before
  // that line (an alias to an anchor defined only later is undefined in YAML). A section may find
  // itself (`default: &d` then `<<: *d` inside it): a merge that adds nothing.
  const Section* FindAnchor(const std::string& anchor, size_t line) const {
    const auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return nullptr;
    const std::vector<const Section*>& in_order = it->second;
    const auto after = std::upper_bound(in_order.begin(), in_order.end(), line,
                                        [](size_t l, const Section* s) { return l < s->header; });
    return after == in_order.begin() ? nullptr : *(after - 1);
  }

  void Stop(const Section& section, const std::string& what) {
    error_ = "database.yml: the '<<' merges at '" + section.name + "' (line " + std::to_string(section.header + 1) +
             ") " + what + "; replplan stops reading there: merge each anchor once, a few levels deep";
  }

  const Document& doc_;
  std::map<std::string, std::vector<const Section*>> anchors_;  // each anchor's sections, in file order
  std::map<std::pair<size_t, std::string>, DatabaseYmlValue> memo_;
  size_t steps_ = 0;
  std::string error_;
};

// ---- writing values ---------------------------------------------------------------------------

// Whether YAML 1.1 (Psych) would read `s` as a number: "2024", "1_000", "1.5", "1e3", "0x1f".
// "10.0.0.2" has two dots and stays a string.
bool LooksNumeric(std::string_view s) {
  static const std::regex kNumber(R"(^[-+]?(([0-9][0-9_]*)?\.?[0-9_]*([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+)$)");
  const bool has_digit = std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  return has_digit && std::regex_match(s.begin(), s.end(), kNumber);
}

// Whether YAML reads `s` back, unquoted, as exactly this string. Conservative: a value with
// anything unusual in it is simply quoted.
bool PlainIsSafe(std::string_view s, bool numeric_ok) {
  if (s.empty() || (!numeric_ok && LooksNumeric(s))) return false;
  static const std::set<std::string> kSpecial = {"~",  "null", "true", "false", "yes", "no",
                                                 "on", "off",  "y",    "n",     ".inf", ".nan"};
  if (kSpecial.count(Lower(s)) > 0) return false;
  const char first = s.front();
  if (!std::isalnum(static_cast<unsigned char>(first)) && first != '/' && first != '_' && first != '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' || c == '@' ||
           c == '+';
  });
}

std::string DoubleQuoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// `value` written the way `like` (the raw text it replaces or inherits, "" for none) is quoted,
// as long as that style can carry it.
std::string Render(std::string_view key, std::string_view value, std::string_view like) {
  if (like.starts_with("\"")) return DoubleQuoted(value);
  if (like.starts_with("'")) {
    std::string out = "'";
    for (char c : value) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  return PlainIsSafe(value, key == "port") ? std::string(value) : DoubleQuoted(value);
}

// `line` with its value replaced by `rendered`. YAML needs a space between "key:" and a value (and
// between a value and a comment): "host:" alone, or "host:  # comment", gets them.
std::string ReplaceValue(std::string_view line, const KeyLine& kl, const std::string& rendered) {
  if (!kl.raw.empty()) {
    return std::string(line.substr(0, kl.value_begin)) + rendered + std::string(line.substr(kl.value_end));
  }
  const std::string_view rest = line.substr(kl.value_begin);  // "" or a comment
  std::string out = std::string(line.substr(0, kl.colon + 1)) + " " + rendered;
  if (rest.empty()) return out;
  // The spacing before the comment is kept, unless it has a tab: PyYAML refuses one there.
  const std::string_view spacing = line.substr(kl.colon + 1, kl.value_begin - kl.colon - 1);
  return out + (spacing.find('\t') == std::string_view::npos ? std::string(spacing) : " ") + std::string(rest);
}

Status CheckWanted(const std::map<std::string, std::string>& set) {
  for (const auto& [key, value] : set) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return Status::InvalidArgument("database.yml: replplan sets only host, port, database and username, not '" +
                                     key + "'");
    }
    if (value.empty()) return Status::InvalidArgument("database.yml: " + key + " must not be empty");
    if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      return Status::InvalidArgument("database.yml: " + key + " must not contain control characters");
    }

    if (key == "port" && (!std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) || value.size() > 5 ||
                          std::stoi(value) < 1 || std::stoi(value) > 65535)) {
      return Status::InvalidArgument("database.yml: port must be in 1..65535, got '" + value + "'");
    }
  }
  return Status::OK();
}

std::string Where(const std::string& environment, std::string_view key, const DatabaseYmlValue& v) {
  return environment + "." + std::string(key) + " (line " + std::to_string(v.line) +
         (v.section == environment ? "" : ", inherited from '" + v.section + "'") + ")";
}

Status RefuseErb(const std::string& environment, std::string_view key, const DatabaseYmlValue& v) {
  return Status::FailedPrecondition(
      "database.yml: " + Where(environment, key, v) + " is an ERB template, " + v.raw +
      ": the operator chose where it comes from; set what it reads (or edit the line by hand), replplan will "
      "not override it");
}

// `production: {host: x, port: 3306}`: a mapping replplan does not read (keys on one line).
std::string FlowSection(const Section& section) {
  return "database.yml: '" + section.name + "' (line " + std::to_string(section.header + 1) +
         ") is a flow mapping, " + section.inline_value +
         ": replplan reads and edits one key per line; write it in block style (key: value on lines of their own)";
}

Status SectionProblem(const Document& doc, const std::string& environment) {
  std::vector<std::string> names;
  int count = 0;
  for (const Section& s : doc.sections) {
    names.push_back(s.name);
    count += s.name == environment ? 1 : 0;
  }
  if (count == 0) {
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
    return Status::NotFound("database.yml has no '" + environment + "' section" +
                            DidYouMeanSuffix(environment, names) +
                            (known.empty() ? "" : "; it has " + known));
  }
  if (count > 1) {
    return Status::FailedPrecondition("database.yml defines '" + environment + "' " + std::to_string(count) +
                                      " times; leave one before replplan edits it");
  }
  return Status::OK();
}

}  // namespace

DatabaseYmlSettings ReadDatabaseYml(std::string_view text, const std::string& environment) {
  const Document doc = Parse(text);
  DatabaseYmlSettings out;
  const Section* section = doc.Find(environment);
  if (section == nullptr) return out;
  out.section_exists = true;
  out.section_line = static_cast<int>(section->header) + 1;
  if (section->inline_value.starts_with("{")) {
    out.error = FlowSection(*section);
    return out;
  }
  MergeResolver resolver(doc);
  out.host = resolver.Resolve(*section, "host");
  out.port = resolver.Resolve(*section, "port");
  out.database = resolver.Resolve(*section, "database");
  out.username = resolver.Resolve(*section, "username");
  if (!resolver.error().empty()) {
    DatabaseYmlSettings unread;
    unread.section_exists = true;
    unread.section_line = out.section_line;
    unread.error = resolver.error();
    return unread;
  }
  return out;
}

Result<std::string> EditDatabaseYml(std::string_view text, const std::string& environment,
                                    const std::map<std::string, std::string>& set) {
  if (Status s = CheckWanted(set); !s.ok()) return s;
  const Document doc = Parse(text);
  if (Status s = SectionProblem(doc, environment); !s.ok()) return s;
  const Section& section = *doc.Find(environment);
  MergeResolver resolver(doc);

  std::map<size_t, std::string> replaced;  // line index -> new text (without its line ending)
  std::vector<std::string> added;          // new lines for the end of the section
  for (std::string_view key : kKeys) {
    const auto wanted = set.find(std::string(key));
    if (wanted == set.end()) continue;
    const std::string& value = wanted->second;
    const std::vector<const DirectKey*> own = section.Find(key);
    if (own.size() > 1) {
      return Status::FailedPrecondition("database.yml: " + environment + "." + std::string(key) + " is set " +
                                        std::to_string(own.size()) + " times (lines " + std::to_string(own[0]->line + 1) +
                                        " and " + std::to_string(own.back()->line + 1) +
                                        "), probably in ERB branches; replplan cannot tell which one Rails uses");
    }
    const DatabaseYmlValue current = resolver.Resolve(section, key);
    if (!resolver.error().empty()) return Status::FailedPrecondition(resolver.error());
    if (current.present() && current.value == value) continue;
    if (current.erb) return RefuseErb(environment, key, current);
    // Rails runs database.yml through ERB before YAML: a value written with "<%" in it would be Ruby
    // the app runs at its next boot.
    if (value.find("<%") != std::string::npos || value.find("%>") != std::string::npos) {
      return Status::InvalidArgument("database.yml: " + std::string(key) +
                                     " must not contain an ERB tag ('<%' or '%>'), got '" + value + "'");
    }
    if (!own.empty()) {
      const DirectKey& k = *own.front();
      const std::string_view raw = k.kl.raw;
      if (k.continued || k.kl.unclosed || raw.starts_with("|") || raw.starts_with(">") || raw.starts_with("*") ||
          raw.starts_with("&") || raw.starts_with("!") || raw.starts_with("[") || raw.starts_with("{")) {
        return Status::FailedPrecondition("database.yml: " + Where(environment, key, current) +
                                          " is not a single-line scalar; edit it by hand");
      }
      replaced[k.line] = ReplaceValue(doc.lines[k.line].text, k.kl, Render(key, value, raw));
      continue;
    }
    if (section.inline_value.starts_with("{")) return Status::FailedPrecondition(FlowSection(section));
    if (!section.inline_value.empty()) {
      return Status::FailedPrecondition("database.yml: '" + environment + ": " + section.inline_value +
                                        "' (line " + std::to_string(section.header + 1) +
                                        ") has no keys of its own to set " + std::string(key) +
                                        " in; write it as a mapping with '<<: " + section.inline_value + "'");
    }
    const size_t indent = section.child_indent > 0 ? section.child_indent : doc.default_indent;
    added.push_back(std::string(indent, ' ') + std::string(key) + ": " + Render(key, value, current.raw));
  }

  std::string out;
  out.reserve(text.size() + 64 * added.size());
  for (size_t i = 0; i < doc.lines.size(); ++i) {
    const Line& line = doc.lines[i];
    const auto r = replaced.find(i);
    out += r != replaced.end() ? std::string_view(r->second) : line.text;
    if (i != section.last || added.empty()) {
      out += line.eol;
      continue;
    }
    // The section ends the file without a final newline: the new lines go before the end, and
    // the file still ends without one.
    const bool final_line = line.eol.empty();
    out += final_line ? std::string_view(doc.eol) : line.eol;
    for (size_t j = 0; j < added.size(); ++j) {
      out += added[j];
      if (j + 1 < added.size() || !final_line) out += doc.eol;
    }
  }
  return out;
}

}  // namespace replplan
