// Turns topology TOML text into a validated Topology, or into every problem found, each pointing
// at FILE:LINE:COL. Pure: the caller reads the file; nothing here touches the environment (a
// SecretRef is only checked for shape, never resolved).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/source_location.h"
#include "engine/topology.h"

namespace replplan {

struct TopologyParse {
  Topology topology;                  // meaningful only when errors is empty
  std::vector<Diagnostic> errors;     // in file order
  bool ok() const { return errors.empty(); }
};

TopologyParse ParseTopology(std::string_view toml_text, const std::string& file_name);

// The parser's own rules, for code that writes a topology (import): an `address` or
// `bind_address` (an IPv4 address or a hostname) and a server `name` (letters, digits, '-', '_',
// '.', starting with a letter or digit).
bool IsTopologyAddress(std::string_view s);
bool IsTopologyServerName(std::string_view s);

}  // namespace replplan
