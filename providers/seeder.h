// Seeding a replica: the primary's user databases copied to a replica with a consistent dump that
// streams from one SSH channel (mariadb-dump | gzip on the primary) through replplan to another
// (gunzip | mariadb on the replica). Nothing touches a temporary file on either host, and replplan
// holds one fixed buffer whatever the size of the data. Both clients reach their server as the SSH
// user through the server's unix socket (root authenticates by unix_socket on Debian), so no
// password is ever on a command line.
//
// What the replica holds afterwards:
//   - the primary's user databases (not mysql, sys, information_schema, performance_schema) as of
//     one consistent snapshot, with routines, triggers and events, restored with binary logging
//     off: nothing in its binlog (events come back as the primary has them; the server's
//     event_scheduler, OFF by default, decides whether they run there);
//   - each [[user]] of the topology that exists on the primary, copied with its hash and grants
//     (the dump does not carry mysql.global_priv); not the replication user, created on each node;
//   - its default replication connection reset (RESET SLAVE ALL), pointed at the primary's
//     address and port, not started, with the snapshot's position recorded: in gtid mode
//     MASTER_USE_GTID=slave_pos and @@gtid_slave_pos; in file mode Master_Log_File and
//     Read_Master_Log_Pos (SHOW SLAVE STATUS).
// Measured on MariaDB 10.11: a CHANGE MASTER that names MASTER_HOST or MASTER_PORT, even with the
// values the connection already has, resets the file/position to ''/4. The step after the seed
// must therefore set only MASTER_USER/MASTER_PASSWORD (and MASTER_USE_GTID), or pass the recorded
// Master_Log_File/Read_Master_Log_Pos along.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

class SessionFactory;

// Seeds `replica` from `primary`: consistent dump streamed from one SSH channel to the other,
// restored with binary logging off, replication position recorded on the replica.
// Refuses (FailedPrecondition, nothing changed) when the replica holds user databases and
// `wipe_replica_databases` is false. Failures name the side: "dump on mercury failed: ...",
// "restore on uranus failed: ...", with the command's stderr (redacted).
// `approved_drops`: with a wipe, the databases the plan said it drops (SortedIdentifierList); one that
// holds others by the time the seed runs is refused, nothing changed. Empty: not checked (a plan of
// an older replplan).
// Both sides are sessions of their own from `sessions` (providers/server_session.h), fresh (never a
// pool's): the dump and the restore are commands started on them (ServerSession::StartCommand).
Status SeedReplica(SessionFactory& sessions, const Topology& topology, const ServerSpec& primary,
                   const ServerSpec& replica, bool wipe_replica_databases, const ProgressFn& progress,
                   const std::string& approved_drops = "");

// The pieces below are pure, exposed so tests can pin them down.

// User databases: everything but the server's own schemas and replplan's, in the order given (what a seed
// counts, refuses for and drops on the replica).
std::vector<std::string> UserDatabases(const std::vector<std::string>& all_databases);

// What a seed dumps from the primary: its user databases, and replplan's own schema (the failover
// epochs) when it has one.
std::vector<std::string> DumpedDatabases(const std::vector<std::string>& all_databases);

// The command run on the primary: a consistent, compressed dump of `databases` that carries the
// replication position as executable statements (gtid: CHANGE MASTER TO MASTER_USE_GTID=slave_pos
// and SET GLOBAL gtid_slave_pos; file: CHANGE MASTER TO MASTER_LOG_FILE/MASTER_LOG_POS). Runs
// under bash with pipefail so a failing mariadb-dump is not hidden behind gzip's success.
std::string DumpCommand(const std::string& socket, const std::vector<std::string>& databases,
                        ReplicationMode mode);

// The command run on the replica: decompress and restore with sql_log_bin=0 for the session.
std::string RestoreCommand(const std::string& socket);

// "12.3 MB, 41.0 MB/s, 0.3 s" (decimal megabytes of compressed data moved so far).
std::string FormatSeedProgress(uint64_t bytes, double seconds);

}  // namespace replplan
