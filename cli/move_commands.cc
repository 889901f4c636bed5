#include "cli/move_commands.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>

#include "cli/cli_support.h"
#include "engine/terminal_text.h"
#include "ops/coordination.h"
#include "ops/move.h"
#include "ops/watch.h"
#include "ops/world.h"

namespace replplan::cli {
namespace {

// Approval as for apply: "yes" on a terminal, or --yes; never silently without a terminal.
std::function<bool(const Plan&)> Approval(bool yes, bool& refused_no_tty) {
  if (yes) return nullptr;
  return [&refused_no_tty](const Plan& plan) {
    if (!isatty(STDIN_FILENO)) {
      refused_no_tty = true;
      return false;
    }
    return Confirm(plan);
  };
}

int Run(const MoveCommand& command, bool failover) {
  auto loaded = LoadTopologyForServers(command.path);
  if (!loaded.ok()) return Fail(loaded.status());
  ConsoleObserver observer;
  bool no_tty = false;
  ops::MoveRequest request;
  request.topology_path = loaded->path;
  request.topology_text = loaded->text;
  request.topology = loaded->topology;
  request.parallelism = command.parallelism;
  request.min_confirmations = command.min_confirmations;
  request.owner = OwnerDescription(failover ? "failover" : "switchover");
  request.observer = &observer;
  request.approve = Approval(command.yes, no_tty);
  request.allow_destructive = command.allow_destructive;
  request.say = [](const std::string& text) { std::cout << TerminalSafeLines(text) << std::flush; };
  ops::LiveWorld live(nullptr, ExtraProbes::kNever);  // a promotion's read: no extra SSH probe
  ops::MoveOutcome outcome =
      failover ? ops::Failover(live.world(), request) : ops::Switchover(live.world(), request, command.to);
  if (no_tty) {
    return Fail(Status::FailedPrecondition(std::string(failover ? "failover" : "switchover") +
                                           " needs approval: run it on a terminal, or pass --yes"));
  }
  std::cout << TerminalSafeLines(ops::RenderMoveReport(outcome));
  if (!outcome.status.ok()) return Fail(outcome.status);
  return kExitOk;
}

}  // namespace

int RunSwitchoverCommand(const MoveCommand& command) { return Run(command, false); }
int RunFailoverCommand(const MoveCommand& command) { return Run(command, true); }

namespace {
std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }
}  // namespace

int RunWatchCommand(const WatchCommand& command) {
  auto loaded = LoadTopologyForServers(command.path);
  if (!loaded.ok()) return Fail(loaded.status());
  auto etcd = EtcdWatchFrom(command.etcd, loaded->topology.watch);
  if (!etcd.ok()) return Fail(etcd.status());
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  ops::WatchOptions options;
  options.topology_path = command.path;
  options.interval = std::chrono::milliseconds(command.interval_ms);
  options.probe_timeout = std::chrono::milliseconds(command.probe_timeout_ms);
  options.block_period = std::chrono::seconds(command.block_period_s);
  options.min_confirmations = command.min_confirmations;
  options.max_failovers = command.max_failovers;
  options.parallelism = command.parallelism;
  options.owner = OwnerDescription("watch");
  options.allow_destructive = command.allow_destructive;
  // Events (text or JSON), observer, metrics and /metrics, the pause record, sd_notify, SIGHUP.
  WatchService service;
  WatchServiceFlags flags = command.service;  // the flags win over the file's [watch]
  if (flags.http.empty()) flags.http = loaded->topology.watch.http;
  if (flags.state_dir.empty()) flags.state_dir = loaded->topology.watch.state_dir;
  Status started = service.Start(command.path, flags, options);
  if (!started.ok()) return Fail(started);
  Status status = *etcd ? ops::WatchOnEtcd(options, **etcd, g_stop) : ops::Watch(options, g_stop);
  if (!status.ok()) return Fail(status);
  return kExitOk;
}

}  // namespace replplan::cli
