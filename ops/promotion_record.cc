#include "ops/promotion_record.h"

#include "engine/topology_edit.h"

namespace replplan::ops {

std::string RecordedPromotions::Record(const Plan& plan, const ApplyReport& report, const Topology& topology,
                                       const std::string& topology_path, const std::string& owner) {
  if (!plan.primary_change) return "";
  const std::string& to = plan.primary_change->to;
  bool promoted = false;
  for (const ActionOutcome& o : report.outcomes) {
    promoted |= o.id == to + "/" + ToString(ActionKind::kPromoteReplica) && o.state == ActionOutcome::State::kDone;
  }
  const ServerSpec* spec = topology.FindServer(to);
  if (!promoted || spec == nullptr) return "";
  auto epoch = records_.RecordEpoch(*spec, topology.cluster.epoch + 1, plan.primary_change->kind, owner);
  if (!epoch.ok()) {
    return "The promotion of " + to + " is done, but its epoch was NOT recorded on the servers (" +
           epoch.status().message() + "); older copies of the file are refused only when the structure shows it.\n";
  }
  std::string number = std::to_string(*epoch);
  std::string out = "Epoch " + number + " recorded on " + to + " (replplan.epochs): an older copy of the file naming "
                    "another primary is refused.\n";
  auto text = files_.Read(topology_path);
  auto edited = text.ok() ? SetEpochInTopology(*text, topology_path, *epoch) : Result<std::string>(text.status());
  Status written = edited.ok() ? files_.WriteAtomically(topology_path, *edited) : edited.status();
  if (!written.ok()) return out + topology_path + " was NOT rewritten (" + written.message() + "): set epoch = " + number +
                            " in its [cluster] by hand.\n";
  return out + topology_path + " now says epoch = " + number + ": commit it with the new primary.\n";
}

}  // namespace replplan::ops
