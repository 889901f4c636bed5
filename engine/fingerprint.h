// A digest of the live state a plan was computed from. `apply` of a saved plan recomputes it and
// refuses a plan whose world has changed under it.
//
// Only what the planner looks at goes in, and nothing that moves on a healthy cluster: GTID
// positions, binlog read positions and replication lag are left out, so a plan saved for review
// does not go stale just because the application kept writing.
#pragma once

#include <string>
#include <string_view>

#include "engine/live_state.h"

namespace replplan {

// SHA-256 of a canonical serialization, as 64 lower-case hex digits.
std::string StateFingerprint(const LiveState& live);

// SHA-256 of a file's bytes (64 lower-case hex digits): a saved plan records its topology file's,
// so applying it after the file changed is refused.
std::string ContentDigest(std::string_view bytes);

}  // namespace replplan
