// The planner: for each server, what differs between the topology and the live state, as actions
// with reasons in the operator's words, then the "must happen before" edges between them.
//
// This file is the order of the rules; the rules themselves are in engine/planner/, one file per
// family (rules.h lists them), over a small core (engine/planner/builder.h) that holds the actions,
// their slots, the edges and the host reports.
//
// Built in two passes so dependencies can point at any host whatever the file order: pass one adds
// every action (hosts in file order, so the stable execution order follows the file), pass two
// links them. An action that would wait for an action of an unreadable host simply finds no such
// action and does not wait: nothing is planned on what could not be read.
#include "engine/planner.h"

#include "engine/cluster_epoch.h"
#include "engine/conditions.h"
#include "engine/fingerprint.h"
#include "engine/planner/builder.h"
#include "engine/planner/context.h"
#include "engine/planner/rules.h"

namespace replplan {
namespace {

using planner::PlanBuilder;
using planner::PlanContext;

const char* FlavorName(Flavor f) { return f == Flavor::kMariaDB ? "mariadb" : "mysql"; }
const char* ModeName(ReplicationMode m) { return m == ReplicationMode::kGtid ? "gtid" : "file"; }

// Every rule of one host, in the order its actions enter the plan.
void PlanHost(const PlanContext& ctx, size_t index, PlanBuilder& plan) {
  const ServerSpec& spec = ctx.spec(index);
  HostReport& report = plan.report(index);
  report.name = spec.name;
  report.address = spec.address;
  report.role = index == ctx.primary_index() ? "primary" : "replica";
  const ServerState* s = ctx.state(index);
  if (s == nullptr) {
    report.sql_error = "not read";
    report.ssh_error = "not read";
    return;
  }
  report.sql_ok = s->sql_ok;
  report.sql_error = s->sql_ok ? "" : s->sql_error;
  report.ssh_ok = s->ssh_ok;
  report.ssh_error = s->ssh_ok ? "" : s->ssh_error;

  const planner::Server server = ctx.server(index);
  bool restart_planned = planner::PlanConfig(ctx, server, plan);
  if (s->sql_ok) {
    planner::PlanPromotion(ctx, server, plan);
    planner::PlanFence(ctx, server, plan);
    planner::PlanRuntime(ctx, server, restart_planned, plan);
    planner::PlanReplicationUser(ctx, server, plan);
    if (server.is_primary) {
      planner::PlanForgetSources(ctx, server, plan);
      planner::PlanInjectEmpty(ctx, server, plan);
      if (!planner::ErrantUnresolvedAnywhere(ctx)) {
        planner::PlanPrimaryObjects(ctx, server, plan);
      } else {
        report.notes.push_back("no replicated statement (declared databases, users, grants) is planned on " +
                               spec.name + " while a replica's errant transactions are unresolved: it would collide "
                               "with them (1950)");
      }
    } else if (!planner::PlanRejoin(ctx, server, plan) && !planner::PlanErrantReplica(ctx, server, plan)) {
      planner::PlanReplica(ctx, server, plan);
    }
  } else {
    planner::NoteRuntimeUnknown(ctx, spec, restart_planned, report);
  }
  plan.Flush(index);
}

struct Planned {
  ActionGraph graph;
  std::vector<HostReport> hosts;
  std::optional<PrimaryChange> primary_change;
};

Result<Planned> RunRules(const Topology& topology, const LiveState& live, const PlanOptions& options) {
  PlanContext ctx(topology, live, options);
  if (!ctx.has_primary()) {
    return Status::InvalidArgument("primary '" + topology.cluster.primary + "' is not a server of the topology");
  }
  if (Status st = CheckFileIsCurrent(topology, live, options.file_primary); !st.ok()) return st;
  auto move = planner::DetectPrimaryChange(ctx);
  if (!move.ok()) return move.status();
  ctx.SetPrimaryMove(*move);

  PlanBuilder plan(ctx.size());
  for (size_t i = 0; i < ctx.size(); ++i) PlanHost(ctx, i, plan);
  if (Status st = planner::RefuseDestructiveOnLiveSource(ctx, plan.graph()); !st.ok()) return st;
  std::vector<planner::AppSteps> apps = planner::PlanApps(ctx, plan);
  for (size_t i = 0; i < ctx.size(); ++i) planner::LinkHost(ctx, i, plan);
  planner::LinkRestarts(ctx, plan);
  planner::LinkApps(ctx, apps, plan);
  auto [graph, hosts] = std::move(plan).Release();
  return Planned{std::move(graph), std::move(hosts), ctx.change()};
}

}  // namespace

Result<ActionGraph> BuildActionGraph(const Topology& topology, const LiveState& live, const PlanOptions& options) {
  auto planned = RunRules(topology, live, options);
  if (!planned.ok()) return planned.status();
  return std::move(planned->graph);
}

Result<Plan> BuildPlan(const Topology& topology, const LiveState& live, const PlanOptions& options) {
  auto planned = RunRules(topology, live, options);
  if (!planned.ok()) return planned.status();
  const ActionGraph& graph = planned->graph;
  auto order = graph.ExecutionOrder();
  if (!order.ok()) return order.status().WithContext("internal planner error");

  Plan plan;
  plan.topology_file = topology.file;
  plan.cluster = topology.cluster.name;
  plan.primary = topology.cluster.primary;
  plan.flavor = FlavorName(topology.cluster.flavor);
  plan.replication_mode = ModeName(topology.replication.mode);
  plan.hosts = std::move(planned->hosts);
  plan.primary_change = planned->primary_change;
  plan.conditions = Diagnose(topology, live);
  std::vector<std::vector<std::string>> depends_on(graph.size());
  for (size_t index = 0; index < graph.size(); ++index) {
    for (size_t dep : graph.DependenciesOf(index)) depends_on[index].push_back(graph.at(dep).id);
  }
  std::vector<Action> actions = std::move(planned->graph).ReleaseActions();
  planned->graph = ActionGraph();  // free the edges and the id index before the plan grows
  plan.actions.reserve(order->size());
  for (size_t index : *order) {
    plan.actions.push_back({std::move(actions[index]), std::move(depends_on[index])});
  }
  plan.state_fingerprint = StateFingerprint(live);
  return plan;
}

}  // namespace replplan
