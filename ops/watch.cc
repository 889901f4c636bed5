#include "ops/watch.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <memory>
#include <optional>
#include <thread>

#include "engine/topology_parser.h"
#include "ops/move.h"
#include "ops/probe.h"
#include "ops/watch_coordination.h"
#include "providers/session_pool.h"

namespace replplan::ops {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::chrono::seconds kEvery{5};

long long Ms(Steady::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

struct Loaded {
  std::string text;
  Topology topology;
};

Result<Loaded> Load(Files& files, const std::string& path) {
  auto text = files.Read(path);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, path);
  if (!parse.ok()) return Status::InvalidArgument(parse.errors.front().ToString());
  return Loaded{std::move(*text), std::move(parse.topology)};
}

// Keeps the World's connections to every server warm while the watcher idles (WarmConnections): the
// servers close idle connections (wait_timeout), restart, come back; every few seconds what is
// missing is reopened, on this thread, so the probe loop never waits on a connect timeout.
class PoolKeeper {
 public:
  PoolKeeper(WarmConnections& warm, const std::atomic<bool>& stop, std::function<void(const std::string&)> log)
      : warm_(warm), stop_(stop), log_(std::move(log)), thread_([this] { Loop(); }) {}
  ~PoolKeeper() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  // Keeps `topology`'s servers warm from now on; `now`: warm them at once, not in kEvery.
  void Keep(const Topology& topology, bool now) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      topology_ = topology;
      have_topology_ = true;
      poked_ = now;
    }
    if (now) wake_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_ && !stop_) {
      wake_.wait_for(lock, kEvery, [this] { return done_ || poked_; });
      poked_ = false;
      if (done_ || stop_ || !have_topology_) continue;
      Topology topology = topology_;
      lock.unlock();
      auto start = Steady::now();
      WarmConnections::Warmed warmed = warm_.Warm(topology);
      for (const Status& r : warmed.refused) {
        if (refusals_logged_.insert(r.message()).second) log_("no standby shell: " + r.message());
      }
      if (warmed.opened + warmed.standby_locks + warmed.shells > 0) {
        log_("warm: " + std::to_string(warmed.idle_sql) + " SQL connections and " + std::to_string(warmed.idle_ssh) +
             " SSH sessions ready for a failover (" + std::to_string(warmed.opened) + " opened, and " +
             std::to_string(warmed.standby_locks) + " lock holders and " + std::to_string(warmed.shells) +
             " shells started to stand by, in " + std::to_string(Ms(Steady::now() - start)) + " ms)");
      }
      lock.lock();
    }
  }

  WarmConnections& warm_;
  const std::atomic<bool>& stop_;
  std::function<void(const std::string&)> log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool have_topology_ = false;
  bool poked_ = false;
  std::set<std::string> refusals_logged_;  // each once, not at every warm-up
  Topology topology_;
  std::thread thread_;
};

// A primary that froze (stopped process, stalled VM) and wakes after the failover still holds its
// client sessions, and its clients may still write to it. So the watcher keeps trying the old
// primaries it replaced and fences one (kill semi-sync waiters, read_only=ON) the moment it answers
// writable, without waiting for an operator's apply: through the World, the file read by its Files,
// the server asked over a fresh session, the fence taken under its lock routine and carried out by
// its executor.
class FenceGuard {
 public:
  FenceGuard(const World& world, const std::atomic<bool>& stop, std::chrono::milliseconds interval,
             std::string topology_path, std::string owner, std::function<void(const std::string&)> log)
      : world_(world),
        stop_(stop),
        interval_(interval),
        topology_path_(std::move(topology_path)),
        owner_(std::move(owner)),
        log_(std::move(log)),
        thread_([this] { Loop(); }) {}
  ~FenceGuard() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Guard(const std::string& old_primary) {
    std::lock_guard<std::mutex> lock(mutex_);
    names_.insert(old_primary);
  }

