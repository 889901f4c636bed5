// The planner: diff the topology against the live state and build the action graph. Pure: no
// sockets, no environment, so its tests are hand-built live states and golden text.
#pragma once

#include "engine/action_graph.h"
#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

// The graph of actions that takes `live` to `topology`. Hosts missing from `live` or unreadable
// get no actions that depend on what could not be read; their HostReport says why.
Result<ActionGraph> BuildActionGraph(const Topology& topology, const LiveState& live);

// BuildActionGraph, ordered, with host reports and the state fingerprint.
Result<Plan> BuildPlan(const Topology& topology, const LiveState& live);

}  // namespace replplan
