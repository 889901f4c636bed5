// `apply` of a file whose edited `primary` made the plan promote a server: the epoch it records.
// Switchover and failover record theirs themselves (ops/move.h).
#pragma once

#include <string>

#include "engine/applier.h"
#include "engine/plan.h"
#include "engine/topology.h"
#include "ops/world.h"

namespace replplan::ops {

// Once the plan's promote-replica is done, records the next epoch on the new primary (through
// `records`) and writes it into the file's [cluster] epoch (through `files`; only that value
// changes), as `switchover` does. Returns the lines to print (nothing when the plan promoted no one).
class RecordedPromotions : public PromotionRecorder {
 public:
  RecordedPromotions(MoveRecords& records, Files& files) : records_(records), files_(files) {}
  std::string Record(const Plan& plan, const ApplyReport& report, const Topology& topology,
                     const std::string& topology_path, const std::string& owner) override;

 private:
  MoveRecords& records_;
  Files& files_;
};

}  // namespace replplan::ops
