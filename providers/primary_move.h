// `apply` of a file whose edited `primary` made the plan promote a server: the epoch it records.
// Switchover and failover themselves are operations over a World (ops/move.h).
#pragma once

#include <string>

#include "engine/applier.h"
#include "engine/plan.h"
#include "engine/topology.h"

namespace replplan {

// Once the plan's promote-replica is done, record the next epoch on the new primary and write it
// into the file's [cluster] epoch (only that value changes), as `switchover` does. Returns the
// lines to print (nothing when the plan promoted no one).
std::string RecordApplyPromotion(const Plan& plan, const ApplyReport& report, const Topology& topology,
                                 const std::string& topology_path, const std::string& owner);

}  // namespace replplan
