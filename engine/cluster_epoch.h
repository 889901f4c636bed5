// Is this copy of the topology file still the truth about the cluster? After a failover only the
// copy the failover rewrote says who the primary is; every other copy (git, a laptop, CI) still
// names the old one, and applying it would fence the live primary and overwrite it from the old
// one: every write since the failover lost. Two checks, both pure, run before anything is planned:
//
// 1. The failover epoch. Every promotion (switchover, failover, watch, apply of an edited
//    `primary`) appends a row to `replplan`.`epochs` on the new primary: a number one above every
//    epoch known, the new primary's name, the time, who did it. It is an ordinary replicated
//    table, so every server that follows the new primary gets it, and the epoch is read with the
//    live state (the highest over the servers that can be read). The file records the epoch it was
//    written at (`epoch` in [cluster], rewritten with `primary`). A file whose epoch is older than
//    the servers' and whose primary is not the one the servers recorded is stale: refused.
//    Why a table and not a variable or a file on a host: it travels with the data by replication
//    (a server reseeded or rejoined gets it from its source), it survives restarts, and any copy
//    of the file can be checked against it without knowing where the failover ran. Append-only
//    (CREATE ... IF NOT EXISTS, then INSERT; never UPDATE or REPLACE) and without a unique key: a
//    row-based update of a row a replica lacks would stop its SQL thread (1032), an insert cannot.
//
// 2. The structure, for servers without epochs (a failover before this existed, or an epoch write
//    that never happened): a server the file calls a replica is writable, replicates from no one,
//    other servers replicate from it, the file's primary does not, and it holds transactions the
//    file's primary lacks (or the file's primary cannot be read to say). The cluster has moved on.
//
// `replplan` is replplan's own schema: never a user database (live_state.h leaves it out of the
// databases a server holds; seeds copy it along with the user databases).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/live_state.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

inline constexpr const char* kEpochSchema = "replplan";
inline constexpr const char* kEpochTable = "epochs";
// The GTID replication domain the epoch rows are written in, apart from the applications' writes:
// a new primary's epoch row must not advance domain 0's sequence numbers, or a former primary's
// lost transactions (0-1-9) would look contained in the new primary's position (0-2-10) instead of
// conflicting with its first write (0-2-9), and the rejoin check (docs/failover.md) would miss them.
inline constexpr uint32_t kEpochGtidDomain = 99000;

// The newest row of the epochs table, as the live provider reads it (columns epoch, primary_name,
// kind, promoted_at, promoted_by).
std::string ReadLatestEpochSql();

// One row of that query; nullopt when malformed (a number that is not one).
std::optional<EpochRecord> ParseEpochRow(const Row& row);

// The statements that record `record` (epoch, primary, kind, promoted_by; the time is the server's
// UTC_TIMESTAMP(6)) on the new primary, each run on its own, in order, on one session: the session
// moves to kEpochGtidDomain, the schema and the table are created if missing (a replica that lacks
// them gets them by replication too), then one INSERT.
std::vector<std::string> RecordEpochStatements(const EpochRecord& record);

// The highest epoch over the servers of `live` that could be read; nullopt when none holds one.
std::optional<EpochRecord> LatestEpoch(const LiveState& live);

// The epoch a promotion records now: one above the file's and every server's.
int64_t NextEpoch(const Topology& topology, const LiveState& live);

// FailedPrecondition (nothing may be planned) when the live cluster has moved on from `topology`
// (rule 2 above) or the file is older than the servers' epoch (rule 1). `file_primary` is the
// primary the file itself names; it differs from topology.cluster.primary when a switchover or
// failover plans the file with its target as primary ("" = topology.cluster.primary).
Status CheckFileIsCurrent(const Topology& topology, const LiveState& live, const std::string& file_primary = "");

// Whether `name` is a live source: writable, replicating from no one, and followed by at least one
// other declared server. Nothing destructive is ever planned against such a server.
bool IsLiveWritableSource(const Topology& topology, const LiveState& live, const std::string& name);

}  // namespace replplan
