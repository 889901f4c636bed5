#include "ops/watch.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "engine/topology_parser.h"
#include "ops/move.h"
#include "ops/probe.h"
#include "ops/watch_coordination.h"
#include "providers/failover_facts.h"
#include "providers/session_pool.h"

namespace replplan::ops {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::chrono::seconds kEvery{5};

long long Ms(Steady::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// How soon the watchers' majority is asked again after a refusal: the other watchers publish what
// they saw a few ms after this one saw it (their probes see the same socket close), so every 2 ms
// for the first 100 ms after the loss, then every 10 ms. Each ask is two reads of etcd.
std::chrono::milliseconds AskAgainAfter(Steady::time_point suspected) {
  return std::chrono::milliseconds(Steady::now() - suspected < std::chrono::milliseconds(100) ? 2 : 10);
}

// The watchers' majority (WatchCoordination::MayFailOver) asked on a thread of its own, while the
// failover asks the replicas, takes the cluster lock, reads the live state and plans: the failover
// waits for it only before its first change (MoveRequest::before_changes). At a loss every watcher
// publishes what it saw at once, and etcd answers the leader's asks a few ms, on a busy machine 10-18
// ms, later: asked first, as before, that wait came before the replicas' confirmation; asked beside
// it, it is mostly over by the time the plan is made. Asked again (AskAgainAfter) until a majority,
// Stop, or `until` (the first 200 ms after the loss, 100 ms at least: how long a plan made under
// the cluster lock may wait for the watchers).
class MajorityAsk {
 public:
  MajorityAsk(WatchCoordination& coordination, std::string primary, int64_t epoch, Steady::time_point suspected,
              Steady::time_point until)
      : coordination_(coordination),
        primary_(std::move(primary)),
        epoch_(epoch),
        suspected_(suspected),
        until_(until),
        thread_([this] { Run(); }) {}
  ~MajorityAsk() { (void)Stop(); }
  MajorityAsk(const MajorityAsk&) = delete;
  MajorityAsk& operator=(const MajorityAsk&) = delete;

  // The answer that stands: OK (a majority), or the last refusal once `until` passed.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    over_changed_.wait(lock, [this] { return over_; });
    return *last_;
  }
  // No ask after the one in flight (it is waited for: one read of etcd); the last answer.
  Status Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    stop_changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    return *last_;
  }
  // Each refusal as it changed, in order (the watcher logs each reason once).
  std::vector<std::string> Refusals() {
    std::lock_guard<std::mutex> lock(mutex_);
    return refusals_;
  }

