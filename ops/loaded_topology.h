// A topology file as the operations read it (through World's Files), and the live plan made from
// it. Diagnostics and warnings go to the caller's sinks: an operation never prints.
#pragma once

#include <functional>
#include <string>

#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/source_location.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "ops/world.h"
#include "providers/state_reader.h"

namespace replplan::ops {

struct LoadedTopology {
  Topology topology;
  std::string digest;  // ContentDigest of the file's bytes
  std::string path;
  std::string text;    // the file's bytes
};

// Each problem of a file that does not validate (FILE:LINE:COL, with its hint).
using DiagnosticSink = std::function<void(const Diagnostic&)>;
// A warning that does not stop the command (a secret file others may read).
using WarningSink = std::function<void(const std::string&)>;
// The live state as read, with its timings (for --verbose).
using ReadSink = std::function<void(const LiveState&, const ReadStats&)>;

// Reads and validates the topology; each diagnostic goes to `diagnostic` (may be null), and the
// error says how many there were.
Result<LoadedTopology> LoadTopology(Files& files, const std::string& path, const DiagnosticSink& diagnostic);

// LoadTopology for the commands that reach servers (plan, apply, switchover, failover, watch): a
// cluster whose flavor replplan cannot yet drive is refused before any connection, and so is one
// whose secrets cannot all be resolved (every problem listed; a too-open secret file is a warning).
Result<LoadedTopology> LoadTopologyForServers(const World& world, const std::string& path,
                                              const DiagnosticSink& diagnostic, const WarningSink& warning);

// Reads the live state and plans it; the plan records the file's digest and the clock's time.
Result<Plan> PlanLive(const World& world, const LoadedTopology& loaded, int parallelism, const ReadSink& on_read);

}  // namespace replplan::ops
