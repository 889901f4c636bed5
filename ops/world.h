// What an operation (ops/apply.h, ops/move.h, ops/watch.h) may touch, as a small struct of
// interfaces: the live state, the executor, the cluster lock, the clock, the local files, the
// secrets, the epoch a promotion records, sessions to single servers (a failover's facts) and what a
// move records and learns afterwards. LiveWorld holds the real implementation of each;
// a unit test hands the operation fakes (ops/fake_world.h) and checks what it was asked to do.
//
// Invariant: an operation reaches servers and files only through its World. It never prints: what
// an operator reads goes out through its request's callbacks or comes back in its outcome.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/applier.h"
#include "engine/executor.h"
#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/cluster_lock.h"
#include "providers/local/secrets.h"
#include "providers/lost_transactions.h"
#include "providers/provider.h"
#include "providers/server_session.h"
#include "providers/session_pool.h"
#include "providers/state_reader.h"

namespace replplan::ops {

// The live state of every server of a topology, read at most `parallelism` hosts at once.
class LiveStateSource {
 public:
  virtual ~LiveStateSource() = default;
  virtual LiveState Read(const Topology& topology, int parallelism, ReadStats& stats) = 0;
  // `server` read over SSH only (Provider::ReadFiles), its SQL side recorded as not read because
  // `why`: a primary known silent whose host holds an app a failover repoints.
  virtual ServerState ReadFiles(const Topology& topology, const ServerSpec& server, const std::string& why) = 0;
};

// Makes the executor that carries a plan out on `topology`'s servers.
class ExecutorFactory {
 public:
  virtual ~ExecutorFactory() = default;
  virtual std::unique_ptr<ActionExecutor> Make(const Topology& topology) = 0;
};

// The live executor (providers/live_executor.h) over sessions from `sessions`, which must outlive
// what it makes: a fake's (providers/testing/fake_server.h), so a unit test runs the very
// statements the lab runs against fake servers.
class SessionExecutors : public ExecutorFactory {
 public:
  explicit SessionExecutors(SessionFactory& sessions) : sessions_(sessions) {}
  std::unique_ptr<ActionExecutor> Make(const Topology& topology) override;

 private:
  SessionFactory& sessions_;
};

// The cluster lock routine of providers/cluster_lock.h (AcquireClusterLocks): takes the lock of
// each topology's primary into `held`; a refusal names the holder.
class ClusterLockRoutine {
 public:
  virtual ~ClusterLockRoutine() = default;
  virtual Status Acquire(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                         const std::string& owner) = 0;
};

// The routine of providers/cluster_lock.h with holders on sessions from a SessionFactory: the real
// one starts holders over SSH; a unit test's on the fake server, so a holder that never answers
// needs no server.
class SessionClusterLocks : public ClusterLockRoutine {
 public:
  explicit SessionClusterLocks(SessionFactory& sessions, LockBounds bounds = {}) : sessions_(sessions), bounds_(bounds) {}
  Status Acquire(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                 const std::string& owner) override {
    return AcquireClusterLocks(held, topologies, owner, sessions_, bounds_);
  }

 private:
  SessionFactory& sessions_;
  LockBounds bounds_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() = 0;
};

// The local files an operation reads and writes: the topology file, a saved plan, `plan --out`.
class Files {
 public:
  virtual ~Files() = default;
  // NotFound "cannot read PATH" when it cannot be read.
  virtual Result<std::string> Read(const std::string& path) = 0;
  // Replaced atomically, never through a symlink planted at that name (providers/local/atomic_file.h).
  virtual Status WriteAtomically(const std::string& path, const std::string& text) = 0;
  // Changes whenever the file is rewritten (atomically or not), without reading it: watch looks at
  // it after every probe. "" when the file is not there.
  virtual std::string Stamp(const std::string& path) = 0;
};

// CheckTopologySecrets (providers/local/secrets.h): every secret the topology references resolved
// on this machine before any host is contacted.
class SecretChecker {
 public:
  virtual ~SecretChecker() = default;
  virtual SecretCheck Check(const Topology& topology) = 0;
};

// After an apply whose plan promoted a server (an edited `primary`): the next epoch recorded on the
// new primary and written into the file (RecordedPromotions, ops/promotion_record.h). Returns
// the lines to print; "" when the plan promoted no one.
class PromotionRecorder {
 public:
  virtual ~PromotionRecorder() = default;
  virtual std::string Record(const Plan& plan, const ApplyReport& report, const Topology& topology,
                             const std::string& topology_path, const std::string& owner) = 0;
};

// After a switchover or failover promoted a server: the epoch recorded on it (RecordEpoch,
// providers/epoch_record.h), and, after a failover, what the old primary wrote that no replica
// received (FindLostTransactions, providers/lost_transactions.h). Each opens its own connection,
// with its own short bounds.
class MoveRecords {
 public:
  virtual ~MoveRecords() = default;
  virtual Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                                      const std::string& by) = 0;
  virtual LostTransactions FindLost(const ServerSpec& old_primary, const std::string& new_primary_position) = 0;
};

