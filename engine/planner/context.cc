#include "engine/planner/context.h"

namespace replplan::planner {

PlanContext::PlanContext(const Topology& topology, const LiveState& live, const PlanOptions& options)
    : topology(topology), live(live), options(options) {
  states_.reserve(topology.servers.size());
  for (size_t i = 0; i < topology.servers.size(); ++i) {
    const ServerSpec& spec = topology.servers[i];
    states_.push_back(live.Find(spec.name));
    if (spec.name == topology.cluster.primary) primary_ = i;
  }
}

Server PlanContext::server(size_t index) const {
  return {spec(index), *states_[index], index, index == primary_};
}

void PlanContext::SetPrimaryMove(const PrimaryMove& move) {
  move_ = move;
  old_primary_ = move.old_primary == nullptr ? kNoServer
                                             : static_cast<size_t>(move.old_primary - topology.servers.data());
}

}  // namespace replplan::planner
