// A Topology written back as topology TOML: what `replplan import` produces from a live cluster.
// Pure. The text has a stable key order (the order of the examples: [cluster], [replication],
// [defaults], each [[server]], each [[database]], each [[user]]), so two imports of the same cluster
// differ only where the cluster does, and it parses back (ParseTopology) to the same topology.
//
// Secrets are written as references only ({ env = "NAME" } or { file = "/path" }): a Topology holds
// no secret value, so none can be written. [defaults] takes every setting all servers share (ssh,
// mysql, config_file, restart); a server writes only what differs from it. Keys at their parser
// default are left out unless the examples always show them (mode, binlog_format, ports).
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

// log_bin as an operator writes it for a running server whose @@log_bin_basename is `basename`:
// relative ("mysql-bin") when it lies directly in `datadir`, the absolute base path otherwise.
std::string LogBinAsWritten(std::string_view basename, std::string_view datadir);

}  // namespace replplan
