#include "ops/world.h"

#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <sys/stat.h>

#include "ops/promotion_record.h"
#include "providers/epoch_record.h"
#include "providers/live_executor.h"
#include "providers/local/atomic_file.h"
#include "providers/standby_shell.h"

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
  // Inode, size and modification time.
  std::string Stamp(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "";
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
  }
};

class LocalSecrets : public SecretChecker {
 public:
  SecretCheck Check(const Topology& topology) override { return CheckTopologySecrets(topology); }
};

class ServerMoveRecords : public MoveRecords {
 public:
  explicit ServerMoveRecords(SessionFactory& sessions) : sessions_(sessions) {}
  Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                              const std::string& by) override {
    return ::replplan::RecordEpoch(sessions_, new_primary, at_least, kind, by);
  }
  LostTransactions FindLost(const ServerSpec& old_primary, const std::string& new_primary_position) override {
    return FindLostTransactions(sessions_, old_primary, new_primary_position);
  }

 private:
  SessionFactory& sessions_;
};

// A SessionPool kept warm, with a standby lock holder and a standby shell on every server.
class PoolWarmth : public WarmConnections {
 public:
  // A failover holds the cluster lock on one SSH session of the new primary while the reads and
  // the actions use another.
  static constexpr int kSshPerServer = 2;
  explicit PoolWarmth(SessionPool& pool) : pool_(pool) {}
  Warmed Warm(const Topology& topology) override {
    Warmed out;
    out.opened = pool_.Warm(topology, kSshPerServer);
    // A cluster lock holder standing by on every server: the failover's lock is then one line
    // written to it, whichever replica becomes the primary.
    out.standby_locks = KeepStandbyLocks(topology, pool_);
    // And a shell standing by on every server, for the app's restart command (the touch).
    out.shells = KeepStandbyShells(topology, pool_, &out.refused);
    out.idle_sql = pool_.idle_sql();
    out.idle_ssh = pool_.idle_ssh();
    return out;
  }
  SessionPool::Stats stats() const override { return pool_.stats(); }

 private:
  SessionPool& pool_;
};

// No pool: nothing kept, nothing lent.
class NoWarmth : public WarmConnections {
 public:
  Warmed Warm(const Topology&) override { return {}; }
  SessionPool::Stats stats() const override { return {}; }
};

}  // namespace

std::unique_ptr<ActionExecutor> SessionExecutors::Make(const Topology& topology) {
  return MakeLiveExecutor(topology, sessions_);
}

LiveState ProviderStateSource::Read(const Topology& topology, int parallelism, ReadStats& stats) {
  return ReadLiveState(topology, *provider_, parallelism, stats);
}

ServerState ProviderStateSource::ReadFiles(const Topology& topology, const ServerSpec& server, const std::string& why) {
  RawServerState raw;
  try {
    raw = provider_->ReadFiles(topology, server);
  } catch (const std::exception& e) {  // as ReadLiveState: a bug in a provider reports the host unreadable
    raw.ssh_error = std::string("internal error while reading: ") + e.what();
  }
  raw.name = server.name;
  raw.sql_ok = false;
  raw.sql_error = why;
  return ParseServerState(raw);
}

LiveWorld::LiveWorld(SessionPool* pool, ExtraProbes probes)
    : live_(std::make_unique<ProviderStateSource>(MakeLiveProvider(pool, probes))),
      executors_(std::make_unique<LiveExecutors>(pool)),
      sessions_(std::make_unique<LiveSessionFactory>(pool)),
      locks_(std::make_unique<SessionClusterLocks>(*sessions_)),
      clock_(std::make_unique<SystemClock>()),
      files_(std::make_unique<LocalFiles>()),
      secrets_(std::make_unique<LocalSecrets>()),
      records_(std::make_unique<ServerMoveRecords>(*sessions_)),
      promotions_(std::make_unique<RecordedPromotions>(*records_, *files_)),
      warm_(pool ? std::unique_ptr<WarmConnections>(std::make_unique<PoolWarmth>(*pool))
                 : std::make_unique<NoWarmth>()),
      world_{live_.get(), executors_.get(), locks_.get(), clock_.get(), files_.get(), secrets_.get(),
             promotions_.get(), sessions_.get(), records_.get(), warm_.get()} {}

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
