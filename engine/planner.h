// The planner: diff the topology against the live state and build the action graph. Pure: no
// sockets, no environment, so its tests are hand-built live states and golden text.
#pragma once

#include "engine/action_graph.h"
#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

// What the caller knows that the live state cannot say.
struct PlanOptions {
  // Set only by `failover` and `watch`, after the replicas confirmed it (engine/failover_choice.h):
  // this server, the live primary, is down. The file's primary may then be promoted after applying
  // its relay log, without fencing the old one or waiting for it. Empty: a primary that cannot be
  // read is never replaced (the plan refuses and says to run `replplan failover`).
  std::string confirmed_down;
  // The primary the topology file itself names, when the plan is for a move that replaced it with
  // its target (switchover, failover): the stale-file check (engine/cluster_epoch.h) compares the
  // file's own primary with the one the servers recorded. Empty: topology.cluster.primary.
  std::string file_primary;
};

// The graph of actions that takes `live` to `topology`. Refused (FailedPrecondition, nothing
// planned) when the live cluster has moved on from the file (CheckFileIsCurrent), and whenever a
// destructive action would fall on the live writable source of the other servers. Hosts missing from `live` or unreadable
// get no actions that depend on what could not be read; their HostReport says why.
Result<ActionGraph> BuildActionGraph(const Topology& topology, const LiveState& live,
                                     const PlanOptions& options = {});

// BuildActionGraph, ordered, with host reports and the state fingerprint.
Result<Plan> BuildPlan(const Topology& topology, const LiveState& live, const PlanOptions& options = {});

}  // namespace replplan
