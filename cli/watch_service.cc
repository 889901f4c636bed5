#include "cli/watch_service.h"

#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>

#include "cli/cli_support.h"
#include "providers/etcd/etcd_store.h"
#include "engine/terminal_text.h"
#include "ops/watch_events.h"
#include "providers/http/metrics_server.h"
#include "providers/local/systemd_notify.h"

namespace replplan::cli {
namespace {

std::atomic<bool> g_reload{false};
extern "C" void OnReloadSignal(int) { g_reload = true; }

// Every event on stdout, one whole line (or, in text, one report) at a time: the watcher's threads
// (probe loop, fence guard, pool keeper, the failover's actions) all write here.
class StdoutEvents : public ops::WatchEventSink {
 public:
  explicit StdoutEvents(bool json) : json_(json) {}
  void Emit(const ops::WatchEvent& event) override {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    if (json_) {
      std::cout << ops::RenderEventJson(event, now) << std::endl;
    } else {
      std::cout << ops::IsoTimeMillis(now) << " " << TerminalSafeLines(event.message) << std::endl;
    }
  }

 private:
  bool json_;
  std::mutex mutex_;
};

// The failover's actions as "step" events (the JSON log's counterpart of ConsoleObserver's lines).
class StepEvents : public ApplyObserver {
 public:
  explicit StepEvents(ops::WatchEventSink& sink) : sink_(sink) {}
  void Started(const Action& action) override { sink_.Emit(Step(action, "started", "started")); }
  void Progress(const Action& action, const std::string& line) override {
    sink_.Emit(Step(action, "progress", line));
  }
  void Finished(const Action& action, const ActionOutcome& outcome) override {
    const long long ms = outcome.duration.count();
    const bool done = outcome.state == ActionOutcome::State::kDone;
    ops::WatchEvent event = Step(action, done ? "done" : "failed",
                                 done ? "done in " + std::to_string(ms) + " ms"
                                      : "FAILED after " + std::to_string(ms) + " ms: " + outcome.status.message());
    event.With("duration_ms", ms);
    if (!done) event.With("error", outcome.status.message());
    sink_.Emit(event);
  }