// `watch`'s warm connections: while the primary answers, what is missing for every server of the
// topology is opened ahead of need, so that a failover borrows it instead of connecting on its hot
// path. The real one (LiveWorld with a pool) keeps a SessionPool (providers/session_pool.h): an SQL
// connection and two SSH sessions per server, a standby cluster lock holder and a standby shell on
// each. Without a pool, nothing is kept.
class WarmConnections {
 public:
  struct Warmed {
    int opened = 0;        // connections opened now
    int standby_locks = 0; // lock holders started to stand by
    int shells = 0;        // standby shells started
    size_t idle_sql = 0, idle_ssh = 0;  // ready now
    std::vector<Status> refused;        // servers whose login shell cannot stand by, and why
  };
  virtual ~WarmConnections() = default;
  virtual Warmed Warm(const Topology& topology) = 0;
  // What the connections lent since the start (a failover's report compares two of these).
  virtual SessionPool::Stats stats() const = 0;
};

// Borrowed pointers, none null.
struct World {
  LiveStateSource* live = nullptr;
  ExecutorFactory* executors = nullptr;
  ClusterLockRoutine* locks = nullptr;
  Clock* clock = nullptr;
  Files* files = nullptr;
  SecretChecker* secrets = nullptr;
  PromotionRecorder* promotions = nullptr;
  SessionFactory* sessions = nullptr;  // one server at a time (providers/server_session.h)
  MoveRecords* records = nullptr;
  WarmConnections* warm = nullptr;  // watch only
};

// ReadLiveState over a Provider (the real one reads over SQL and SSH; a fake one returns raw rows).
class ProviderStateSource : public LiveStateSource {
 public:
  explicit ProviderStateSource(std::unique_ptr<Provider> provider) : provider_(std::move(provider)) {}
  LiveState Read(const Topology& topology, int parallelism, ReadStats& stats) override;
  ServerState ReadFiles(const Topology& topology, const ServerSpec& server, const std::string& why) override;

 private:
  std::unique_ptr<Provider> provider_;
};

// The real world: servers over SQL and SSH (MakeLiveProvider, MakeLiveExecutor, AcquireClusterLocks,
// LiveSessionFactory), the system clock, the local file system, secrets from env and files, epochs
// on the servers. With a pool (`watch` keeps one), connections are borrowed warm from it and kept
// warm by `warm`.
class LiveWorld {
 public:
  // `probes`: ExtraProbes::kNever for a promotion's read of the live state (switchover, failover,
  // watch): a dead primary's SQL refuses while its SSH may answer, and asking whether mariadbd runs
  // there would add an SSH round trip to the failover and change nothing it does.
  explicit LiveWorld(SessionPool* pool = nullptr, ExtraProbes probes = ExtraProbes::kWhenNeeded);
  ~LiveWorld();
  LiveWorld(const LiveWorld&) = delete;
  LiveWorld& operator=(const LiveWorld&) = delete;
  const World& world() const { return world_; }

 private:
  std::unique_ptr<LiveStateSource> live_;
  std::unique_ptr<ExecutorFactory> executors_;
  std::unique_ptr<SessionFactory> sessions_;
  std::unique_ptr<ClusterLockRoutine> locks_;  // over sessions_
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Files> files_;
  std::unique_ptr<SecretChecker> secrets_;
  std::unique_ptr<MoveRecords> records_;
  std::unique_ptr<PromotionRecorder> promotions_;  // over records_ and files_
  std::unique_ptr<WarmConnections> warm_;
  World world_;
};

// ISO 8601 UTC to the second: "2024-05-01T12:34:56Z" (a plan's created_at).
std::string UtcSeconds(std::chrono::system_clock::time_point when);

}  // namespace replplan::ops
