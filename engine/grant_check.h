// Does a user's SHOW GRANTS output already give what the topology asks for? Pure string work on the
// lines MariaDB prints ("GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`"), so the planner can
// decide between "nothing to do" and grant-privileges without asking the server again.
//
// A wanted privilege is covered by the same privilege (or ALL PRIVILEGES) granted at the wanted
// level or above: *.* covers every database, `db`.* covers its tables. Database names in grants
// are LIKE patterns as in MariaDB (`shop_%`.* covers shop_eu; `shop\_eu` is literal).
// Column-level, routine and role grants never cover a table-level wish and are ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/topology.h"

namespace replplan {

struct GrantLine {
  std::vector<std::string> privileges;  // upper case, aliases folded: "REPLICATION SLAVE"
  std::string database;                 // unquoted; "*" for all
  std::string table;                    // unquoted; "*" for all
  bool grant_option = false;
};

// Parses one SHOW GRANTS line; nullopt for lines that grant no object privileges (roles, PROXY,
// routines, anything unrecognised).
std::optional<GrantLine> ParseGrantLine(std::string_view line);

// The privileges of `wanted` that `show_grants` does not cover; empty when fully covered.
std::vector<std::string> MissingPrivileges(const std::vector<std::string>& show_grants,
                                           const GrantSpec& wanted);

inline bool GrantsCover(const std::vector<std::string>& show_grants, const GrantSpec& wanted) {
  return MissingPrivileges(show_grants, wanted).empty();
}

// REPLICATION SLAVE ON *.*, what a replication account needs.
GrantSpec ReplicationSlaveGrant();

}  // namespace replplan
