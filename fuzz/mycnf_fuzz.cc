// ParseMyCnf and EditMyCnf on arbitrary my.cnf text (read from each server over SSH, written back
// by `apply`, then read by mariadbd started as root). Input: optional leading "@set key=value"
// lines (the edit; "\n" in a value is a newline), then the file. The key is one replplan manages,
// chosen by its text modulo the list, so every input is an edit the tool can really make.
// Properties:
//   - re-parse: the edited file reads back with each edited key at its new value and every other
//     server setting and !include exactly as before;
//   - bytes: apart from lines that mention an edited key and an added "[mysqld]" header or blank
//     line, the edited file has the same lines, byte for byte, in the same order;
//   - idempotent: editing the result again with the same settings changes nothing.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/mycnf.h"
#include "fuzz/fuzz_check.h"

namespace {

using replplan::fuzz::Escaped;

// The keys DesiredConfig and FailoverSettings write, some in the other spellings a file may use.
constexpr std::string_view kKeys[] = {
    "server_id",          "log_bin",          "log_slave_updates",      "read_only",
    "report_host",        "bind_address",     "binlog_format",          "gtid_strict_mode",
    "slave_net_timeout",  "log-bin",          "loose-rpl_semi_sync_master_enabled",
    "rpl_semi_sync_slave_enabled", "rpl_semi_sync_master_wait_point", "rpl_semi_sync_master_timeout",
    "Server-Id",          "relay_log",
};

std::string PickKey(std::string_view wanted) {
  for (std::string_view k : kKeys) {
    if (replplan::NormalizeMyCnfKey(k) == replplan::NormalizeMyCnfKey(wanted)) return std::string(k);
  }
  size_t h = 0;
  for (char c : wanted) h = h * 31 + static_cast<unsigned char>(c);
  return std::string(kKeys[h % std::size(kKeys)]);
}

std::string Unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += v[i];
    }
  }
  return out;
}

// A line that may legitimately differ: it mentions an edited key (in any spelling), or is what an
// edit adds besides the setting itself (a "[mysqld]" header, a blank line).
bool MayChange(std::string_view line, const std::vector<std::string>& keys) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line == "[mysqld]") return true;
  std::string norm(line);
  for (char& c : norm) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return norm.find(k) != std::string::npos; });
}

std::vector<std::string_view> Kept(std::string_view text, const std::vector<std::string>& keys) {
  std::vector<std::string_view> out;
  for (std::string_view line : replplan::fuzz::Lines(text)) {
    if (!MayChange(line, keys)) out.push_back(line);
  }
  return out;
}

// The kept lines of the edited file are those of the original, except that a last line without a
// newline gains the file's line ending when settings are appended after it: "\r\n" in a CRLF file,
// which splitting on '\n' shows as a trailing '\r'.
bool SameKept(std::string_view text, const std::vector<std::string_view>& before,
              const std::vector<std::string_view>& after) {
  if (before.size() != after.size()) return false;
  const bool open_end = !text.empty() && text.back() != '\n';
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == after[i]) continue;
    const bool last = i + 1 == before.size() && open_end && before[i].data() + before[i].size() == text.data() + text.size();
    if (!(last && after[i].size() == before[i].size() + 1 && after[i].starts_with(before[i]) && after[i].back() == '\r')) {
      return false;
    }
  }
  return true;
}

std::string Describe(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += "  " + k + "=" + Escaped(v) + "\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> set;
  while (text.starts_with("@set ") && set.size() < 4) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(5, nl == std::string_view::npos ? std::string_view::npos : nl - 5);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const size_t eq = line.find('=');
    std::string key = PickKey(line.substr(0, eq));
    // One entry per option, as DesiredConfig gives them: a second spelling of a key replaces it.
    std::erase_if(set, [&](const auto& kv) {
      return replplan::NormalizeMyCnfKey(kv.first) == replplan::NormalizeMyCnfKey(key);
    });
    set.emplace_back(std::move(key), eq == std::string_view::npos ? "" : Unescape(line.substr(eq + 1)));
  }

  const replplan::MyCnf before = replplan::ParseMyCnf(text);
  if (set.empty()) return 0;

  const std::string edited = replplan::EditMyCnf(text, set);
  const replplan::MyCnf after = replplan::ParseMyCnf(edited);
  std::map<std::string, std::string> expected = before.settings;
  std::vector<std::string> keys;
  for (const auto& [key, value] : set) {
    expected[replplan::NormalizeMyCnfKey(key)] = value;
    keys.push_back(replplan::NormalizeMyCnfKey(key));
  }
  const std::string context = "\ntext: " + Escaped(text) + "\nedited: " + Escaped(edited);
  FUZZ_CHECK(after.settings == expected,
             "settings after the edit:\n" + Describe(after.settings) + "expected:\n" + Describe(expected) + context);
  FUZZ_CHECK(after.includes == before.includes, "!include lines changed" + context);
  FUZZ_CHECK(SameKept(text, Kept(text, keys), Kept(edited, keys)), "a line not about the edited keys changed" + context);
  FUZZ_CHECK(replplan::EditMyCnf(edited, set) == edited,
             "editing again changed the file: " + Escaped(replplan::EditMyCnf(edited, set)) + context);
  return 0;
}
