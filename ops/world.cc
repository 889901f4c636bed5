#include "ops/world.h"

#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "providers/epoch_record.h"
#include "providers/live_executor.h"
#include "providers/local/atomic_file.h"
#include "providers/primary_move.h"

namespace replplan::ops {
namespace {

class LiveExecutors : public ExecutorFactory {
 public:
  explicit LiveExecutors(SessionPool* pool) : pool_(pool) {}
  std::unique_ptr<ActionExecutor> Make(const Topology& topology) override { return MakeLiveExecutor(topology, pool_); }

 private:
  SessionPool* pool_;
};

class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return std::chrono::system_clock::now(); }
};

class LocalFiles : public Files {
 public:
  Result<std::string> Read(const std::string& path) override {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound("cannot read " + path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }
  Status WriteAtomically(const std::string& path, const std::string& text) override {
    return WriteFileAtomically(path, text);
  }
};

class LocalSecrets : public SecretChecker {
 public:
  SecretCheck Check(const Topology& topology) override { return CheckTopologySecrets(topology); }
};

class ServerEpochs : public PromotionRecorder {
 public:
  std::string Record(const Plan& plan, const ApplyReport& report, const Topology& topology,
                     const std::string& topology_path, const std::string& owner) override {
    return RecordApplyPromotion(plan, report, topology, topology_path, owner);
  }
};

class ServerMoveRecords : public MoveRecords {
 public:
  Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                              const std::string& by) override {
    return ::replplan::RecordEpoch(new_primary, at_least, kind, by);
  }
  LostTransactions FindLost(const ServerSpec& old_primary, const std::string& new_primary_position) override {
    return FindLostTransactions(old_primary, new_primary_position);
  }
};

}  // namespace

std::unique_ptr<ActionExecutor> SessionExecutors::Make(const Topology& topology) {
  return MakeLiveExecutor(topology, sessions_);
}

LiveState ProviderStateSource::Read(const Topology& topology, int parallelism, ReadStats& stats) {
  return ReadLiveState(topology, *provider_, parallelism, stats);
}

LiveWorld::LiveWorld(SessionPool* pool, ExtraProbes probes)
    : live_(std::make_unique<ProviderStateSource>(MakeLiveProvider(pool, probes))),
      executors_(std::make_unique<LiveExecutors>(pool)),
      holders_(MakeSshHolderLauncher(pool)),
      locks_(std::make_unique<HolderClusterLocks>(*holders_)),
      clock_(std::make_unique<SystemClock>()),
      files_(std::make_unique<LocalFiles>()),
      secrets_(std::make_unique<LocalSecrets>()),
      promotions_(std::make_unique<ServerEpochs>()),
      sessions_(std::make_unique<LiveSessionFactory>(pool)),
      records_(std::make_unique<ServerMoveRecords>()),
      world_{live_.get(), executors_.get(), locks_.get(), clock_.get(), files_.get(), secrets_.get(),
             promotions_.get(), sessions_.get(), records_.get()} {}

LiveWorld::~LiveWorld() = default;

std::string UtcSeconds(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

}  // namespace replplan::ops