 private:
  void Loop() {
    for (;;) {
      std::set<std::string> names;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_ || done_) return;
        names = names_;
      }
      for (const std::string& name : names) Check(name);
      // Woken at once when the watcher ends: it must not outlive it by an interval.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, interval_, [this] { return done_; });
    }
  }
  // The file as it is now, not as it was at the failover: an operator may have made the old primary
  // the primary again since (switchover --to it), and that primary must not be fenced. A name the
  // file makes primary is guarded no more.
  std::optional<Topology> Current(const std::string& name) {
    auto loaded = Load(*world_.files, topology_path_);
    if (!loaded.ok()) return std::nullopt;  // no fencing on a view the file does not give
    if (loaded->topology.FindServer(name) == nullptr || loaded->topology.IsPrimary(name)) {
      std::lock_guard<std::mutex> lock(mutex_);
      names_.erase(name);
      return std::nullopt;
    }
    return std::move(loaded->topology);
  }
  void Check(const std::string& name) {
    auto topology = Current(name);
    if (!topology || !AnswersWritable(*topology->FindServer(name))) return;
    // Under the cluster lock, like every other change: a switchover in progress holds it (and may
    // be making this server the primary right now); fenced on a later round if it still must be.
    ClusterLocks lock;
    if (!world_.locks->Acquire(lock, {&*topology}, owner_ + " (fencing " + name + ")").ok()) return;
    topology = Current(name);  // what the lock's holder may have changed
    if (!topology || !AnswersWritable(*topology->FindServer(name))) return;
    Action fence;
    fence.id = name + "/" + ToString(ActionKind::kFencePrimary);
    fence.SetArgs(FencePrimaryArgs{});  // sets the kind too
    fence.host = name;
    fence.summary = "fence " + name + ": it answers writable after it was replaced";
    auto executor = world_.executors->Make(*topology);
    auto start = Steady::now();
    Status st = executor->Execute(fence, [&](const std::string& line) { log_(line); });
    log_(st.ok() ? "fenced " + name + " (it came back writable after the failover) in " +
                       std::to_string(Ms(Steady::now() - start)) + " ms"
                 : "could not fence " + name + ", which came back writable: " + st.message());
  }
  // A fresh connection (a warm one would prove nothing about reaching it now), with short bounds.
  bool AnswersWritable(const ServerSpec& spec) {
    SessionLimits limits;
    limits.sql_connect_timeout_ms = 1000;
    limits.sql_read_timeout_ms = 2000;
    limits.fresh = true;
    auto read_only = world_.sessions->Open(spec, limits)->Global("read_only");
    return read_only.ok() && *read_only == "0";
  }

  const World& world_;
  const std::atomic<bool>& stop_;
  std::chrono::milliseconds interval_;
  std::string topology_path_;
  std::string owner_;
  std::function<void(const std::string&)> log_;
  bool done_ = false;  // under mutex_
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::string> names_;
  std::thread thread_;
};

}  // namespace

