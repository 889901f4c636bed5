// Reads the live state of every server of a topology through a Provider, several hosts at once.
// One unreachable host never stops the others: its failure is in its ServerState.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "engine/live_state.h"
#include "engine/topology.h"
#include "providers/provider.h"

namespace replplan {

struct ReadStats {
  std::map<std::string, std::chrono::milliseconds> per_host;  // by server name
  std::chrono::milliseconds total{0};
};

// Reads with at most `parallelism` hosts in flight (values below 1 count as 1).
LiveState ReadLiveState(const Topology& topology, Provider& provider, int parallelism);
LiveState ReadLiveState(const Topology& topology, Provider& provider, int parallelism, ReadStats& stats);

}  // namespace replplan
