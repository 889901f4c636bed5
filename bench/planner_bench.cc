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

namespace replplan {
namespace {

Topology SyntheticTopology(size_t n) {
  Topology t;
  t.file = "synthetic.toml";
  t.cluster.name = "bench";
  for (size_t i = 0; i < n; ++i) {
    ServerSpec s;
    s.name = "db" + std::to_string(i);
    s.address = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    s.bind_address = s.address;
    s.server_id = static_cast<uint32_t>(i + 1);
    s.log_bin = "/var/log/mysql/mysql-bin.log";
    t.servers.push_back(std::move(s));
  }
  t.cluster.primary = t.servers.front().name;
  t.databases.push_back({"app", "utf8mb4", "", {}});
  UserSpec app;
  app.name = "app";
  GrantSpec all;
  all.privileges = {"ALL PRIVILEGES"};
  all.database = "app";
  all.table = "*";
  all.text = "ALL PRIVILEGES ON `app`.*";
  app.grants.push_back(all);
  t.users.push_back(app);
  return t;
}

LiveState FreshState(const Topology& t) {
  LiveState live;
  for (const ServerSpec& spec : t.servers) {
    ServerState s;
    s.name = spec.name;
    s.sql_ok = true;
    s.server_id = 1;
    s.log_bin = false;
    s.binlog_format = "MIXED";
    s.bind_address = spec.address;
    s.read_only = false;
    s.log_slave_updates = false;
    s.gtid_strict_mode = false;
    s.users = {{"root", "localhost", "unix_socket", {"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"}}};
    s.ssh_ok = true;
    s.config_exists = true;
    s.config = {{"bind_address", spec.address}};
    live.servers.emplace(spec.name, std::move(s));
  }
  return live;
}

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
  Topology t = SyntheticTopology(n);
  LiveState live = FreshState(t);
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