 private:
  void Run() {
    for (;;) {
      Status may = coordination_.MayFailOver(primary_, epoch_);
      std::unique_lock<std::mutex> lock(mutex_);
      if (!may.ok() && (refusals_.empty() || refusals_.back() != may.message())) refusals_.push_back(may.message());
      last_ = may;
      if (may.ok() || stop_ || Steady::now() >= until_) break;
      if (stop_changed_.wait_for(lock, AskAgainAfter(suspected_), [this] { return stop_; })) break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    over_ = true;
    over_changed_.notify_all();
  }

  WatchCoordination& coordination_;
  const std::string primary_;
  const int64_t epoch_;
  const Steady::time_point suspected_, until_;
  std::mutex mutex_;
  std::condition_variable stop_changed_, over_changed_;
  bool stop_ = false, over_ = false;
  std::optional<Status> last_;
  std::vector<std::string> refusals_;
  std::thread thread_;  // last: starts once everything above is set
};

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
  PoolKeeper(WarmConnections& warm, const std::atomic<bool>& stop, std::function<void(const WatchEvent&)> log)
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
        if (refusals_logged_.insert(r.message()).second) {
          log_(WatchEvent("no-standby-shell", "no standby shell: " + r.message()).With("error", r.message()));
        }
      }
      if (warmed.opened + warmed.standby_locks + warmed.shells > 0) {
        const long long ms = Ms(Steady::now() - start);
        log_(WatchEvent("warm", "warm: " + std::to_string(warmed.idle_sql) + " SQL connections and " +
                                    std::to_string(warmed.idle_ssh) + " SSH sessions ready for a failover (" +
                                    std::to_string(warmed.opened) + " opened, and " +
                                    std::to_string(warmed.standby_locks) + " lock holders and " +
                                    std::to_string(warmed.shells) + " shells started to stand by, in " +
                                    std::to_string(ms) + " ms)")
                 .With("sql_ready", warmed.idle_sql)
                 .With("ssh_ready", warmed.idle_ssh)
                 .With("opened", warmed.opened)
                 .With("duration_ms", ms));
      }
      lock.lock();
    }
  }

  WarmConnections& warm_;
  const std::atomic<bool>& stop_;
  std::function<void(const WatchEvent&)> log_;
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
             std::string topology_path, std::string owner, std::function<void(const WatchEvent&)> log,
             PauseStore* pause)
      : world_(world),
        stop_(stop),
        interval_(interval),
        topology_path_(std::move(topology_path)),
        owner_(std::move(owner)),
        log_(std::move(log)),
        pause_(pause),
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
    // Paused (ops/pause_store.h): the operator works on the cluster by hand; said once per server.
    if (Paused()) {
      if (held_.insert(name).second) {
        log_(WatchEvent("fence-held", name + " answers writable after it was replaced, but the cluster is paused: not " +
                                          "fencing it (fence it by hand, or `replplan watch resume`)")
                 .With("server", name));
      }
      return;
    }
    held_.erase(name);
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
    Status st = executor->Execute(fence, [&](const std::string& line) {
      log_(WatchEvent("step", line).With("action", fence.id).With("server", name));
    });
    const long long ms = Ms(Steady::now() - start);
    log_(st.ok() ? WatchEvent("fenced", "fenced " + name + " (it came back writable after the failover) in " +
                                            std::to_string(ms) + " ms")
                       .With("server", name)
                       .With("duration_ms", ms)
                 : WatchEvent("fence-failed", "could not fence " + name + ", which came back writable: " + st.message())
                       .With("server", name)
                       .With("error", st.message()));
  }
  // Read here, when it matters, not taken from the probe loop's last reading. A record that cannot be
  // read counts as paused (ops/pause_store.h).
  bool Paused() {
    if (pause_ == nullptr) return false;
    auto state = pause_->Read();
    return !state.ok() || state->paused;
  }
  // A fresh connection (a warm one would prove nothing about reaching it now), with short bounds:
  // a TCP connect of 300 ms, so that while the host answers nothing (a partition) each round costs
  // 300 ms, not the 1 s connect a healed host's SYN retransmit could be waiting out (measured: fenced
  // 1.1-1.3 s after a heal with 1 s, the bound being 1 s).
  bool AnswersWritable(const ServerSpec& spec) {
    SessionLimits limits;
    limits.sql_connect_timeout_ms = 300;
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
  std::function<void(const WatchEvent&)> log_;
  PauseStore* pause_;
  std::set<std::string> held_;  // the fence thread's only: servers reported not fenced while paused
  bool done_ = false;  // under mutex_
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::string> names_;
  std::thread thread_;
};