Status Watch(const World& world, const WatchOptions& options, const std::atomic<bool>& stop) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  Status last = Status::OK();
  std::optional<Steady::time_point> blocked_until;
  // Every 200 ms to 1 s, whatever the probe interval: a replaced primary that wakes writable is
  // fenced within that, and a short probe interval does not hammer it with connects.
  FenceGuard guard(world, stop,
                   std::clamp(options.interval, std::chrono::milliseconds(200), std::chrono::milliseconds(1000)),
                   options.topology_path, options.owner, log);
  PoolKeeper keeper(*world.warm, stop, log);
  WatchCoordination* coordination = options.coordination;
  if (coordination == nullptr) {
    log("watching alone: this watcher is a single point of failure (run several with --etcd)");
  }
  int failovers = 0;
  std::string watched;  // the primary watched before the file last changed
  while (!stop) {
    std::string stamp = world.files->Stamp(options.topology_path);
    auto loaded = Load(*world.files, options.topology_path);
    if (!loaded.ok()) return loaded.status();
    const ServerSpec& primary = loaded->topology.Primary();
    // Another watcher's failover, written here from etcd: the primary it replaced is guarded here too,
    // so whichever watcher leads when it wakes writable fences it (the guard's lock refuses a standby).
    if (coordination && !watched.empty() && watched != primary.name) guard.Guard(watched);
    watched = primary.name;
    // In the background, never before watching: a server that does not answer must not delay the
    // probe by its connect timeout (after a failover, the old primary's host may be down
    // altogether). What is not warm yet when the primary dies is opened by the failover itself.
    keeper.Keep(loaded->topology, /*now=*/true);
    log("watching " + primary.name + " (" + primary.address + ":" + std::to_string(primary.mysql.port) +
        ") every " + std::to_string(options.interval.count()) + " ms, and its connection's socket in between");
    Probe probe(primary.name, options.probe_timeout, SessionProbeConnect(*world.sessions, primary, options.probe_timeout));
    bool reported_blocked = false;
    while (!stop) {
      Status alive = probe.Check();
      if (coordination) coordination->Observed(primary.name, loaded->topology.cluster.epoch, alive.ok());
      // etcd's primary rewrites the file (ops/coordination.h): watch the one it names now.
      auto file_changed = [&] { return world.files->Stamp(options.topology_path) != stamp; };
      if (alive.ok()) {
        reported_blocked = false;
        probe.Wait(options.interval, stop);  // returns at once when the primary's socket closes
        // An operator's switchover (or an edit) names another primary: watch that one from now on.
        // A stat first (a microsecond), the file read and parsed only when it changed.
        if (world.files->Stamp(options.topology_path) != stamp) {
          auto now = Load(*world.files, options.topology_path);
          stamp = world.files->Stamp(options.topology_path);
          if (now.ok() && now->text != loaded->text) {
            log("the topology file changed: reading it again");
            break;
          }
        }
        continue;
      }
      auto suspected = Steady::now();
      if (blocked_until && suspected < *blocked_until) {
        if (!reported_blocked) {
          log("primary " + primary.name + " unreachable (" + alive.message() + ") but a failover happened " +
              "less than the block period ago: not failing over again; the operator decides");
          reported_blocked = true;
        }
        std::this_thread::sleep_for(options.interval);
        continue;
      }
      if (coordination && !coordination->Leading()) {
        if (!reported_blocked) {
          log("primary " + primary.name + " unreachable (" + alive.message() + "): " + coordination->StandbyReason());
          reported_blocked = true;
        }
        std::this_thread::sleep_for(std::min(options.interval, std::chrono::milliseconds(100)));
        if (file_changed()) break;
        continue;
      }
      log("primary " + primary.name + " unreachable: " + alive.message() +
          (coordination ? "; asking the other watchers and the replicas" : "; asking the replicas"));
      // The replicas may notice a moment after us: ask again until slave_net_timeout + 2 s.
      auto deadline = suspected + std::chrono::seconds(loaded->topology.replication.slave_net_timeout + 2);
      std::optional<MoveOutcome> outcome;
      const SessionPool::Stats before = world.warm->stats();
      // The probe's verdict stands in for the confirm step's own check of the primary while the
      // probe left in flight stays unanswered (re-checked before each attempt, without waiting).
      const std::string silent = probe.silent() ? "silent: " + alive.message() + " (the watcher's probe)" : "";
      bool answers_again = false;
      // Each replica's receipt from the primary across the attempts: one connected but sent nothing
      // for longer than the silence bound confirms without waiting out slave_net_timeout.
      ReceiptWatch receipts(SilenceBound(loaded->topology.replication));
      std::string refused;  // the watchers' last reason not to fail over yet (ops/watch_coordination.h)
      for (;;) {
        if (!silent.empty() && probe.AnsweredAgain()) {
          answers_again = true;
          break;
        }
        if (coordination) {
          Status may = coordination->MayFailOver(primary.name, loaded->topology.cluster.epoch);
          if (!may.ok()) {
            if (may.message() != refused) log("not failing over: " + may.message());  // each reason once
            refused = may.message();
            if (Steady::now() >= deadline || stop || file_changed()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
          }
        }
        MoveRequest request;
        request.primary_silent = silent;
        request.receipts = &receipts;
        request.topology_path = options.topology_path;
        request.topology_text = loaded->text;
        request.topology = loaded->topology;
        request.parallelism = options.parallelism;
        request.min_confirmations = options.min_confirmations;
        request.owner = options.owner;
        request.observer = options.observer;
        request.allow_destructive = options.allow_destructive;
        MoveOutcome attempt = Failover(world, request);
        if (coordination) coordination->FailoverEnded(attempt);  // journaled, or nothing begun
        bool not_confirmed = !attempt.decision || !attempt.decision->proceed;
        if (!not_confirmed || Steady::now() >= deadline || stop) {
          outcome = std::move(attempt);
          break;
        }
        if (attempt.facts && attempt.facts->primary_reachable) {
          outcome = std::move(attempt);
          break;
        }
        // The replicas answer in milliseconds: ask again soon, without hammering them.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!outcome && !answers_again) {  // the watchers' coordination said no
        std::this_thread::sleep_for(std::min(options.interval, std::chrono::milliseconds(100)));
        if (file_changed()) break;
        continue;
      }
      if (answers_again) {
        log("primary " + primary.name + " answers again after " + std::to_string(Ms(Steady::now() - suspected)) +
            " ms: not failing over");
        continue;
      }
      log("detection: " + std::to_string(Ms(Steady::now() - suspected)) + " ms from the failed probe to the end of the " +
          "failover attempt");
      SessionPool::Stats used = world.warm->stats();
      log("connections: " + std::to_string(used.sql_lent - before.sql_lent) + " SQL and " +
          std::to_string(used.ssh_lent - before.ssh_lent) + " SSH borrowed warm, " +
          std::to_string(used.sql_opened - before.sql_opened) + " SQL and " +
          std::to_string(used.ssh_opened - before.ssh_opened) + " SSH opened during the failover");
      log(RenderMoveReport(*outcome));
      if (outcome->decision && outcome->decision->proceed) {
        last = outcome->status;
        if (outcome->promoted) guard.Guard(outcome->from);
        blocked_until = Steady::now() + options.block_period;
        ++failovers;
        if (options.max_failovers > 0 && failovers >= options.max_failovers) return last;
        break;  // re-read the rewritten file and watch the new primary
      }
      // Refused: the primary lives for the replicas (or no candidate). Keep watching.
      std::this_thread::sleep_for(options.interval);
    }
  }
  return last;
}

Status Watch(const WatchOptions& options, const std::atomic<bool>& stop) {
  SessionPool pool;
  LiveWorld world(&pool, ExtraProbes::kNever);  // the failovers borrow the pool's warm connections
  return Watch(world.world(), options, stop);
}

}  // namespace replplan::ops
