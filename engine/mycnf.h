// my.cnf as replplan sees it: the settings a MariaDB server reads from its own option groups, and
// a minimal-diff editor that sets keys in [mysqld] while keeping every other byte of the file.
//
// Server groups are [mysqld], [mariadbd], [server], [mariadb] and their version-suffixed forms
// ([mysqld-10.11], [mariadb-10.11], ...), [client-server] and [galera]; a later setting wins over an earlier one, as in the
// server. Key names are normalized the way the server treats them: '-' and '_' are the same, case
// is ignored, and a "loose-" prefix (ignore if unknown) does not change which option it is.
//
// `!include` / `!includedir` lines are not followed here (the files live on the server): MyCnfLines
// lists them in place, and engine/effective_config.h follows them over files a provider read.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace replplan {

struct MyCnf {
  // Normalized key ("log_bin") -> unquoted value; a bare key ("skip-name-resolve") maps to "".
  std::map<std::string, std::string> settings;
  // Directives as written, trimmed: "!includedir /etc/mysql/conf.d/".
  std::vector<std::string> includes;
};

MyCnf ParseMyCnf(std::string_view text);

// What one option file says, line by line, in file order: the settings of its server groups and
// its include directives (which the server follows where they stand, whatever the group).
struct MyCnfLine {
  enum class Kind { kSetting, kInclude, kIncludeDir };
  Kind kind = Kind::kSetting;
  std::string key;    // kSetting: normalized ("bind_address")
  std::string value;  // kSetting: unquoted; kInclude/kIncludeDir: the path as written, trimmed
  int line = 0;       // 1-based
};
std::vector<MyCnfLine> MyCnfLines(std::string_view text);

// "log-bin" / "LOG_BIN" / "loose-log-bin" -> "log_bin".
std::string NormalizeMyCnfKey(std::string_view key);

// Returns `text` with each (key, value) set for the server. A line that already sets the key in
// any server group (in either spelling) gets the new value in place, keeping its indentation, its
// spelling of the key and any trailing comment; a key not set anywhere is appended to the end of
// the first [mysqld] group, which is created at the end of the file if there is none. An empty
// value writes a bare key ("log_bin"). Every byte not part of a changed line is kept.
std::string EditMyCnf(std::string_view text,
                      const std::vector<std::pair<std::string, std::string>>& set);

}  // namespace replplan
