// Planner scaling: a synthetic cluster of N servers (one primary, N-1 fresh replicas, all state in
// memory, no I/O) planned end to end (diff, graph, execution order, fingerprint). Runs 1,000 then
// 10,000 servers in one process and prints the time ratio: ~10 means linear, ~100 quadratic.
// Peak RSS (getrusage ru_maxrss) is read after each run; the 1,000 run goes first so its peak is
// its own. Targets: 10,000 servers under 1 s and 200 MB.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "engine/plan.h"
#include "engine/planner.h"
#include "engine/planner_fixtures.h"

namespace replplan {
namespace {

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Run {
  double seconds = 0;
  double peak_mb = 0;
  double inputs_mb = 0;  // peak before planning: the topology and live state themselves
  size_t actions = 0;
};

Run PlanServers(size_t n) {
  Topology t = testing::SyntheticTopology(n);
  LiveState live = testing::SyntheticFreshLive(t);
  double inputs_mb = PeakRssMb();
  auto begin = std::chrono::steady_clock::now();
  auto plan = BuildPlan(t, live);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (!plan.ok()) {
    std::fprintf(stderr, "plan failed: %s\n", plan.status().message().c_str());
    std::exit(1);
  }
  return {seconds, PeakRssMb(), inputs_mb, plan->actions.size()};
}

}  // namespace
}  // namespace replplan

int main() {
  using replplan::PlanServers;
  auto small = PlanServers(1000);
  auto large = PlanServers(10000);
  std::printf("plan 10000 servers: %.2f s, peak RSS %.0f MB, %zu actions; 1000 servers: %.3f s, peak RSS %.0f MB; "
              "ratio %.1f (linear = 10)\n(peak RSS before planning 10000 servers, inputs only: %.0f MB)\n",
              large.seconds, large.peak_mb, large.actions, small.seconds, small.peak_mb,
              large.seconds / small.seconds, large.inputs_mb);
  return 0;
}
