// Rails' config/database.yml as replplan sees it: where one environment's database connection
// points (host, port, database, username), and a minimal-diff editor that repoints it after a
// switchover or failover while keeping every other byte of the file.
//
// Why not a YAML library: a real database.yml is ERB first and YAML second (`<%= ENV["X"] %>`,
// sometimes `<% if %>` lines), no YAML library on Debian keeps comments when writing back, and
// the operator reviews the diff. So this reads the shape Rails generators write and operators keep:
//
//   default: &default          top-level sections (indent 0), optionally anchored
//     adapter: mysql2
//     host: 127.0.0.1
//   production:
//     <<: *default             merge keys: values the section does not set itself come from the
//     database: app_prod       anchored section (and that section's own merges, in order); an
//                              alias names the last section so anchored before it, as in YAML
//
// Only the direct keys of a section count (one indentation level below its header); nested
// mappings, comments and ERB lines are carried along untouched. Passwords are never read here.
//
// The editor changes the environment's own section only: a key that production merely inherits is
// added to production, never changed in the shared default other environments use. It refuses
// (rather than guess) when the section is missing or defined twice, when a key is set more than
// once in the section (typically `<% if %>` branches), and when the value to change is an ERB tag:
// the operator templated it, and replplan must not silently take that decision away.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace replplan {

// One of host, port, database, username as the file has it for an environment.
struct DatabaseYmlValue {
  std::string value;    // the scalar with YAML quotes removed; ERB as written; "" when absent
  std::string raw;      // exactly as written after "key:", without a trailing comment
  std::string section;  // the section it was written in: the environment's own or an anchored one
  int line = 0;         // 1-based line of that key; 0 when absent
  bool erb = false;     // the value contains an ERB tag (<% ... %>): evaluated by Rails, not by us

  bool present() const { return line > 0; }
};

struct DatabaseYmlSettings {
  bool section_exists = false;
  int section_line = 0;  // 1-based line of "production:"; 0 when absent
  DatabaseYmlValue host;
  DatabaseYmlValue port;
  DatabaseYmlValue database;
  DatabaseYmlValue username;
  // Why the values could not be read (a flow-style section, merges nested or repeated past
  // replplan's bounds); the four values are then absent. "" when they were read.
  std::string error;
};

// The settings `environment` ("production") connects with, following `<<: *anchor` merges for
// keys the environment does not set itself. A missing section or key reads as absent (a YAML null,
// `host:` or `host: ~`, as present with value ""); a flow-style section or merges past replplan's
// bounds (database_yml.cc, MergeResolver) leave every value absent and set `error`.
DatabaseYmlSettings ReadDatabaseYml(std::string_view text, const std::string& environment);

// Returns `text` with `set` (keys among host, port, database, username) applied to the
// `environment` section, or why it cannot be done without guessing. A key whose effective value
// already equals the wanted one is left alone, so editing to the current values returns `text`
// unchanged. A changed key keeps its line's indentation, spacing, quoting style and comment (an
// empty one, `host:`, gets the space YAML needs after the colon); an
// added key goes after the section's last line, at the section's indentation. Values YAML would
// misread (empty, "yes", "1.5", leading '*', ...) are written in double quotes. Line endings (LF
// or CRLF) and the presence or absence of a final newline are kept.
Result<std::string> EditDatabaseYml(std::string_view text, const std::string& environment,
                                    const std::map<std::string, std::string>& set);

}  // namespace replplan
