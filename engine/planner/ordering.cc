// Ordering: the "must happen before" edges, added once every action is planned, so an edge may
// point at any host whatever the file order. A host links to its own actions and to the file's
// primary's; the new primary of a move also waits for the old one's fence. The one walk over every
// server is the primary's semi-sync step, which waits for all replicas: linking stays linear.
#include <cstdint>
#include <optional>

#include "engine/planner/rules.h"

namespace replplan::planner {
namespace {

void LinkPromotion(const PlanContext& ctx, size_t index, PlanBuilder& plan) {
  const HostActions& h = plan.slots(index);
  if (!ctx.change()) {
    plan.Depend(h.change, {h.fence});
    plan.Depend(h.seed, {h.fence});
    return;
  }
  const HostActions& p = plan.slots(ctx.primary_index());
  if (index == ctx.primary_index()) {
    const HostActions& o = plan.slots(ctx.old_primary_index());
    plan.Depend(h.catch_up, {o.fence});
    plan.Depend(h.promote, {h.catch_up, h.restart, h.set_global, h.repl_user, h.repl_grant});
    for (size_t object : h.objects) plan.Depend(object, {h.promote});
    return;
  }
  // The old primary is fenced only once the new one is ready to take over: the shortest time
  // without a writable primary.
  plan.Depend(h.fence, {p.edit, p.restart, p.set_global, p.repl_user, p.repl_grant});
  plan.Depend(h.change, {p.promote, h.fence});
  plan.Depend(h.seed, {p.promote, h.fence});
  plan.Depend(h.start, {p.promote});
}

}  // namespace

void LinkHost(const PlanContext& ctx, size_t index, PlanBuilder& plan) {
  const HostActions& h = plan.slots(index);
  plan.Depend(h.restart, {h.edit});
  plan.Depend(h.semi_sync_on, {h.restart, h.set_global, h.promote});
  plan.Depend(h.semi_sync_on, h.objects);
  // Only the primary turns semi-sync on: every other host skips this walk over all servers, which
  // made planning quadratic in the number of servers (10,000 servers: 14.6 s).
  if (h.semi_sync_on != kNone) {
    for (size_t other = 0; other < ctx.size(); ++other) {
      if (other == index) continue;
      const HostActions& o = plan.slots(other);
      plan.Depend(h.semi_sync_on, {o.start, o.set_global});
    }
  }
  LinkPromotion(ctx, index, plan);
  // The primary stops following anyone before it becomes writable.
  plan.Depend(h.set_global, {h.restart});
  plan.Depend(h.set_global, h.resets);
  plan.Depend(h.repl_user, {h.restart});
  plan.Depend(h.repl_grant, {h.restart});
  if (index == ctx.primary_index()) {
    // Empty transactions need the binary log on (a restart may turn it on); a replicated statement
    // comes after them, or it would take the errant GTIDs' numbers and collide.
    for (size_t inject : h.injects) plan.Depend(inject, {h.restart, h.set_global});
    for (size_t object : h.objects) plan.Depend(object, {h.restart, h.set_global});
    for (size_t object : h.objects) plan.Depend(object, h.injects);
    return;
  }
  // A replica's own copy of an account a replicated statement needs (1133, 1396), before START SLAVE.
  for (size_t object : h.objects) plan.Depend(object, {h.restart});
  plan.Depend(h.start, h.objects);
  const HostActions& p = plan.slots(ctx.primary_index());
  // The dump must carry the primary's databases and users, taken from a primary already configured.
  plan.Depend(h.seed, {p.edit, p.restart, p.set_global});
  plan.Depend(h.seed, p.objects);
  plan.Depend(h.seed, {h.restart, h.set_global});
  if (h.seed != kNone) {
    plan.Depend(h.change, {h.seed, p.repl_user, p.repl_grant});
  } else {
    plan.Depend(h.change, {h.restart, h.set_global, p.restart, p.set_global, p.repl_user, p.repl_grant});
  }
  plan.Depend(h.change, h.resets);  // a broken channel is forgotten before it is made again
  // A server rejoining after its errant GTIDs were injected on the primary (errant.cc): not before.
  plan.Depend(h.change, p.injects);
  plan.Depend(h.skip, {h.restart, h.set_global});
  plan.Depend(h.start, {h.skip});  // the SQL thread starts after the transaction it stopped on
  if (h.change != kNone) {
    plan.Depend(h.start, {h.change});
  } else {
    plan.Depend(h.start, {h.restart, h.set_global, p.restart, p.set_global, p.repl_user, p.repl_grant});
  }
}

bool Serving(const PlanContext& ctx) {
  const ServerSpec& primary = ctx.primary();
  for (size_t i = 0; i < ctx.size(); ++i) {
    const ServerState* s = ctx.state(i);
    const ReplicaChannel* c = s == nullptr || i == ctx.primary_index() ? nullptr : s->DefaultChannel();
    if (c != nullptr && c->io_running == "Yes" && c->sql_running && c->source_host == primary.address &&
        c->source_port == primary.mysql.port) {
      return true;
    }
  }
  return false;
}

std::optional<Server> SwitchoverCandidate(const PlanContext& ctx) {
  const ServerSpec& primary = ctx.primary();
  std::optional<Server> best;
  int64_t best_lag = 0;
  for (size_t i = 0; i < ctx.size(); ++i) {
    const ServerState* s = ctx.state(i);
    if (i == ctx.primary_index() || s == nullptr || !s->sql_ok || ctx.spec(i).promotion == Promotion::kNever) continue;
    const ReplicaChannel* c = s->DefaultChannel();
    if (c == nullptr || c->io_running != "Yes" || !c->sql_running || c->source_host != primary.address ||
        c->source_port != primary.mysql.port) {
      continue;
    }
    // The switchover refuses a candidate without a binlog of what it replicates; one whose config
    // cannot be read gets no restart that would give it one.
    if (!s->ssh_ok && (s->log_bin != true || s->log_slave_updates != true)) continue;
    int64_t lag = c->seconds_behind.value_or(INT64_MAX);
    bool better = !best || lag < best_lag ||
                  (lag == best_lag && ctx.spec(i).promotion == Promotion::kPrefer &&
                   best->spec.promotion != Promotion::kPrefer);
    if (better) {
      best.emplace(ctx.server(i));
      best_lag = lag;
    }
  }
  return best;
}

// Rolling restarts: never two servers of the cluster down at once. The restarts form one chain:
// in a cluster that serves, the replicas in file order (each restart-server of a replica that
// replicated waits until it replicates again and has caught up, so the next one starts only then),
// then the file's primary; in a bootstrap the primary first; last, the old primary of a move once
// it is fenced (a replica by then). An edge per restart: linear.
void LinkRestarts(const PlanContext& ctx, PlanBuilder& plan) {
  std::vector<size_t> chain;
  const bool serving = !ctx.change() && Serving(ctx);
  if (!serving) chain.push_back(ctx.primary_index());
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (i == ctx.primary_index() || (ctx.change() && i == ctx.old_primary_index())) continue;
    chain.push_back(i);
  }
  if (serving) chain.push_back(ctx.primary_index());
  if (ctx.change()) {
    const HostActions& old = plan.slots(ctx.old_primary_index());
    plan.Depend(old.restart, {old.fence});
    chain.push_back(ctx.old_primary_index());
  }
  size_t previous = kNone;
  for (size_t index : chain) {
    const HostActions& h = plan.slots(index);
    if (h.restart == kNone) continue;
    // In a cluster that serves, its config_file too waits for the server before it: a restart that
    // fails (a replica that does not catch up) leaves every server after it untouched, files
    // included. A bootstrap's edits stay independent.
    if (serving) plan.Depend(h.edit, {previous});
    plan.Depend(h.restart, {previous});
    previous = h.restart;
  }
}

// Apps move only once the primary they will write to is writable (promoted, or made writable) and
// holds the declared databases and users; never before the old primary is fenced.
void LinkApps(const PlanContext& ctx, const std::vector<AppSteps>& apps, PlanBuilder& plan) {
  const HostActions& p = plan.slots(ctx.primary_index());
  for (const AppSteps& steps : apps) {
    for (const auto& [rewrite, restart] : steps.rewrite_restart) {
      plan.Depend(rewrite, {p.promote, p.set_global, p.restart});
      plan.Depend(rewrite, p.objects);
      plan.Depend(restart, {rewrite, p.promote, p.set_global, p.restart});
      plan.Depend(steps.check, {restart});
    }
  }
}

}  // namespace replplan::planner
