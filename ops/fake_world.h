// A World (ops/world.h) of fakes for the operations' unit tests: a live state the test builds, an
// executor that records what it was asked (and whether the cluster lock was held then), a lock
// that can be taken by someone else, a fixed clock, files in memory, fake servers behind the
// session seam (providers/testing/fake_server.h), a move's records kept in memory and no warm
// connections. Test-only; no I/O.
#pragma once

#include <functional>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ops/world.h"
#include "providers/testing/fake_server.h"

namespace replplan::ops::testing {

// Returns `state` on every read (a test may change it between reads); records the servers each
// read was asked for.
class FakeLiveState : public LiveStateSource {
 public:
  LiveState Read(const Topology& topology, int, ReadStats& stats) override {
    ++reads;
    std::vector<std::string> names;
    for (const ServerSpec& s : topology.servers) {
      names.push_back(s.name);
      stats.per_host[s.name] = std::chrono::milliseconds(1);
    }
    asked.push_back(std::move(names));
    return state;
  }
  // The server's state with its SQL side not read (as the real one leaves it).
  ServerState ReadFiles(const Topology&, const ServerSpec& server, const std::string& why) override {
    files_read.push_back(server.name);
    ServerState s;
    auto it = state.servers.find(server.name);
    if (it != state.servers.end()) {
      const ServerState& all = it->second;
      s.ssh_ok = all.ssh_ok;
      s.ssh_error = all.ssh_error;
      s.config_exists = all.config_exists;
      s.config = all.config;
      s.config_origin = all.config_origin;
      s.config_files = all.config_files;
      s.config_problems = all.config_problems;
      s.app_configs = all.app_configs;
    }
    s.name = server.name;
    s.sql_error = why;
    return s;
  }
  LiveState state;
  std::vector<std::string> files_read;  // servers read by ReadFiles
  int reads = 0;
  std::vector<std::vector<std::string>> asked;  // per read, the servers of the topology given
};

// Takes each topology's primary lock unless `holder` is set: then it refuses as
// providers/cluster_lock.h words it, naming the holder. Counts the locks alive.
class FakeLocks : public ClusterLockRoutine {
 public:
  Status Acquire(ClusterLocks& held, const std::vector<const Topology*>& topologies,
                 const std::string& owner) override {
    std::lock_guard<std::mutex> lock(mutex_);  // watch's fence guard locks from its own thread
    for (const Topology* t : topologies) {
      if (!holder.empty()) {
        return Status::FailedPrecondition("cluster " + t->cluster.name + " is locked by " + holder + " (" +
                                          t->cluster.primary + ":" + t->cluster.lock_file + "); wait for it to finish");
      }
      held.push_back({t->cluster.primary, t->cluster.lock_file, std::make_unique<Lock>(alive)});
      taken.push_back(t->cluster.primary);
      owners.push_back(owner);
    }
    return Status::OK();
  }
  std::string holder;               // someone else holds the lock: every Acquire refuses
  std::vector<std::string> taken;   // the primaries locked, in order
  std::vector<std::string> owners;  // the owner line of each
  std::atomic<int> alive = 0;       // locks taken and not yet released

 private:
  class Lock : public ClusterLock {
   public:
    explicit Lock(std::atomic<int>& alive) : alive_(alive) { ++alive_; }
    ~Lock() override { --alive_; }

   private:
    std::atomic<int>& alive_;
  };
  std::mutex mutex_;
};

// Every Execute recorded, in the order called, with whether a cluster lock was alive then.
class RecordingExecutors : public ExecutorFactory {
 public:
  explicit RecordingExecutors(const FakeLocks& locks) : locks_(locks) {}
  std::unique_ptr<ActionExecutor> Make(const Topology&) override {
    ++made;
    return std::make_unique<Executor>(*this);
  }
  std::vector<std::string> executed;  // action ids
  bool always_locked = true;          // every Execute ran while a lock was held
  int made = 0;
  std::function<void(const Action&)> on_execute;  // what an action changes in the fake world

