// What the CLI's commands share: reading the topology, reading the live state and planning,
// printing an apply's timeline, asking for approval. Output only; the work is in engine/,
// providers/ and ops/.
#pragma once

#include <mutex>
#include <string>

#include "engine/applier.h"
#include "engine/live_state.h"
#include "engine/plan.h"
#include "engine/status.h"
#include "engine/source_location.h"
#include "engine/topology.h"
#include "ops/loaded_topology.h"

namespace replplan::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitChanges = 2;

std::string UtcNow();        // ISO 8601 UTC, seconds
std::string UtcNowMillis();  // ISO 8601 UTC with milliseconds: 2026-11-25T17:10:12.345Z

using ops::LoadedTopology;

// Reads and validates the topology; prints every diagnostic on stderr.
Result<LoadedTopology> LoadTopology(const std::string& path);

// ops::LoadTopologyForServers over the local files and secrets, its diagnostics and warnings on
// stderr: a cluster whose flavor replplan cannot yet drive is refused before any connection, and
// so is one whose secrets cannot all be resolved.
Result<LoadedTopology> LoadTopologyForServers(const std::string& path);

// How the commands show what ops/ reports on stderr: a topology file's diagnostic, a warning, and
// (with --verbose) each read of the live state with its timings.
void PrintDiagnostic(const Diagnostic& diagnostic);
void PrintWarning(const std::string& warning);
ops::ReadSink ReadStatsPrinter(int parallelism, bool verbose);

// Prints "replplan: <message>" on stderr; returns kExitError.
int Fail(const Status& status);

Result<Plan> PlanLive(const LoadedTopology& loaded, int parallelism, bool verbose);

// Prints each action's start, progress and end with its host and duration, one line each, so a log
// of an apply reads as a timeline.
class ConsoleObserver : public ApplyObserver {
 public:
  void Started(const Action& action) override { Line(action, "started"); }
  void Progress(const Action& action, const std::string& line) override { Line(action, line); }
  void Finished(const Action& action, const ActionOutcome& outcome) override {
    std::string ms = std::to_string(outcome.duration.count()) + " ms";
    if (outcome.state == ActionOutcome::State::kDone) {
      Line(action, "done in " + ms);
    } else {
      Line(action, "FAILED after " + ms + ": " + outcome.status.message());
    }
  }

 private:
  void Line(const Action& action, const std::string& what);
  std::mutex mutex_;
};


// Asks on the terminal; anything but "yes" declines.
bool Confirm(const Plan& plan);

// "replplan apply by root@host (pid N) since T": who holds the cluster lock.
std::string OwnerDescription(const std::string& command = "apply");
// The same without " since T" (ops/apply.h adds it when it takes the lock).
std::string OwnerName(const std::string& command = "apply");

}  // namespace replplan::cli
