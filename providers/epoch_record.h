// Recording a promotion on the servers (engine/cluster_epoch.h says why and how it is checked):
// one row appended to `replplan`.`epochs` on the new primary, which replicates it to every server
// that follows. Runs after the promotion, never before the apps moved: it is not on the path to the
// first write.
#pragma once

#include <cstdint>
#include <string>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan {

// Appends epoch max(`at_least`, the new primary's own newest + 1) for `new_primary` (`kind`:
// "switchover" or "failover"; `by`: who, for the record) and returns the epoch written. A fresh
// session of its own from `sessions` (never a pooled connection), with read and write timeouts of
// 2 s: with semi-synchronous replication and no replica acknowledging yet, the INSERT is in the
// binlog and commits once one does (or the primary falls back), and replplan does not wait for
// that. Errors are the session's ("uranus does not answer SQL: ...", "uranus: recording epoch 3:
// ...").
Result<int64_t> RecordEpoch(SessionFactory& sessions, const ServerSpec& new_primary, int64_t at_least,
                            const std::string& kind, const std::string& by);

}  // namespace replplan