 private:
  class Executor : public ActionExecutor {
   public:
    explicit Executor(RecordingExecutors& owner) : owner_(owner) {}
    Status Execute(const Action& action, const ProgressFn&) override {
      owner_.executed.push_back(action.id);
      owner_.always_locked &= owner_.locks_.alive > 0;
      if (owner_.on_execute) owner_.on_execute(action);
      return Status::OK();
    }

   private:
    RecordingExecutors& owner_;
  };
  const FakeLocks& locks_;
};

class FixedClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return now; }
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1764979200);  // 2025-12-06
};

// Read, written and stamped under a lock (watch's fence guard reads from its own thread); a test
// reads and sets `files` directly only while no operation runs.
class MemoryFiles : public Files {
 public:
  Result<std::string> Read(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files.find(path);
    if (it == files.end()) return Status::NotFound("cannot read " + path);
    return it->second;
  }
  Status WriteAtomically(const std::string& path, const std::string& text) override {
    std::lock_guard<std::mutex> lock(mutex_);
    files[path] = text;
    written.push_back(path);
    return Status::OK();
  }
  // The bytes themselves: they change whenever the file does.
  std::string Stamp(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files.find(path);
    return it == files.end() ? "" : "bytes:" + it->second;
  }
  std::map<std::string, std::string> files;  // path -> bytes
  std::vector<std::string> written;

 private:
  std::mutex mutex_;
};

// Every secret resolves.
class ResolvedSecrets : public SecretChecker {
 public:
  SecretCheck Check(const Topology&) override {
    ++checks;
    return {};
  }
  int checks = 0;
};

class RecordingPromotions : public PromotionRecorder {
 public:
  std::string Record(const Plan& plan, const ApplyReport&, const Topology&, const std::string&,
                     const std::string&) override {
    ++calls;
    return plan.primary_change ? "epoch recorded\n" : "";
  }
  int calls = 0;
};

// Epochs recorded and binlogs read, in memory: the epoch written is `at_least`; the old primary's
// binlog cannot be read unless `lost` is set.
class RecordingMoveRecords : public MoveRecords {
 public:
  Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                              const std::string&) override {
    epochs.push_back(new_primary.name + " " + kind + " " + std::to_string(at_least));
    return at_least;
  }
  LostTransactions FindLost(const ServerSpec& old_primary, const std::string&) override {
    binlogs_read.push_back(old_primary.name);
    if (lost) return *lost;
    LostTransactions unknown;
    unknown.why_unknown = "cannot reach " + old_primary.name + " over SSH to read its binlog: (fake)";
    return unknown;
  }
  std::vector<std::string> epochs;        // "uranus failover 1"
  std::vector<std::string> binlogs_read;  // old primaries
  std::optional<LostTransactions> lost;
};

// Nothing kept warm: records the primaries of the topologies it was asked to warm. Thread-safe
// (watch's keeper calls it from its own thread).
class RecordingWarmth : public WarmConnections {
 public:
  Warmed Warm(const Topology& topology) override {
    std::lock_guard<std::mutex> lock(mutex_);
    primaries_.push_back(topology.cluster.primary);
    return {};
  }
  SessionPool::Stats stats() const override { return {}; }
  std::vector<std::string> primaries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return primaries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> primaries_;
};

struct FakeWorld {
  FakeLiveState live;
  FakeLocks locks;
  RecordingExecutors executors{locks};
  FixedClock clock;
  MemoryFiles files;
  ResolvedSecrets secrets;
  RecordingPromotions promotions;
  FakeSessionFactory sessions;
  RecordingMoveRecords records;
  RecordingWarmth warm;
  World world() {
    return {&live, &executors, &locks, &clock, &files, &secrets, &promotions, &sessions, &records, &warm};
  }
};

}  // namespace replplan::ops::testing
