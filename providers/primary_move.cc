#include "providers/primary_move.h"

#include <fstream>
#include <sstream>

#include "engine/topology_edit.h"
#include "providers/epoch_record.h"
#include "providers/local/atomic_file.h"

namespace replplan {

std::string RecordApplyPromotion(const Plan& plan, const ApplyReport& report, const Topology& topology,
                                 const std::string& topology_path, const std::string& owner) {
  if (!plan.primary_change) return "";
  const std::string& to = plan.primary_change->to;
  bool promoted = false;
  for (const ActionOutcome& o : report.outcomes) {
    promoted |= o.id == to + "/" + ToString(ActionKind::kPromoteReplica) && o.state == ActionOutcome::State::kDone;
  }
  const ServerSpec* spec = topology.FindServer(to);
  if (!promoted || spec == nullptr) return "";
  auto epoch = RecordEpoch(*spec, topology.cluster.epoch + 1, plan.primary_change->kind, owner);
  if (!epoch.ok()) {
    return "The promotion of " + to + " is done, but its epoch was NOT recorded on the servers (" +
           epoch.status().message() + "); older copies of the file are refused only when the structure shows it.\n";
  }
  std::string number = std::to_string(*epoch);
  std::string out = "Epoch " + number + " recorded on " + to + " (replplan.epochs): an older copy of the file naming "
                    "another primary is refused.\n";
  std::ifstream in(topology_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto edited = in ? SetEpochInTopology(text.str(), topology_path, *epoch) : Result<std::string>(Status::NotFound("cannot read " + topology_path));
  Status written = edited.ok() ? WriteFileAtomically(topology_path, *edited) : edited.status();
  if (!written.ok()) return out + topology_path + " was NOT rewritten (" + written.message() + "): set epoch = " + number +
                            " in its [cluster] by hand.\n";
  return out + topology_path + " now says epoch = " + number + ": commit it with the new primary.\n";
}

}  // namespace replplan
