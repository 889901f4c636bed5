// Edits of the topology file that replplan itself makes, byte-preserving: `switchover` and
// `failover` rewrite `primary` in [cluster] (that value only: comments, layout and every other
// line stay as they were), so the change can be committed and reviewed like any other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace replplan {

// The text with [cluster] primary set to `new_primary`. InvalidArgument when the file does not
// parse or `new_primary` is not a declared server (the result is validated before it is returned).
Result<std::string> SetPrimaryInTopology(std::string_view toml_text, const std::string& file_name,
                                         const std::string& new_primary);

// The text with [cluster] epoch set to `epoch` (engine/cluster_epoch.h): its value replaced where
// the key exists, otherwise a line `epoch = N` added right after the line of `primary` (same
// indentation). Every other byte is kept; the result is validated.
Result<std::string> SetEpochInTopology(std::string_view toml_text, const std::string& file_name, int64_t epoch);

}  // namespace replplan
