// Is the plan computed now, under the cluster lock, the plan that was approved? apply approves a
// plan in one of two ways, and neither may be trusted as it stands once the lock is taken:
//  - a saved plan (`plan --out`) is a file anyone who can write it may edit: an added
//    promote-replica or a read_only=OFF keeps the recorded digests (issue 11);
//  - a plan approved at the terminal was computed before the lock (the prompt holds no lock, so
//    watch can fence while the operator reads), and the servers may have moved meanwhile.
// So apply plans again under the lock and carries out that plan only if every action of it is,
// in what it executes, the approved one: the same id, kind, host, destructive mark, args,
// dependencies and the same changed keys. The explanatory text (summary, reasons, the `from` and
// `to` shown for a change) is left out: it carries GTID positions and lag, which move on a healthy
// cluster, and the fingerprint leaves them out for the same reason. What runs is the plan computed
// under the lock, which equals the approved one in everything the executor reads.
#pragma once

#include <string>
#include <vector>

#include "engine/plan.h"

namespace replplan {

// Every way `now` differs from `approved` in what it would execute, one line each, in operator
// words ("uranus/promote-replica: not in the plan computed now"); empty when they agree.
std::vector<std::string> ActionDifferences(const std::vector<PlannedAction>& approved,
                                           const std::vector<PlannedAction>& now);

}  // namespace replplan