 private:
  static ops::WatchEvent Step(const Action& action, const std::string& state, const std::string& what) {
    return ops::WatchEvent("step", action.host + " " + action.id + " " + what)
        .With("server", action.host)
        .With("action", action.id)
        .With("kind", ToString(action.kind))
        .With("state", state);
  }
  ops::WatchEventSink& sink_;
};

}  // namespace

struct WatchService::Impl {
  std::unique_ptr<StdoutEvents> events;
  std::unique_ptr<ApplyObserver> observer;
  ops::WatchMetrics metrics;
  std::unique_ptr<ops::LocalPauseStore> pause;
  std::unique_ptr<MetricsServer> http;
  std::optional<std::chrono::microseconds> watchdog;
  bool ready = false;
  std::chrono::steady_clock::time_point last_ping{};
};

WatchService::WatchService() : impl_(std::make_unique<Impl>()) {}

WatchService::~WatchService() {
  impl_->metrics.SetWatching(false);
  if (impl_->ready) NotifyServiceManager("STOPPING=1");
}

Status WatchService::Start(const std::string& topology_path, const WatchServiceFlags& flags,
                           ops::WatchOptions& options) {
  Impl& s = *impl_;
  const bool json = flags.log_format == "json";
  s.events = std::make_unique<StdoutEvents>(json);
  if (json) {
    s.observer = std::make_unique<StepEvents>(*s.events);
  } else {
    s.observer = std::make_unique<ConsoleObserver>();
  }
  options.events = s.events.get();
  options.observer = s.observer.get();
  s.pause = std::make_unique<ops::LocalPauseStore>(ops::PauseFilePath(topology_path, flags.state_dir));
  options.pause = s.pause.get();
  if (!flags.http.empty()) {
    ops::WatchMetrics* metrics = &s.metrics;
    auto server = MetricsServer::Start(flags.http, MetricsEndpoint{[metrics] { return metrics->Render(); },
                                                                   [metrics] { return metrics->watching(); }});
    if (!server.ok()) return server.status();
    s.http = std::move(*server);
    // Only for the endpoint: the metrics come from the reads watch makes anyway (no more connections).
    options.metrics = &s.metrics;
    s.events->Emit(ops::WatchEvent("http", "serving /metrics and /health on " + flags.http)
                       .With("address", flags.http)
                       .With("port", s.http->port()));
  }
  // SIGHUP: read the file again at the next probe interval (systemctl reload).
  struct sigaction hup {};
  hup.sa_handler = OnReloadSignal;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
  options.reload = &g_reload;
  // systemd: READY=1 after the first probe of the primary, WATCHDOG=1 from the loop, often enough.
  s.watchdog = ServiceWatchdogTimeout();
  if (s.watchdog && std::chrono::duration_cast<std::chrono::microseconds>(options.interval) * 2 > *s.watchdog) {
    s.events->Emit(ops::WatchEvent("warning", "the probe interval (" + std::to_string(options.interval.count()) +
                                                  " ms) is more than half of WatchdogSec (" +
                                                  std::to_string(s.watchdog->count() / 1000) +
                                                  " ms): systemd may restart the watcher between two probes; lower "
                                                  "--interval-ms or raise WatchdogSec"));
  }
  options.alive = [&s] {
    const auto now = std::chrono::steady_clock::now();
    if (!s.ready) {
      s.ready = true;
      NotifyServiceManager("READY=1\nSTATUS=watching");
      s.last_ping = now;
      if (s.watchdog) NotifyServiceManager("WATCHDOG=1");
      return;
    }
    if (s.watchdog && now - s.last_ping >= *s.watchdog / 4) {
      s.last_ping = now;
      NotifyServiceManager("WATCHDOG=1");
    }
  };
  return Status::OK();
}

int RunWatchPauseCommand(const PauseCommand& command, bool pause) {
  auto loaded = LoadTopology(command.path);  // the file must be a topology: a typo pauses nothing
  if (!loaded.ok()) return Fail(loaded.status());
  auto etcd = EtcdWatchFrom(command.etcd, loaded->topology.watch);
  if (!etcd.ok()) return Fail(etcd.status());
  std::unique_ptr<KvStore> kv;
  std::unique_ptr<ops::PauseStore> owned;
  if (*etcd) {  // several watchers: the record every one of them reads
    kv = MakeEtcdStore((*etcd)->etcd);
    owned = std::make_unique<ops::KvPauseStore>(*kv, ops::EtcdPrefix((*etcd)->prefix, loaded->topology.cluster.name) +
                                                         "pause");
  } else {
    // Owned like the topology file (the watcher's user rewrites it): a record root writes stays readable.
    const std::string& state_dir = command.state_dir.empty() ? loaded->topology.watch.state_dir : command.state_dir;
    owned = std::make_unique<ops::LocalPauseStore>(ops::PauseFilePath(command.path, state_dir), command.path);
  }
  ops::PauseStore& store = *owned;
  ops::PauseState state;
  state.paused = pause;
  state.reason = pause ? command.reason : "";
  state.by = OwnerName(pause ? "watch pause" : "watch resume");
  state.since = UtcNowMillis();
  Status written = store.Write(state);
  if (!written.ok()) return Fail(written);
  const std::string cluster = loaded->topology.cluster.name;
  if (pause) {
    std::cout << TerminalSafe("paused cluster \"" + cluster + "\" (" + store.Where() +
                              "): every running watcher reports and fails nothing over, fences nothing, from its "
                              "next probe on; `replplan watch resume " + command.path + "` ends it")
              << "\n";
  } else {
    std::cout << TerminalSafe("resumed cluster \"" + cluster + "\" (" + store.Where() +
                              "): every running watcher fails over again from its next probe on")
              << "\n";
  }
  return kExitOk;
}

}  // namespace replplan::cli
