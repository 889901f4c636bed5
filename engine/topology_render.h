// A Topology written back as topology TOML: what `replplan import` produces from a live cluster.
// Pure. The text has a stable key order (the order of the examples: [cluster], [replication],
// [defaults], each [[server]], each [[database]], each [[user]], each [[app]]), so two imports of the same cluster
// differ only where the cluster does, and it parses back (ParseTopology) to the same topology.
//
// Secrets are written as references only ({ env = "NAME" } or { file = "/path" }): a Topology holds
// no secret value, so none can be written. [defaults] takes every setting all servers share (ssh,
// mysql, config_file, restart); a server writes only what differs from it. Keys at their parser
// default are left out unless the examples always show them (mode, binlog_format, ports). An
// [[app]] without a restart command (import cannot discover how an app rereads its settings) is
// written commented out, with a line saying what to fill in: the file still validates.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/topology.h"

namespace replplan {

// "text" as a TOML basic string: quotes, backslashes and control characters escaped.
std::string TomlString(std::string_view text);

// The file: `header` lines first, each as a "# " comment (control characters in them become
// spaces), then a blank line and the tables.
std::string RenderTopologyToml(const Topology& topology, const std::vector<std::string>& header);

// A [[user]]'s grants from its SHOW GRANTS lines, as `replplan import` writes them: each object
// privilege grant as the file's normalized grant text (ParseGrant). USAGE alone grants nothing and
// is not written. What the file cannot hold (WITH GRANT OPTION, roles, PROXY, routine or column
// grants, a privilege the parser refuses) is in `left_out`, one line each, described by the part
// before " TO " only: the rest may carry the account's password hash.
struct ImportedGrants {
  std::vector<GrantSpec> grants;
  std::vector<std::string> left_out;
};
ImportedGrants GrantsFromShowGrants(const std::vector<std::string>& show_grants);

// The environment variable import names for an account's password: the user name in upper case,
// every character but letters and digits as '_', then "_PASSWORD" ("pierre" -> PIERRE_PASSWORD,
// "shop-ro" -> SHOP_RO_PASSWORD); a name starting with a digit gets "USER_" first.
std::string PasswordEnvFor(std::string_view user);

// log_bin as an operator writes it for a running server whose @@log_bin_basename is `basename`:
// relative ("mysql-bin") when it lies directly in `datadir`, the absolute base path otherwise.
std::string LogBinAsWritten(std::string_view basename, std::string_view datadir);

}  // namespace replplan
