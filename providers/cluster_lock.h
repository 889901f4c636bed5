// One apply at a time per cluster. The lock is an flock(1) on `cluster.lock_file` on the primary,
// held by a command that runs over an SSH channel for as long as the apply lasts. It survives the
// primary's mariadbd restarting (which a MySQL named lock would not), and it is released by the
// kernel whatever happens to replplan: kill -9 closes the connection, sshd closes the channel, the
// holding command sees EOF and exits, and its file descriptor (the lock) goes with it.
#pragma once

#include <memory>
#include <string>

#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

class ClusterLock {
 public:
  virtual ~ClusterLock() = default;  // releases the lock
};

class SessionPool;

// `owner` describes this apply for whoever finds the lock taken, e.g.
// "replplan apply by root@build-7 (pid 4242) since 2026-11-25T14:55:00Z".
// FailedPrecondition naming the holder when another apply has it.
// With a pool, the SSH session is borrowed from it and given back when the lock is released.
// With a pool that keeps a standby holder for the primary (KeepStandbyLocks), that holder takes the
// lock: one line written, no channel opened, no shell started (a failover's path).
Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool = nullptr);

// Starts, on every server of `topology` that has none in `pool` yet, a lock holder that waits on
// its stdin without locking anything (any server may be the primary whose lock a failover takes),
// each on an SSH session of its own, and keeps it in `pool`. A holder whose connection closes
// exits without ever locking. Servers that cannot be reached are skipped (their trouble is
// reported by whoever needs them). Returns how many it started. For `watch`'s keeper.
int KeepStandbyLocks(const Topology& topology, SessionPool& pool);

}  // namespace replplan
