// ReadDatabaseYml and EditDatabaseYml on arbitrary database.yml text (read from the app hosts over
// SSH, rewritten by switchover and failover, then read by the restarted app). Input: optional
// leading lines "@env NAME" (default production) and "@set key=value" (key among host, port,
// database, username; default: host=10.0.0.9 and port=3307), then the file. Properties:
//   - re-parse: after an accepted edit the reader finds each set key at its new value (not ERB),
//     the environment's other keys as before, and every other section reads as before unless it
//     inherits from the environment's own section;
//   - bytes: the edit replaces the environment's own lines of the set keys and inserts at most one
//     line per set key, in one place; every other line is kept byte for byte, in order;
//   - idempotent: the same edit of the result changes nothing;
//   - editing to the values the file already has returns the text unchanged.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/database_yml.h"
#include "fuzz/fuzz_check.h"

namespace {

using replplan::DatabaseYmlSettings;
using replplan::DatabaseYmlValue;
using replplan::fuzz::Escaped;

constexpr std::string_view kKeys[] = {"host", "port", "database", "username"};

const DatabaseYmlValue& Get(const DatabaseYmlSettings& s, std::string_view key) {
  return key == "host" ? s.host : key == "port" ? s.port : key == "database" ? s.database : s.username;
}

std::string Show(const DatabaseYmlValue& v) {
  return v.present() ? Escaped(v.value) + " (line " + std::to_string(v.line) + " of " + v.section + ")" : "(absent)";
}

// Candidate section names: the usual ones and whatever the text has at column 0 before a ':'.
std::set<std::string> SectionNames(std::string_view text) {
  std::set<std::string> names = {"default", "development", "test", "staging", "production"};
  for (std::string_view line : replplan::fuzz::Lines(text)) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line[0] == ' ' || line[0] == '#') continue;
    if (names.size() < 32) names.emplace(line.substr(0, colon));
  }
  return names;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string env = "production";
  std::map<std::string, std::string> set;
  while ((text.starts_with("@env ") || text.starts_with("@set ")) && set.size() < 4) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.starts_with("@env ")) {
      env = std::string(line.substr(5));
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(line.substr(5, eq - 5));
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) key = "host";
    set[key] = std::string(line.substr(eq + 1));
  }
  if (set.empty()) set = {{"host", "10.0.0.9"}, {"port", "3307"}};

  const DatabaseYmlSettings before = replplan::ReadDatabaseYml(text, env);

  // Editing to what the file already says is a no-op.
  std::map<std::string, std::string> same;
  for (const auto& [key, value] : set) {
    if (Get(before, key).present()) same[key] = Get(before, key).value;
  }
  if (!same.empty()) {
    replplan::Result<std::string> unchanged = replplan::EditDatabaseYml(text, env, same);
    FUZZ_CHECK(!unchanged.ok() || *unchanged == text,
               "editing to the current values changed the file: " + Escaped(*unchanged) + "\ntext: " + Escaped(text));
  }

  replplan::Result<std::string> edited = replplan::EditDatabaseYml(text, env, set);
  if (!edited.ok()) return 0;
  const std::string& out = *edited;
  const std::string context = "\ntext: " + Escaped(text) + "\nedited: " + Escaped(out);
  const DatabaseYmlSettings after = replplan::ReadDatabaseYml(out, env);

  // Re-parse.
  for (std::string_view key : kKeys) {
    const DatabaseYmlValue& now = Get(after, key);
    const DatabaseYmlValue& was = Get(before, key);
    const auto wanted = set.find(std::string(key));
    if (wanted != set.end()) {
      FUZZ_CHECK(now.present() && now.value == wanted->second && !now.erb,
                 env + "." + std::string(key) + " reads back as " + Show(now) + ", wanted " +
                     Escaped(wanted->second) + context);
    } else {
      FUZZ_CHECK(now.present() == was.present() && now.value == was.value,
                 env + "." + std::string(key) + " was " + Show(was) + ", is " + Show(now) + context);
    }
  }
  for (const std::string& name : SectionNames(text)) {
    if (name == env) continue;
    const DatabaseYmlSettings other_before = replplan::ReadDatabaseYml(text, name);
    const DatabaseYmlSettings other_after = replplan::ReadDatabaseYml(out, name);
    FUZZ_CHECK(other_before.section_exists == other_after.section_exists, "section " + name + context);
    for (std::string_view key : kKeys) {
      const DatabaseYmlValue& was = Get(other_before, key);
      const DatabaseYmlValue& now = Get(other_after, key);
      if (was.section == env || now.section == env) continue;  // inherits from the edited section
      FUZZ_CHECK(was.present() == now.present() && was.value == now.value,
                 name + "." + std::string(key) + " was " + Show(was) + ", is " + Show(now) + context);
    }
  }

  // Bytes: O with the replaced lines R and k inserted lines is E.
  const std::vector<std::string_view> o = replplan::fuzz::Lines(text);
  const std::vector<std::string_view> e = replplan::fuzz::Lines(out);
  std::set<size_t> replaced;
  for (const auto& [key, value] : set) {
    const DatabaseYmlValue& was = Get(before, key);
    if (was.present() && was.section == env) replaced.insert(static_cast<size_t>(was.line - 1));
  }
  FUZZ_CHECK(e.size() >= o.size() && e.size() - o.size() <= set.size(),
             std::to_string(o.size()) + " lines became " + std::to_string(e.size()) + context);
  const size_t k = e.size() - o.size();
  const bool no_final_newline = !text.empty() && text.back() != '\n';
  // The last line of a file without a final newline gains the file's line ending when lines are
  // added after it; a CRLF file's shows as a trailing '\r'.
  auto same_line = [&](size_t i, size_t j) {
    return o[i] == e[j] ||
           (i + 1 == o.size() && no_final_newline && e[j].size() == o[i].size() + 1 && e[j].starts_with(o[i]) &&
            e[j].back() == '\r');
  };
  size_t p = 0;
  while (p < o.size() && (replaced.count(p) > 0 || same_line(p, p))) ++p;
  if (k == 0) {
    FUZZ_CHECK(p == o.size(), "line " + std::to_string(p + 1) + " changed: " + Escaped(e[p]) + context);
  } else {
    for (size_t j = p; j < p + k; ++j) {
      const std::string_view added = TrimLeft(e[j]);
      FUZZ_CHECK(std::any_of(set.begin(), set.end(), [&](const auto& kv) { return added.starts_with(kv.first + ": "); }),
                 "line " + std::to_string(j + 1) + " is neither kept nor an added key: " + Escaped(e[j]) + context);
    }
    for (size_t i = p; i < o.size(); ++i) {
      FUZZ_CHECK(replaced.count(i) > 0 || same_line(i, i + k),
                 "line " + std::to_string(i + 1) + " " + Escaped(o[i]) + " became " + Escaped(e[i + k]) + context);
    }
  }

  replplan::Result<std::string> again = replplan::EditDatabaseYml(out, env, set);
  FUZZ_CHECK(again.ok() && *again == out,
             "editing the result again " + (again.ok() ? "changed it: " + Escaped(*again) : again.status().message()) +
                 context);
  return 0;
}
