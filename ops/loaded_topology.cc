#include "ops/loaded_topology.h"

#include "engine/fingerprint.h"
#include "engine/planner.h"
#include "engine/topology_parser.h"

namespace replplan::ops {

Result<LoadedTopology> LoadTopology(Files& files, const std::string& path, const DiagnosticSink& diagnostic) {
  auto text = files.Read(path);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, path);
  if (!parse.ok()) {
    if (diagnostic) {
      for (const Diagnostic& d : parse.errors) diagnostic(d);
    }
    return Status::InvalidArgument(std::to_string(parse.errors.size()) + " error" +
                                   (parse.errors.size() == 1 ? "" : "s") + " in " + path);
  }
  return LoadedTopology{std::move(parse.topology), ContentDigest(*text), path, *text};
}

Result<LoadedTopology> LoadTopologyForServers(const World& world, const std::string& path,
                                              const DiagnosticSink& diagnostic, const WarningSink& warning) {
  auto loaded = LoadTopology(*world.files, path, diagnostic);
  if (!loaded.ok()) return loaded;
  // The statements replplan reads and changes servers with are MariaDB's (SHOW ALL SLAVES STATUS,
  // gtid_slave_pos, mariadb-dump, semi-sync built in): against MySQL every read would fail, host by
  // host. Said once, up front, instead.
  if (loaded->topology.cluster.flavor == Flavor::kMySQL) {
    return Status::FailedPrecondition(path + ": flavor = \"mysql\" is validated but not driven yet: replplan reads "
                                      "and changes MariaDB servers only (its statements are MariaDB's); nothing "
                                      "was contacted");
  }
  // Every secret is resolved before any host is contacted: one that is missing would otherwise
  // surface host by host, after some hosts were already changed. All problems are said at once.
  SecretCheck secrets = world.secrets->Check(loaded->topology);
  if (warning) {
    for (const std::string& w : secrets.warnings) warning(w);
  }
  if (!secrets.ok()) return secrets.ToStatus();
  return loaded;
}

Result<Plan> PlanLive(const World& world, const LoadedTopology& loaded, int parallelism, const ReadSink& on_read) {
  ReadStats stats;
  LiveState live = world.live->Read(loaded.topology, parallelism, stats);
  if (on_read) on_read(live, stats);
  auto plan = BuildPlan(loaded.topology, live);
  if (!plan.ok()) return plan.status();
  plan->topology_digest = loaded.digest;
  plan->created_at = UtcSeconds(world.clock->Now());
  return plan;
}

}  // namespace replplan::ops
