#include "cli/status_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/cli_support.h"
#include "ops/status.h"

namespace replplan::cli {
namespace {

std::atomic<bool> g_stop_status{false};
extern "C" void OnStatusStopSignal(int) { g_stop_status = true; }

void Print(const ops::StatusReport& report, bool json) {
  if (json) {
    std::cout << ops::RenderStatusJson(report) << "\n";
  } else {
    std::cout << ops::RenderStatusText(report);
  }
  std::cout.flush();
}

}  // namespace

int RunStatusCommand(const StatusCommand& command) {
  ops::LiveWorld live;
  auto loaded = ops::LoadTopologyForServers(live.world(), command.path, PrintDiagnostic, PrintWarning);
  if (!loaded.ok()) {
    Fail(loaded.status());
    return ops::kStatusUnknownExit;
  }
  if (!command.watch) {
    ops::StatusReport report = ops::ReadStatus(live.world(), *loaded, command.parallelism);
    Print(report, command.json);
    return ops::StatusExitCode(report);
  }
  std::signal(SIGINT, OnStatusStopSignal);
  std::signal(SIGTERM, OnStatusStopSignal);
  // In place on a terminal (home, clear); one report after another (JSON: one a line) otherwise.
  const bool terminal = !command.json && isatty(STDOUT_FILENO);
  int code = ops::kStatusUnknownExit;
  ops::ConditionHistory history;  // since when each condition has been seen, by this watch
  while (!g_stop_status) {
    ops::StatusReport report = ops::ReadStatus(live.world(), *loaded, command.parallelism);
    history.Observe(report);
    code = ops::StatusExitCode(report);
    if (terminal) std::cout << "\x1b[H\x1b[2J";
    Print(report, command.json);
    if (!terminal && !command.json) std::cout << "\n";
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(command.interval_ms);
    while (!g_stop_status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return code;
}

}  // namespace replplan::cli