// Reads every replica's receipt from the primary (heartbeats counted, binlog position, GTID) over
// its warm connection, every `every`, while the primary is healthy, into the ReceiptWatch the
// confirm step goes on with: so when the primary goes silent, each replica's silence is already
// counted from the last receipt seen, not from the watcher's suspicion (docs/failover.md,
// "Confirmation"). The same reads feed the replicas' metrics (lag, heartbeat age) when there are
// metrics (`--http`): one reader, one set of connections. Paused while a failover is attempted, so
// that the failover's reads borrow the replicas' warm connections rather than open new ones.
class ReceiptObserver {
 public:
  ReceiptObserver(SessionFactory& sessions, const Topology& topology, ReceiptWatch& receipts, WatchMetrics* metrics,
                  std::chrono::milliseconds every, const std::atomic<bool>& stop)
      : sessions_(sessions), topology_(topology), receipts_(receipts), metrics_(metrics), every_(every), stop_(stop),
        thread_([this] { Loop(); }) {}
  ~ReceiptObserver() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  // No new read from now on; waits (at most kPauseWait) for the one under way to give its
  // connections back. A replica that does not answer keeps its read going: the failover reads it
  // over a connection of its own.
  void Pause() {
    std::unique_lock<std::mutex> lock(mutex_);
    paused_ = true;
    wake_.wait_for(lock, kPauseWait, [this] { return !reading_; });
  }
  void Resume() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      paused_ = false;
    }
    wake_.notify_all();
  }

 private:
  static constexpr std::chrono::milliseconds kPauseWait{50};
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_ && !stop_) {
      if (!paused_) {
        reading_ = true;
        lock.unlock();
        std::vector<ReplicaFacts> facts = CollectReplicaFacts(topology_, sessions_);
        receipts_.Observe(facts);
        if (metrics_) metrics_->ObserveReplicas(facts);
        lock.lock();
        reading_ = false;
        wake_.notify_all();
      }
      wake_.wait_for(lock, every_, [this] { return done_; });
    }
  }

  SessionFactory& sessions_;
  const Topology topology_;
  ReceiptWatch& receipts_;
  WatchMetrics* metrics_;
  const std::chrono::milliseconds every_;
  const std::atomic<bool>& stop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false, paused_ = false, reading_ = false;  // under mutex_
  std::thread thread_;
};

}  // namespace

