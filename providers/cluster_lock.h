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
#include "providers/ssh/ssh_session.h"

namespace replplan {

class ClusterLock {
 public:
  virtual ~ClusterLock() = default;  // releases the lock
};

class SessionPool;

// The seam of the lock's one conversation: a started holder command, its stdin and stdout moved
// without blocking (every call does what it can now and returns; poll socket() for poll_events()
// to wait). The real one is an SshStream on its own SSH session; a unit test's runs over a
// socketpair (providers/testing/fake_lock_holder.h), so a holder that never answers is a test.
class HolderConversation {
 public:
  virtual ~HolderConversation() = default;  // abandons the holder: its channel closes, it lets go
  // As SshStream's: 0 when nothing is available now (or at EOF: see stdout_eof()).
  virtual Result<size_t> ReadStdout(char* buffer, size_t size) = 0;
  virtual Result<size_t> WriteStdin(const char* data, size_t size) = 0;
  virtual bool stdout_eof() const = 0;
  virtual int socket() const = 0;
  virtual short poll_events() const = 0;
  // Closes stdin, reads the rest and the exit status (see SshStream::Finish).
  virtual Result<StreamExit> Finish(int idle_timeout_ms) = 0;
  // The holder answered LOCKED: from now until Release the conversation IS the lock (the real one
  // keeps its SSH connection alive with keepalives).
  virtual void Hold() {}
  // Lets go of a held lock: EOF on the holder's stdin, which exits and takes the lock with it.
  virtual void Release() = 0;
};

// Starts lock holders on a primary.
class HolderLauncher {
 public:
  virtual ~HolderLauncher() = default;
  // A holder started ahead of need on `primary` for `lock_file`, waiting for its owner line
  // (watch's standby, KeepStandbyLocks); null when there is none.
  virtual std::unique_ptr<HolderConversation> TakeStandby(const ServerSpec& primary, const std::string& lock_file) = 0;
  // Starts `command` on `primary`. On an error, `reached` says whether the server was reached at
  // all (false: the connection failed; true: the command could not be started on it).
  virtual Result<std::unique_ptr<HolderConversation>> Start(const ServerSpec& primary, const std::string& command,
                                                            bool& reached) = 0;
};

// Holders over SSH (providers/ssh), sessions borrowed from `pool` when given and given back, sound,
// once a held lock is released; standby holders taken from it.
std::unique_ptr<HolderLauncher> MakeSshHolderLauncher(SessionPool* pool);

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
// The same through `launcher`'s holders, within `bounds`.
Status AcquireClusterLocks(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                           const std::string& owner, HolderLauncher& launcher, const LockBounds& bounds = {});

// Starts, on every server of `topology` that has none in `pool` yet, a lock holder that waits on
// its stdin without locking anything (any server may be the primary whose lock a failover takes),
// each on an SSH session of its own, and keeps it in `pool`. A holder whose connection closes
// exits without ever locking. Servers that cannot be reached are skipped (their trouble is
// reported by whoever needs them). Returns how many it started. For `watch`'s keeper.
int KeepStandbyLocks(const Topology& topology, SessionPool& pool);

}  // namespace replplan
