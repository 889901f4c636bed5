// One apply at a time per cluster. The lock is an flock(1) on `cluster.lock_file` on the primary,
// held by a command that runs over an SSH channel for as long as the apply lasts. It survives the
// primary's mariadbd restarting (which a MySQL named lock would not), and it is released by the
// kernel whatever happens to replplan: kill -9 closes the connection, sshd closes the channel, the
// holding command sees EOF and exits, and its file descriptor (the lock) goes with it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan {

class ClusterLock {
 public:
  virtual ~ClusterLock() = default;  // releases the lock
};

class SessionPool;

// The lock's one conversation goes through the seam (providers/server_session.h): a holder is a
// command started on a session of its own (ServerSession::StartCommand), or a standby holder taken
// from a pool (TakeStartedCommand), so over the fake server (providers/testing/fake_server.h) a
// holder that never answers, or one whose connection drops, is a unit test.

// How long a holder may take to answer. A holder that says nothing for `answer_timeout_ms` is
// refused as "no answer from <lock file> on <server>"; a standby one that says nothing for
// `standby_answer_ms` is dead or stalled, and a fresh holder is started.
struct LockBounds {
  int answer_timeout_ms = 15000;
  int standby_answer_ms = 1000;
};

// `owner` describes this apply for whoever finds the lock taken, e.g.
// "replplan apply by root@build-7 (pid 4242) since 2026-11-25T14:55:00Z".
// FailedPrecondition naming the holder when another apply has it.
// With a pool, the SSH session is borrowed from it and given back when the lock is released.
// With a pool that keeps a standby holder for the primary (KeepStandbyLocks), that holder takes the
// lock: one line written, no channel opened, no shell started (a failover's path).
Result<std::unique_ptr<ClusterLock>> AcquireClusterLock(const Topology& topology, const std::string& owner,
                                                        SessionPool* pool = nullptr);

// The locks one run holds while it moves the primary, each with the primary and lock file it is
// on. Released when the vector goes.
struct HeldClusterLock {
  std::string primary;  // the server's name
  std::string lock_file;
  std::unique_ptr<ClusterLock> lock;
};
using ClusterLocks = std::vector<HeldClusterLock>;

// The one lock routine for moving the primary (a switchover by `switchover` or by an edited file):
// takes, in order, the lock of each of `topologies`' primaries, where an apply of that version of
// the file would lock, and adds it to `held`. A lock `held` has already (the same primary and lock
// file) is not taken again. When `held` is not empty and a holder answers that the lock is taken
// by this very `owner`, the primaries share the lock file (one machine, as in the lab) and it is
// held already: no error. Any other refusal is returned as AcquireClusterLock words it; the locks
// taken before it stay in `held`.
Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, SessionPool* pool = nullptr);
// The same with holders on sessions from `sessions`, within `bounds`.
Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, SessionFactory& sessions, const LockBounds& bounds = {});

// Starts, on every server of `topology` that has none in `pool` yet, a lock holder that waits on
// its stdin without locking anything (any server may be the primary whose lock a failover takes),
// each on an SSH session of its own, and keeps it in `pool`. A holder whose connection closes
// exits without ever locking. Servers that cannot be reached are skipped (their trouble is
// reported by whoever needs them). Returns how many it started. For `watch`'s keeper.
int KeepStandbyLocks(const Topology& topology, SessionPool& pool);

}  // namespace replplan