Status Watch(const World& world, const WatchOptions& options, const std::atomic<bool>& stop) {
  auto emit = [&](const WatchEvent& event) {
    if (options.events) {
      options.events->Emit(event);
    } else if (options.log) {
      options.log(event.message);
    }
  };
  Status last = Status::OK();
  std::optional<Steady::time_point> blocked_until;
  PauseWatch pause(options.pause);
  // Every 200 ms to 1 s, whatever the probe interval: a replaced primary that wakes writable is
  // fenced within that, and a short probe interval does not hammer it with connects.
  FenceGuard guard(world, stop,
                   std::clamp(options.interval, std::chrono::milliseconds(200), std::chrono::milliseconds(1000)),
                   options.topology_path, options.owner, emit, options.pause);
  PoolKeeper keeper(*world.warm, stop, emit);
  struct NotWatching {
    WatchMetrics* metrics;
    ~NotWatching() {
      if (metrics) metrics->SetWatching(false);
    }
  } not_watching{options.metrics};
  WatchCoordination* coordination = options.coordination;
  if (coordination == nullptr) {
    emit(WatchEvent("watching-alone", "watching alone: this watcher is a single point of failure (run several with "
                                      "--etcd)"));
  }
  int failovers = 0;
  std::optional<Loaded> kept;  // the file as last read well: a reload that fails keeps it
  std::string watched;         // the primary watched before the file last changed
  while (!stop) {
    std::string stamp = world.files->Stamp(options.topology_path);
    auto read = Load(*world.files, options.topology_path);
    if (read.ok()) {
      kept = std::move(*read);
    } else if (!kept) {
      return read.status();
    } else {
      emit(WatchEvent("reload-failed", "cannot use the topology file (" + read.status().message() +
                                           "): still watching as the file read before says")
               .With("error", read.status().message()));
    }
    auto loaded = &*kept;
    const ServerSpec& primary = loaded->topology.Primary();
    // Another watcher's failover, written here from etcd: the primary it replaced is guarded here too,
    // so whichever watcher leads when it wakes writable fences it (the guard's lock refuses a standby).
    if (coordination && !watched.empty() && watched != primary.name) guard.Guard(watched);
    watched = primary.name;
    // In the background, never before watching: a server that does not answer must not delay the
    // probe by its connect timeout (after a failover, the old primary's host may be down
    // altogether). What is not warm yet when the primary dies is opened by the failover itself.
    keeper.Keep(loaded->topology, /*now=*/true);
    if (options.metrics) {
      std::vector<std::string> replicas;
      for (const ServerSpec& server : loaded->topology.servers) {
        if (!loaded->topology.IsPrimary(server.name)) replicas.push_back(server.name);
      }
      options.metrics->SetReplicaNames(replicas);
      options.metrics->SetCluster(loaded->topology.cluster.name);
    }
    emit(WatchEvent("watching", "watching " + primary.name + " (" + primary.address + ":" +
                                    std::to_string(primary.mysql.port) + ") every " +
                                    std::to_string(options.interval.count()) +
                                    " ms, and its connection's socket in between")
             .With("primary", primary.name)
             .With("address", primary.address)
             .With("port", primary.mysql.port)
             .With("interval_ms", static_cast<long long>(options.interval.count())));
    Probe probe(primary.name, options.probe_timeout, SessionProbeConnect(*world.sessions, primary, options.probe_timeout));
    // Each replica's receipt from this primary, observed from now on (every probe interval, 100 ms at
    // the most): one connected but sent nothing for longer than the silence bound confirms its loss.
    // The replicas' metrics come from the same reads.
    ReceiptWatch receipts(SilenceBound(loaded->topology.replication));
    ReceiptObserver observer(*world.sessions, loaded->topology, receipts, options.metrics,
                             std::min(options.interval, std::chrono::milliseconds(100)), stop);
    bool reported_blocked = false;
    bool reported_paused = false;
    auto report_paused = [&](const Status& lost, const std::string& when) {
      emit(WatchEvent("failover-paused", "primary " + primary.name + " unreachable (" + lost.message() +
                                             ") but the cluster " + when + ": not failing over; the operator decides")
               .With("primary", primary.name)
               .With("error", lost.message()));
      reported_paused = true;
    };
    while (!stop) {
      Status alive = probe.Check();
      PauseWatch::Reading pause_now = pause.Read();
      const bool paused = pause_now.paused;
      if (pause_now.change) emit(*pause_now.change);
      if (options.metrics) {
        options.metrics->SetPrimary(primary.name, alive.ok());
        options.metrics->SetPaused(paused);
        options.metrics->SetWatching(true);
        if (coordination) {  // alone, it acts (leader 1, no etcd series)
          options.metrics->SetLeader(coordination->Leading());
          options.metrics->SetEtcdUp(coordination->EtcdAnswers());
        }
      }
      if (options.alive) options.alive();
      if (coordination) coordination->Observed(primary.name, loaded->topology.cluster.epoch, alive.ok());
      // etcd's primary rewrites the file (ops/coordination.h): watch the one it names now.
      auto file_changed = [&] { return world.files->Stamp(options.topology_path) != stamp; };
      if (alive.ok()) {
        reported_blocked = false;
        reported_paused = false;
        probe.Wait(options.interval, stop);  // returns at once when the primary's socket closes
        if (options.reload && options.reload->exchange(false)) {
          auto again = Load(*world.files, options.topology_path);
          if (!again.ok()) {
            emit(WatchEvent("reload-failed", "SIGHUP: cannot use the topology file (" + again.status().message() +
                                                 "): still watching as the file read before says")
                     .With("error", again.status().message()));
            continue;
          }
          std::string names;
          for (const ServerSpec& server : again->topology.servers) names += (names.empty() ? "" : ", ") + server.name;
          emit(WatchEvent("reload", "SIGHUP: read " + options.topology_path + " again: cluster " +
                                        again->topology.cluster.name + ", primary " + again->topology.cluster.primary +
                                        ", " + std::to_string(again->topology.servers.size()) + " servers (" + names +
                                        ")")
                   .With("path", options.topology_path)
                   .With("primary", again->topology.cluster.primary)
                   .With("servers", again->topology.servers.size()));
          break;
        }
        // An operator's switchover (or an edit) names another primary: watch that one from now on.
        // A stat first (a microsecond), the file read and parsed only when it changed.
        if (world.files->Stamp(options.topology_path) != stamp) {
          auto now = Load(*world.files, options.topology_path);
          stamp = world.files->Stamp(options.topology_path);
          if (now.ok() && now->text != loaded->text) {
            emit(WatchEvent("topology-changed", "the topology file changed: reading it again"));
            break;
          }
        }
        continue;
      }
      auto suspected = Steady::now();
      if (paused) {
        if (!reported_paused) report_paused(alive, "is paused");
        std::this_thread::sleep_for(options.interval);
        continue;
      }
      if (blocked_until && suspected < *blocked_until) {
        if (!reported_blocked) {
          emit(WatchEvent("failover-blocked", "primary " + primary.name + " unreachable (" + alive.message() +
                                                  ") but a failover happened less than the block period ago: not " +
                                                  "failing over again; the operator decides")
                   .With("primary", primary.name)
                   .With("error", alive.message()));
          reported_blocked = true;
        }
        std::this_thread::sleep_for(options.interval);
        continue;
      }
      if (coordination && !coordination->Leading()) {
        if (!reported_blocked) {
          emit(WatchEvent("standby", "primary " + primary.name + " unreachable (" + alive.message() +
                                         "): " + coordination->StandbyReason())
                   .With("primary", primary.name)
                   .With("error", alive.message()));
          reported_blocked = true;
        }
        std::this_thread::sleep_for(std::min(options.interval, std::chrono::milliseconds(100)));
        if (file_changed()) break;
        continue;
      }
      emit(WatchEvent("primary-unreachable", "primary " + primary.name + " unreachable: " + alive.message() +
                                                 (coordination ? "; asking the other watchers and the replicas"
                                                               : "; asking the replicas"))
               .With("primary", primary.name)
               .With("error", alive.message())
               .With("silent", probe.silent()));
      // The replicas may notice a moment after us: ask again until slave_net_timeout + 2 s.
      auto deadline = suspected + std::chrono::seconds(loaded->topology.replication.slave_net_timeout + 2);
      std::optional<MoveOutcome> outcome;
      const SessionPool::Stats before = world.warm->stats();
      // The probe's verdict stands in for the confirm step's own check of the primary while the
      // probe left in flight stays unanswered (re-checked before each attempt, without waiting).
      const std::string silent = probe.silent() ? "silent: " + alive.message() + " (the watcher's probe)" : "";
      bool answers_again = false;
      observer.Pause();  // the attempts read the replicas every 10 ms themselves, into the same receipts
      bool paused_meanwhile = false;
      std::string refused;  // the watchers' last reason not to fail over yet (ops/watch_coordination.h)
      // The first attempt asks the watchers beside the replicas (MajorityAsk); once they refused,
      // they are asked first and alone, and the replicas only after they agree: a watcher cut off
      // from the primary alone asks the replicas once.
      bool watchers_first = false;
      auto say_refused = [&](const std::string& why) {
        if (why == refused) return;  // each reason once
        emit(WatchEvent("not-failing-over", "not failing over: " + why).With("reason", why));
        refused = why;
      };
      for (;;) {
        if (!silent.empty() && probe.AnsweredAgain()) {
          answers_again = true;
          break;
        }
        // Paused while the replicas are asked (an attempt not confirmed changed nothing): no more.
        if (PauseWatch::Reading now = pause.Read(); now.paused) {
          if (now.change) emit(*now.change);
          paused_meanwhile = true;
          break;
        }
        if (coordination && watchers_first) {
          Status may = coordination->MayFailOver(primary.name, loaded->topology.cluster.epoch);
          if (!may.ok()) {
            say_refused(may.message());
            if (Steady::now() >= deadline || stop || file_changed()) break;
            std::this_thread::sleep_for(AskAgainAfter(suspected));
            continue;
          }
        }
        std::optional<MajorityAsk> beside;
        MoveRequest request;
        if (coordination && !watchers_first) {
          beside.emplace(*coordination, primary.name, loaded->topology.cluster.epoch, suspected,
                         std::max(suspected + std::chrono::milliseconds(200), Steady::now() + std::chrono::milliseconds(100)));
          request.before_changes = [&beside] { return beside->Wait(); };
        }
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
        if (beside) {
          // Joined before FailoverEnded: no ask of the watchers outlives the attempt it was for.
          // Refused when the attempt ended (held back, or stopped by the replicas first): the
          // watchers' reasons are said, and they are asked first from now on. Refused a few times
          // before a majority came in time: nothing held back, nothing to say.
          Status may = beside->Stop();
          if (!may.ok()) {
            for (const std::string& why : beside->Refusals()) say_refused(why);
            coordination->FailoverEnded(attempt);  // held back or refused before its first change: nothing begun
            watchers_first = true;
            if (Steady::now() >= deadline || stop || file_changed()) break;
            std::this_thread::sleep_for(AskAgainAfter(suspected));
            continue;
          }
        }
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
      observer.Resume();
      if (paused_meanwhile) {
        report_paused(alive, "was paused while the replicas were asked");
        continue;
      }
      if (!outcome && !answers_again) {  // the watchers' coordination said no
        std::this_thread::sleep_for(std::min(options.interval, std::chrono::milliseconds(100)));
        if (file_changed()) break;
        continue;
      }
      if (answers_again) {
        const long long after = Ms(Steady::now() - suspected);
        emit(WatchEvent("primary-answers-again",
                        "primary " + primary.name + " answers again after " + std::to_string(after) + " ms: not failing over")
                 .With("primary", primary.name)
                 .With("after_ms", after));
        continue;
      }
      const long long took = Ms(Steady::now() - suspected);
      emit(WatchEvent("detection", "detection: " + std::to_string(took) + " ms from the failed probe to the end of the " +
                                       "failover attempt")
               .With("duration_ms", took));
      SessionPool::Stats used = world.warm->stats();
      emit(WatchEvent("connections", "connections: " + std::to_string(used.sql_lent - before.sql_lent) + " SQL and " +
                                         std::to_string(used.ssh_lent - before.ssh_lent) + " SSH borrowed warm, " +
                                         std::to_string(used.sql_opened - before.sql_opened) + " SQL and " +
                                         std::to_string(used.ssh_opened - before.ssh_opened) +
                                         " SSH opened during the failover")
               .With("sql_borrowed", static_cast<long long>(used.sql_lent - before.sql_lent))
               .With("ssh_borrowed", static_cast<long long>(used.ssh_lent - before.ssh_lent))
               .With("sql_opened", static_cast<long long>(used.sql_opened - before.sql_opened))
               .With("ssh_opened", static_cast<long long>(used.ssh_opened - before.ssh_opened)));
      const bool proceeded = outcome->decision && outcome->decision->proceed;
      emit(WatchEvent(proceeded ? "failover" : "failover-refused", RenderMoveReport(*outcome))
               .With("from", outcome->from)
               .With("to", outcome->to)
               .With("ok", outcome->status.ok())
               .With("result", outcome->status.ok() ? std::string("done") : outcome->status.message())
               .With("decision", outcome->decision ? (proceeded ? outcome->decision->confirmation
                                                                 : outcome->decision->refusal)
                                                   : outcome->status.message())
               .With("duration_ms", took));
      if (proceeded) {
        if (options.metrics) options.metrics->FailoverEnded(std::chrono::system_clock::now(), std::chrono::milliseconds(took));
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
